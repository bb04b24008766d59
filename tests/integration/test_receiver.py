"""The webhook receiver over real HTTP against the real broker: signed requests become envelopes on
the raw topics (acknowledged before the 200), everything else is refused or dead-lettered."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer

from processors.signatures import hubspot_v3_signature, sign_sha256
from streams.catalog import load_catalog
from streams.codec import SingleObjectFraming
from streams.receiver.handlers import ReceiverConfig, build_app
from streams.receiver.metrics import ReceiverMetrics
from streams.receiver.publisher import Publisher
from tests.conftest import free_port

pytestmark = pytest.mark.kafka
FRAMING = SingleObjectFraming(load_catalog())
SECRET, OLD_SECRET, HUBSPOT_SECRET, TOKEN = "app-secret-new", "app-secret-old", "hs-secret", "verify-me"
PNID = "109876543210001"


@dataclass
class TopicRef:
    name: str
    record: str

    def encode(self, value):
        return FRAMING.encode(self.record, self.name, value)

    def decode(self, data):
        return FRAMING.decode(self.record, self.name, data)


@dataclass
class Receiver:
    url: str
    topics: dict[str, TopicRef]
    metrics: ReceiverMetrics
    bootstrap: str

    async def records(self, suffix: str, *, expect: int, wait_s: float = 3.0) -> list:
        """Every record on a topic: waits for ``expect`` of them, then ``wait_s`` more for any extra."""
        ref = self.topics[suffix]
        consumer = AIOKafkaConsumer(ref.name, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest",
                                    enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            got, deadline = [], time.monotonic() + 30
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                got += [r for rs in batch.values() for r in rs]
                if len(got) >= expect:
                    deadline = min(deadline, time.monotonic() + wait_s)
            return [(r.key, ref.decode(r.value)) for r in got]
        finally:
            await consumer.stop()


@pytest.fixture
async def receiver(kafka_bootstrap, unique):
    catalog = load_catalog()
    topics = {t.name: TopicRef(f"it-{unique}.{t.name}", t.value) for t in catalog.topics}
    publisher = Publisher(kafka_bootstrap, topics, timeout_s=10)
    await publisher.start()
    config = ReceiverConfig(whatsapp_secrets=(SECRET, OLD_SECRET), verify_token=TOKEN,
                            hubspot_secrets=(HUBSPOT_SECRET,), integration_secrets=("integration",),
                            max_body_bytes=64 * 1024, public_url="https://hooks.example.com")
    metrics = ReceiverMetrics()
    runner = web.AppRunner(build_app(config, publisher, metrics))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Receiver(f"http://127.0.0.1:{port}", topics, metrics, kafka_bootstrap)
    await runner.cleanup()
    await publisher.stop()


def webhook(wamid: str, text: str = "有折扣嗎？") -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": PNID, "display_phone_number": "85230001234"},
                                       "messages": [{"from": "85251234567", "id": wamid, "timestamp": "1795136000",
                                                     "type": "text", "text": {"body": text}}]}}]}]},
                      ensure_ascii=False).encode()


async def post(url, body, headers):
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers)


async def test_signed_webhooks_land_on_the_raw_topic_and_forged_ones_only_in_the_dlq(receiver):
    good, rotated, forged = webhook("wamid.good"), webhook("wamid.rotated"), webhook("wamid.forged")
    url = f"{receiver.url}/webhooks/whatsapp"
    r1 = await post(url, good, {"X-Hub-Signature-256": sign_sha256(SECRET, good)})
    r2 = await post(url, rotated, {"X-Hub-Signature-256": sign_sha256(OLD_SECRET, rotated)})
    r3 = await post(url, forged, {"X-Hub-Signature-256": sign_sha256("not-the-secret", forged)})
    r4 = await post(url, forged, {})
    r5 = await post(url, forged + b" ", {"X-Hub-Signature-256": sign_sha256(SECRET, forged)})  # body altered
    assert (r1.status_code, r2.status_code) == (200, 200)
    assert (r3.status_code, r4.status_code, r5.status_code) == (401, 401, 401)
    records = await receiver.records("raw.whatsapp", expect=2)
    assert [env["body"] for _, env in records] == [good, rotated]  # byte for byte, nothing forged
    assert {key for key, _ in records} == {PNID.encode()}
    assert all(env["signature_verified"] and env["source"] == "whatsapp" for _, env in records)
    assert receiver.metrics.value("whatsapp", "bad_signature") == 3
    letters = await receiver.records("dlq", expect=3)  # the refused bytes, kept for investigation
    assert sorted(doc["original_value"] for _, doc in letters) == sorted([forged, forged, forged + b" "])
    assert {(doc["stage"], doc["topic"]) for _, doc in letters} == {("receiver", "http:/webhooks/whatsapp")}
    assert all("bad_signature" in doc["error_message"] for _, doc in letters)
    assert receiver.metrics.value("whatsapp", "accepted") == 2


async def test_signed_malformed_json_is_dead_lettered_with_its_bytes_and_answered_200(receiver):
    body = b'{"object": "whatsapp_business_account", "entry": [\xff'
    resp = await post(f"{receiver.url}/webhooks/whatsapp", body, {"X-Hub-Signature-256": sign_sha256(SECRET, body)})
    assert resp.status_code == 200
    ((_, letter),) = await receiver.records("dlq", expect=1)
    assert letter["original_value"] == body and letter["stage"] == "receiver"
    assert "bad_json" in letter["error_message"]
    assert await receiver.records("raw.whatsapp", expect=0, wait_s=1) == []


async def test_verify_token_handshake(receiver):
    async with httpx.AsyncClient() as client:
        ok = await client.get(f"{receiver.url}/webhooks/whatsapp",
                              params={"hub.mode": "subscribe", "hub.verify_token": TOKEN,
                                      "hub.challenge": "1158201444"})
        bad = await client.get(f"{receiver.url}/webhooks/whatsapp",
                               params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "x"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert bad.status_code == 403


async def test_oversized_body_is_refused_and_produces_nothing(receiver):
    body = webhook("wamid.big", text="大" * 40_000)  # > 64 KiB in UTF-8
    resp = await post(f"{receiver.url}/webhooks/whatsapp", body, {"X-Hub-Signature-256": sign_sha256(SECRET, body)})
    assert resp.status_code == 413
    assert await receiver.records("raw.whatsapp", expect=0, wait_s=1) == []


async def test_hubspot_v3_signature_and_five_minute_window(receiver):
    body = json.dumps([{"eventId": 1001, "subscriptionType": "contact.propertyChange", "objectId": 5001,
                        "propertyName": "phone", "propertyValue": "+852 5123 4567",
                        "occurredAt": 1795136940000}]).encode()
    uri = "https://hooks.example.com/webhooks/hubspot"

    def headers(ts_ms: int, secret: str = HUBSPOT_SECRET) -> dict[str, str]:
        return {"X-HubSpot-Signature-v3": hubspot_v3_signature(secret, "POST", uri, body, str(ts_ms)),
                "X-HubSpot-Request-Timestamp": str(ts_ms), "Content-Type": "application/json"}

    now_ms = int(time.time() * 1000)
    fresh = await post(f"{receiver.url}/webhooks/hubspot", body, headers(now_ms))
    stale = await post(f"{receiver.url}/webhooks/hubspot", body, headers(now_ms - 6 * 60 * 1000))
    forged = await post(f"{receiver.url}/webhooks/hubspot", body, headers(now_ms, "wrong"))
    assert (fresh.status_code, stale.status_code, forged.status_code) == (200, 401, 401)
    assert "older than 5 minutes" in stale.json()["error"]
    ((key, env),) = await receiver.records("raw.crm", expect=1)
    assert key == b"5001" and env["source"] == "hubspot" and env["body"] == body


async def test_metrics_endpoint_exposes_counts(receiver):
    async with httpx.AsyncClient() as client:
        await client.post(f"{receiver.url}/webhooks/whatsapp", content=b"{}", headers={})
        text = (await client.get(f"{receiver.url}/metrics")).text
    assert 'scrm_receiver_requests_total{outcome="bad_signature",source="whatsapp"} 1.0' in text


async def test_arbitrary_signed_bodies_never_crash_the_receiver_and_each_lands_somewhere(receiver):
    """Fuzz: random bytes, truncated JSON, JSON of the wrong shape -- every signed request is
    answered 200 and stored once, as an envelope (the normalizer judges it) or a dead letter."""
    rng = random.Random(20261121)
    template = webhook("wamid.fuzz")
    bodies = []
    for i in range(60):
        kind = i % 4
        if kind == 0:
            bodies.append(rng.randbytes(rng.randint(0, 300)))
        elif kind == 1:
            bodies.append(template[: rng.randint(0, len(template) - 1)])
        elif kind == 2:
            bodies.append(json.dumps(rng.choice([[], 0, "x", None, {"entry": i}, [{"objectId": i}]])).encode())
        else:
            bodies.append(bytes(b ^ rng.choice((0, 0, 0, 1 << rng.randint(0, 7))) for b in template))
    async with httpx.AsyncClient(base_url=receiver.url) as client:
        for body in bodies:
            resp = await client.post("/webhooks/whatsapp", content=body,
                                     headers={"X-Hub-Signature-256": sign_sha256(SECRET, body)})
            assert resp.status_code == 200, (body[:80], resp.text)
    envelopes = await receiver.records("raw.whatsapp", expect=1, wait_s=2)
    letters = await receiver.records("dlq", expect=1, wait_s=2)
    assert sorted([e["body"] for _, e in envelopes] + [d["original_value"] for _, d in letters]) == sorted(bodies)
    assert all(d["error_message"].startswith("bad_json") for _, d in letters)
