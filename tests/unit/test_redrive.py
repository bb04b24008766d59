from processors.redrive import LetterFilter, Route, plan

KNOWN = {"scrm.raw.whatsapp", "scrm.messages", "scrm.outbound"}


def test_each_kind_of_letter_has_its_route():
    assert plan("normalize", "scrm.raw.whatsapp", KNOWN).route is Route.TOPIC
    assert plan("sink.messages", "scrm.messages", KNOWN).target == "scrm.messages"
    assert plan("ingest", "file:/data/day1.jsonl", KNOWN).route is Route.INGEST
    receiver = plan("receiver", "http:/webhooks/whatsapp", KNOWN)
    assert receiver.route is Route.REFUSE and "the sender must retry" in receiver.detail
    sender = plan("sender", "scrm.outbound", KNOWN)
    assert sender.route is Route.REFUSE and "at most once" in sender.detail
    other = plan("normalize", "other.raw.whatsapp", KNOWN)
    assert other.route is Route.REFUSE and "SCRM_TOPIC_PREFIX" in other.detail


def test_filters_all_have_to_hold():
    letter = {"stage": "normalize", "error_class": "InvalidEvent", "topic": "scrm.raw.whatsapp"}
    assert LetterFilter().empty and not LetterFilter(stage="normalize").empty
    assert LetterFilter(stage="normalize", error_class="InvalidEvent")("0:1", letter, 5)
    assert not LetterFilter(stage="normalize", error_class="KeyError")("0:1", letter, 5)
    assert LetterFilter(ids=frozenset({"0:1"}))("0:1", letter, 5)
    assert not LetterFilter(ids=frozenset({"0:2"}))("0:1", letter, 5)
    assert LetterFilter(since_ms=5, until_ms=6)("0:1", letter, 5)
    assert not LetterFilter(since_ms=6)("0:1", letter, 5) and not LetterFilter(until_ms=5)("0:1", letter, 5)
