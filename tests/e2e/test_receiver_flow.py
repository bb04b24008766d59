"""``scrm receiver`` in front of ``scrm worker``: signed webhooks over HTTP end as events and rows."""

from __future__ import annotations

import json
import signal

import httpx
import pytest

from processors.signatures import sign_sha256
from tests.e2e.conftest import receiver_of

APP_SECRET, INTEGRATION_SECRET = "e2e-app-secret", "e2e-integration-secret"
PNID = "109876543210009"


@pytest.fixture(scope="module")
def receiver(pipeline):
    with receiver_of(pipeline, SCRM_WHATSAPP_APP_SECRETS=f"old-secret,{APP_SECRET}",
                     SCRM_INTEGRATION_SECRETS=INTEGRATION_SECRET) as running:
        yield running


def whatsapp_body() -> bytes:
    value = {"metadata": {"phone_number_id": PNID, "display_phone_number": "85230009999"},
             "contacts": [{"wa_id": "5215512345678", "profile": {"name": "Lucía"}}],
             "messages": [{"from": "5215512345678", "id": "wamid.e2e-rcv-1", "timestamp": "1795136000",
                           "type": "text", "text": {"body": "¿Cuánto cuesta el envío?"}}],
             "statuses": [{"id": "wamid.e2e-out-0", "status": "read", "timestamp": "1795136001",
                           "recipient_id": "5215512345678"}]}
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "WABA9", "changes": [{"field": "messages", "value": value}]}]},
                      ensure_ascii=False).encode()


def test_signed_webhooks_flow_to_clickhouse_and_forged_ones_do_not(pipeline, receiver):
    url, _ = receiver
    body = whatsapp_body()
    reply = json.dumps({"message_id": "inbox-e2e-1", "phone_number_id": PNID, "wa_id": "5215512345678",
                        "agent_id": "agent-7", "text": "El envío cuesta 99 MXN", "timestamp": 1795136252},
                       ensure_ascii=False).encode()
    order = json.dumps({"event_id": "e2e-order-1", "source": "shop", "entity": "order", "op": "create",
                        "id": "O-1", "occurred_at": 1795136300000,
                        "data": {"contact_id": "C-1", "items": [{"sku": "SKU-1"}], "phone": "+52 55 1234 5678"}}
                       ).encode()
    forged = body.replace(b"wamid.e2e-rcv-1", b"wamid.e2e-forged")
    with httpx.Client(base_url=url, timeout=10) as client:
        signed = {"X-Hub-Signature-256": sign_sha256(APP_SECRET, body)}
        assert client.post("/webhooks/whatsapp", content=body, headers=signed).status_code == 200
        assert client.post("/webhooks/whatsapp", content=body, headers=signed).status_code == 200  # Meta retry
        assert client.post("/webhooks/whatsapp", content=forged, headers=signed).status_code == 401
        assert client.post("/webhooks/agent-inbox", content=reply,
                           headers={"X-Hub-Signature-256": sign_sha256(INTEGRATION_SECRET, reply)}).status_code == 200
        assert client.post("/webhooks/cdc", content=order,
                           headers={"X-Hub-Signature-256": sign_sha256(INTEGRATION_SECRET, order)}).status_code == 200
        metrics = client.get("/metrics").text
    assert 'scrm_receiver_requests_total{outcome="bad_signature",source="whatsapp"} 1.0' in metrics
    pipeline.scrm("wait", "--timeout", "120")
    rows = pipeline.sql(f"SELECT wamid, direction, sender_kind, agent_id, phone_e164 FROM scrm.messages FINAL "
                        f"WHERE phone_number_id = '{PNID}' ORDER BY wamid")
    assert [(r["wamid"], r["direction"], r["sender_kind"]) for r in rows] == [
        ("inbox-e2e-1", "outbound", "agent"), ("wamid.e2e-rcv-1", "inbound", "customer")]
    assert {r["phone_e164"] for r in rows} == {"+525512345678"}
    stats = pipeline.stats()
    assert stats["normalize"]["statuses_out"] == 1
    assert stats["normalize"]["messages_deduplicated"] >= 1 and stats["normalize"]["statuses_deduplicated"] >= 1
    assert stats["crm_normalize"]["changes_out"] == 1


def test_receiver_stops_cleanly_on_sigterm(receiver):
    _, proc = receiver
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
