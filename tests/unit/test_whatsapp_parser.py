import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.errors import InvalidEvent
from processors.events import Direction, ParsedWebhook, SenderKind
from processors.whatsapp import parse_webhook

PNID = "1122334455667"


def body(changes):
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "WABA1", "changes": changes}]}, ensure_ascii=False).encode()


def change(key, items, contacts=None, field="messages"):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "85230001234", "phone_number_id": PNID},
             key: items}
    if contacts is not None:
        value["contacts"] = contacts
    return {"field": field, "value": value}


def parse(raw):
    return parse_webhook(raw, received_at_ms=1_795_136_000_500, envelope_sha256="sha")


def test_text_message_becomes_one_inbound_event_with_contact_key_and_event_time():
    raw = body([change("messages", [{"from": "85251234567", "id": "wamid.A", "timestamp": "1795136000",
                                     "type": "text", "text": {"body": "多少錢？"}}],
                       [{"profile": {"name": "陳大文"}, "wa_id": "85251234567"}])])
    (msg,) = parse(raw).messages
    assert msg.wamid == "wamid.A"
    assert msg.direction is Direction.INBOUND and msg.sender_kind is SenderKind.CUSTOMER
    assert msg.contact_key == f"{PNID}:85251234567"
    assert msg.phone_e164 == "+85251234567"
    assert msg.timestamp_ms == 1_795_136_000_000
    assert msg.received_at_ms == 1_795_136_000_500
    assert msg.text == "多少錢？" and msg.profile_name == "陳大文" and msg.waba_id == "WABA1"


def test_numeric_timestamp_is_accepted():
    raw = body([change("messages", [{"from": "85251234567", "id": "wamid.N", "timestamp": 1795136000,
                                     "type": "text", "text": {"body": "hi"}}])])
    assert parse(raw).messages[0].timestamp_ms == 1_795_136_000_000


def test_user_id_only_sender_is_keyed_by_user_id():
    raw = body([change("messages", [{"from_user_id": "US.1349", "id": "wamid.U", "timestamp": "1795136000",
                                     "type": "text", "text": {"body": "hello"}}],
                       [{"profile": {"name": "Alex"}, "user_id": "US.1349"}])])
    (msg,) = parse(raw).messages
    assert msg.contact_key == f"{PNID}:US.1349" and msg.wa_id is None and msg.phone_e164 is None


def test_echo_is_outbound_from_the_business_app_keyed_by_recipient():
    raw = body([change("message_echoes", [{"from": "85230001234", "to": "85251234567", "id": "wamid.E",
                                           "timestamp": "1795136000", "type": "text", "text": {"body": "ok"}}],
                       field="smb_message_echoes")])
    (msg,) = parse(raw).messages
    assert msg.direction is Direction.OUTBOUND and msg.sender_kind is SenderKind.BUSINESS_APP
    assert msg.contact_key == f"{PNID}:85251234567"


def test_every_entry_and_change_yields_its_messages():
    one = change("messages", [{"from": "1", "id": "wamid.1", "timestamp": "1795136000", "type": "text",
                               "text": {"body": "a"}}], [{"wa_id": "85251234567"}])
    one["value"]["messages"][0]["from"] = "85251234567"
    two = json.loads(json.dumps(one))
    two["value"]["messages"][0]["id"] = "wamid.2"
    assert [m.wamid for m in parse(body([one, two])).messages] == ["wamid.1", "wamid.2"]


def test_statuses_are_counted_as_ignored_not_dropped_silently():
    raw = body([change("statuses", [{"id": "wamid.S", "status": "read", "timestamp": "1795136000",
                                     "recipient_id": "85251234567"}])])
    parsed = parse(raw)
    assert parsed.messages == () and [i.kind for i in parsed.ignored] == ["statuses"]


def test_caption_and_interactive_titles_are_the_text():
    msgs = [{"from": "85251234567", "id": "wamid.I", "timestamp": "1795136000", "type": "image",
             "image": {"caption": "這個有貨嗎", "id": "m1"}},
            {"from": "85251234567", "id": "wamid.B", "timestamp": "1795136000", "type": "interactive",
             "interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Sí"}}}]
    parsed = parse(body([change("messages", msgs)]))
    assert [m.text for m in parsed.messages] == ["這個有貨嗎", "Sí"]
    assert json.loads(parsed.messages[0].payload_json)["id"] == "m1"


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{not json", "bad_json"),
    (b"[1, 2]", "bad_json"),
    (b'{"object": "page", "entry": []}', "not_whatsapp"),
    (b'{"object": "whatsapp_business_account", "entry": {}}', "bad_shape"),
])
def test_broken_bodies_raise_invalid_event_with_a_reason(raw, reason):
    with pytest.raises(InvalidEvent) as err:
        parse(raw)
    assert err.value.reason == reason


def test_message_without_id_or_with_bad_timestamp_is_invalid():
    for item, reason in [({"from": "85251234567", "timestamp": "1795136000", "type": "text"}, "no_message_id"),
                         ({"from": "85251234567", "id": "w", "timestamp": "soon", "type": "text"}, "bad_timestamp")]:
        with pytest.raises(InvalidEvent) as err:
            parse(body([change("messages", [item])]))
        assert err.value.reason == reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_end_as_events_or_invalid_event(raw):
    try:
        assert isinstance(parse(raw), ParsedWebhook)
    except InvalidEvent as exc:
        assert exc.reason


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                           max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["object", "entry", "changes", "value", "messages", "metadata", "id", "timestamp",
                        "from", "type", "text", "contacts"]), json_values)
def test_mutated_payloads_never_crash(field, replacement):
    doc = json.loads(body([change("messages", [{"from": "85251234567", "id": "wamid.M", "timestamp": "1795136000",
                                                "type": "text", "text": {"body": "x"}}],
                                  [{"wa_id": "85251234567", "profile": {"name": "n"}}])]))

    def mutate(node):
        if isinstance(node, dict):
            for key in list(node):
                if key == field:
                    node[key] = replacement
                else:
                    mutate(node[key])
        elif isinstance(node, list):
            for item in node:
                mutate(item)

    mutate(doc)
    try:
        result = parse(json.dumps(doc).encode())
    except InvalidEvent as exc:
        assert exc.reason
    else:
        assert isinstance(result, ParsedWebhook)
