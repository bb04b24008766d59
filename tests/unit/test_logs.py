import json
import logging

from streams.logs import BUFFER_FULL, JsonFormatter, RedactingFormatter, Repeats, redact


def record(msg, *args, exc=None):
    return logging.LogRecord("scrm.test", logging.WARNING, __file__, 1, msg, args, exc)


def test_phone_numbers_and_contact_keys_are_masked_and_other_numbers_are_not():
    assert redact("contact 109876543210001:85291234567 at +85291234567") == "contact …01:…67 at …67"
    assert redact("raw.whatsapp[2]@20332 took 1500 ms, batch 2000") == "raw.whatsapp[2]@20332 took 1500 ms, batch 2000"
    assert redact("wamid.HBgLODUyOTEyMzQ1NjcVAgASGBQzQTk2") == "wamid.HBgLODUyOTEyMzQ1NjcVAgASGBQzQTk2"


def test_json_lines_carry_level_logger_and_the_masked_message():
    line = JsonFormatter().format(record("send to %s failed", "5215512345678"))
    doc = json.loads(line)
    assert doc["level"] == "WARNING" and doc["logger"] == "scrm.test" and doc["msg"] == "send to …78 failed"
    try:
        raise ValueError("bad number 85291234567")
    except ValueError:
        import sys
        exc = json.loads(JsonFormatter().format(record("boom", exc=sys.exc_info())))["exc"]
    assert "ValueError: bad number …67" in exc and "85291234567" not in exc


def test_text_lines_are_masked_too():
    line = RedactingFormatter(fmt="%(levelname)s %(message)s").format(record("to %s", "+819012345678"))
    assert line.startswith("WARNING to …78")


def test_the_worker_start_up_spinner_no_longer_lowers_the_root_logger_to_debug():
    """Faust's spinner set the root logger to DEBUG for good at -l warn: a LogRecord per debug call."""
    from faust.worker import Worker

    from streams.logs import keep_root_level

    root = logging.getLogger()
    before = root.level, list(root.handlers)
    keep_root_level()
    try:
        Worker._setup_spinner_handler(None, root, logging.WARNING)
        assert (root.level, list(root.handlers)) == before
        assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG) or before[0] <= logging.DEBUG
    finally:
        root.setLevel(before[0])
        root.handlers[:] = before[1]


def test_repeated_producer_buffer_warnings_pass_once_a_minute_with_the_count_held_back():
    now = [0.0]
    repeats = Repeats(BUFFER_FULL, interval_s=60, clock=lambda: now[0])
    passed = []
    for t in (0, 1, 2, 30, 59, 61, 62, 200):
        now[0] = float(t)
        rec = record("producer buffer full size %d", 101 + t)
        if repeats.filter(rec):
            passed.append(rec.getMessage())
    assert passed[0] == "producer buffer full size 101"
    assert passed[1].startswith("producer buffer full size 162 (4 more in the last 61s")
    assert passed[2].startswith("producer buffer full size 301 (1 more in the last 139s")  # the one at 62 s
    assert repeats.filter(record("something else %s", "x")) and len(passed) == 3


def test_the_filter_is_on_fausts_producer_logger_and_leaves_other_records_alone():
    import streams.app  # noqa: F401  (installs it)

    filters = logging.getLogger("faust.transport.producer").filters
    assert any(isinstance(f, Repeats) and f.prefix == BUFFER_FULL for f in filters)
