import json

import pytest

from processors.agent_inbox import parse_agent_replies
from processors.envelopes import parse_whatsapp_envelope
from processors.errors import InvalidEvent
from processors.events import Direction, Envelope, SenderKind


def parse(doc):
    return parse_agent_replies(json.dumps(doc, ensure_ascii=False).encode(), received_at_ms=1, envelope_sha256="h")


def test_agent_reply_is_an_outbound_agent_message_with_its_agent_id():
    (msg,) = parse({"message_id": "wamid.R", "phone_number_id": "P", "wa_id": "85251234567", "agent_id": "agent-7",
                    "text": "運費是 HK$30", "timestamp": "2026-11-20T10:04:12+08:00"}).messages
    assert msg.direction is Direction.OUTBOUND and msg.sender_kind is SenderKind.AGENT
    assert (msg.agent_id, msg.contact_key, msg.text) == ("agent-7", "P:85251234567", "運費是 HK$30")
    assert msg.timestamp_ms == 1_795_140_252_000


def test_a_list_of_bot_and_agent_replies_by_user_id():
    parsed = parse([{"message_id": "m1", "phone_number_id": "P", "user_id": "US.1", "sender_kind": "bot",
                     "timestamp": 1795136000},
                    {"message_id": "m2", "phone_number_id": "P", "user_id": "US.1", "timestamp": 1795136001}])
    assert [(m.sender_kind, m.contact_key) for m in parsed.messages] == [(SenderKind.BOT, "P:US.1"),
                                                                         (SenderKind.AGENT, "P:US.1")]


def test_a_campaign_template_send_keeps_its_name_and_language():
    (msg,) = parse({"message_id": "wamid.T", "phone_number_id": "P", "wa_id": "85251234567", "sender_kind": "template",
                    "template": {"name": "weekly_promo", "language": "zh_HK"}, "text": "本週優惠",
                    "timestamp": 1795136000}).messages
    assert (msg.sender_kind, msg.message_type) == (SenderKind.TEMPLATE, "template")
    assert json.loads(msg.payload_json) == {"template": {"name": "weekly_promo", "language": "zh_HK"}}


@pytest.mark.parametrize(("doc", "reason"), [
    ({"message_id": "m", "phone_number_id": "P", "wa_id": "1", "timestamp": 1, "template": {"language": "en"}},
     "bad_template"),
    ({"phone_number_id": "P", "wa_id": "1", "timestamp": 1795136000}, "no_message_id"),
    ({"message_id": "m", "wa_id": "1", "timestamp": 1795136000}, "no_phone_number_id"),
    ({"message_id": "m", "phone_number_id": "P", "timestamp": 1795136000}, "no_contact_id"),
    ({"message_id": "m", "phone_number_id": "P", "wa_id": "1", "timestamp": "2026-11-20T10:00:00"}, "bad_timestamp"),
    ({"message_id": "m", "phone_number_id": "P", "wa_id": "1", "timestamp": 1, "sender_kind": "customer"},
     "bad_sender_kind"),
    ([], "bad_shape"),
])
def test_broken_replies_say_why(doc, reason):
    with pytest.raises(InvalidEvent) as err:
        parse(doc)
    assert err.value.reason == reason


def test_envelopes_dispatch_by_source():
    env = Envelope(source="hubspot", received_at_ms=1, headers={}, body=b"[]", body_sha256="h",
                   signature_verified=True, request_id="r")
    with pytest.raises(InvalidEvent, match="unknown_source"):
        parse_whatsapp_envelope(env)
