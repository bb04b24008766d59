import hashlib
import json

import pytest

from processors.errors import InvalidEvent
from processors.ingest_lines import envelope_from_line, raw_key

NOW = 1_795_136_000_000
BODY = {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [
    {"field": "messages", "value": {"metadata": {"phone_number_id": "PN1"}}}]}]}


def line(**doc):
    return json.dumps(doc, ensure_ascii=False)


def test_a_line_becomes_the_envelope_the_receiver_would_build():
    env = envelope_from_line(line(source="whatsapp", received_at="2026-11-20T10:00:00.123Z",
                                  headers={"Content-Type": "application/json", "Cookie": "x"}, body=BODY), now_ms=NOW)
    assert env.source == "whatsapp" and env.received_at_ms == 1_795_168_800_123
    assert env.headers == {"content-type": "application/json"}  # only the kept subset
    assert env.body_sha256 == hashlib.sha256(env.body).hexdigest()
    assert json.loads(env.body) == BODY and raw_key(env) == b"PN1"


def test_a_string_body_is_kept_byte_for_byte_and_missing_time_is_now():
    env = envelope_from_line(line(source="crm", body='[{"objectId": 7}]'), now_ms=NOW)
    assert env.body == b'[{"objectId": 7}]' and env.received_at_ms == NOW and raw_key(env) == b"7"


def test_an_unreadable_body_still_gets_a_stable_key():
    env = envelope_from_line(line(source="whatsapp", body="{truncated"), now_ms=NOW)
    assert raw_key(env) == env.body_sha256.encode()


@pytest.mark.parametrize(("text", "reason"), [
    ("{oops", "bad_json"),
    ("[1]", "bad_line"),
    (line(source="sms", body={}), "bad_source"),
    (line(source="crm"), "no_body"),
    (line(source="crm", body=5), "bad_body"),
    (line(source="crm", body={}, received_at="yesterday"), "bad_received_at"),
    (line(source="crm", body={}, received_at="2026-11-20T10:00:00"), "bad_received_at"),
])
def test_malformed_lines_say_why(text, reason):
    with pytest.raises(InvalidEvent) as err:
        envelope_from_line(text, now_ms=NOW)
    assert err.value.reason == reason
