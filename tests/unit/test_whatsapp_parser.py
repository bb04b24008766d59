import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.errors import InvalidEvent
from processors.events import Direction, ParsedWebhook, SenderKind, StatusKind
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


def test_failed_status_keeps_error_code_conversation_and_pricing():
    raw = body([change("statuses", [{
        "id": "wamid.S", "status": "failed", "timestamp": 1795136000, "recipient_id": "5215512345678",
        "biz_opaque_callback_data": "act-1",
        "conversation": {"id": "c1", "expiration_timestamp": "1795222400", "origin": {"type": "marketing"}},
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "marketing"},
        "errors": [{"code": 131049, "title": "Message not delivered to maintain healthy ecosystem engagement"}]}])])
    (st_,) = parse(raw).statuses
    assert st_.status is StatusKind.FAILED and st_.error_code == 131049 and "healthy" in st_.error_title
    assert st_.contact_key == f"{PNID}:5215512345678" and st_.phone_e164 == "+525512345678"
    assert st_.conversation_category == "marketing" and st_.conversation_expires_ms == 1_795_222_400_000
    assert st_.pricing_billable is True and st_.pricing_model == "PMP" and st_.callback_data == "act-1"


def test_status_without_recipient_id_is_keyed_by_recipient_user_id():
    raw = body([change("statuses", [{"id": "wamid.S", "status": "read", "timestamp": "1795136000",
                                     "recipient_user_id": "US.77"}])])
    (st_,) = parse(raw).statuses
    assert st_.contact_key == f"{PNID}:US.77" and st_.wa_id is None and st_.user_id == "US.77"


def test_unknown_status_value_is_kept_not_dropped():
    raw = body([change("statuses", [{"id": "wamid.S", "status": "warning", "timestamp": "1795136000",
                                     "recipient_id": "85251234567"}])])
    (st_,) = parse(raw).statuses
    assert st_.status is StatusKind.UNKNOWN and st_.status_raw == "warning"


def test_marketing_opt_out_becomes_a_preference_event():
    raw = body([change("user_preferences", [{"wa_id": "85251234567", "category": "marketing_messages",
                                             "value": "stop", "detail": "User requested to stop",
                                             "timestamp": 1795136000}], field="user_preferences")])
    (pref,) = parse(raw).preferences
    assert pref.value == "stop" and pref.contact_key == f"{PNID}:85251234567"


def test_other_fields_and_webhook_errors_become_business_events_with_payload():
    account = {"field": "account_update", "value": {"event": "ACCOUNT_RESTRICTION", "restriction_info": []}}
    errors = change("errors", [{"code": 130429, "title": "Rate limit hit"}])
    parsed = parse(body([account, errors]))
    restriction, error = parsed.business
    assert (restriction.field, restriction.event, restriction.waba_id) == ("account_update",
                                                                           "ACCOUNT_RESTRICTION", "WABA1")
    assert json.loads(restriction.payload_json) == account["value"]
    assert (error.event, error.error_code, error.phone_number_id) == ("error", 130429, PNID)
    assert restriction.event_id != error.event_id


@pytest.mark.parametrize(("item", "expect"), [
    ({"type": "reaction", "reaction": {"message_id": "wamid.T", "emoji": "👍"}},
     {"text": "👍", "related_wamid": "wamid.T", "message_subtype": None}),
    ({"type": "reaction", "reaction": {"message_id": "wamid.T", "emoji": ""}},
     {"text": None, "related_wamid": "wamid.T", "message_subtype": "removed"}),
    ({"type": "edit", "edit": {"original_message_id": "wamid.T",
                               "message": {"type": "text", "text": {"body": "改好了"}}}},
     {"text": "改好了", "related_wamid": "wamid.T", "message_subtype": "text"}),
    ({"type": "revoke", "revoke": {"original_message_id": "wamid.T"}}, {"related_wamid": "wamid.T"}),
    ({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "l", "title": "M碼"}}},
     {"text": "M碼", "message_subtype": "list_reply"}),
    ({"type": "button", "button": {"payload": "STOP", "text": "Parar promoções"}},
     {"text": "Parar promoções"}),
    ({"type": "system", "system": {"type": "user_changed_number", "body": "changed", "wa_id": "85251230000"}},
     {"message_subtype": "user_changed_number"}),
    ({"type": "hologram", "hologram": {"x": 1}}, {"message_type": "unsupported", "message_subtype": "hologram"}),
    ({"type": "unknown", "errors": [{"code": 131051, "title": "Unsupported message type"}]},
     {"message_type": "unsupported", "message_subtype": "unknown", "error_code": 131051}),
    ({"type": "text", "text": {"body": "hola"}, "context": {"forwarded": True},
      "referral": {"source_type": "ad", "source_id": "AD1"}},
     {"forwarded": True, "text": "hola"}),
])
def test_every_message_type_keeps_its_details(item, expect):
    raw = body([change("messages", [{"from": "85251234567", "id": "wamid.X", "timestamp": "1795136000", **item}])])
    (msg,) = parse(raw).messages
    assert {k: getattr(msg, k) for k in expect} == expect
    assert msg.payload_json is not None
    if "referral" in item:
        assert json.loads(msg.referral_json)["source_id"] == "AD1"


def test_unknown_type_keeps_the_whole_raw_message():
    raw = body([change("messages", [{"from": "85251234567", "id": "wamid.X", "timestamp": "1795136000",
                                     "type": "hologram", "hologram": {"x": 1}}])])
    assert json.loads(parse(raw).messages[0].payload_json)["hologram"] == {"x": 1}


def test_empty_change_is_counted_as_ignored():
    parsed = parse(body([change("messages", [])]))
    assert parsed.count == 0 and parsed.ignored == ()
    parsed = parse(body([{"field": "messages", "value": {"messaging_product": "whatsapp"}}]))
    assert [i.kind for i in parsed.ignored] == ["empty"]


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
