"""HTTP endpoints of the receiver (aiohttp).

``GET  /webhooks/whatsapp``     Meta's verify-token handshake (hub.mode, hub.verify_token, hub.challenge)
``POST /webhooks/whatsapp``     Cloud API webhooks, ``X-Hub-Signature-256`` over the raw body
``POST /webhooks/agent-inbox``  human agents' replies from an inbox/CRM integration (signed like Meta)
``POST /webhooks/hubspot``      HubSpot webhooks, v3 signature, at most 5 minutes old
``POST /webhooks/cdc``          generic CRM change events (signed like Meta, integration secrets)
``GET  /healthz``, ``GET /metrics``

A request is answered 200 only after Kafka acknowledged its envelope (503 otherwise, so the sender
retries). A bad signature is 401 and never reaches a raw topic; its raw bytes go to the dead-letter
topic with the reason (at most ``SCRM_RECEIVER_REJECTS_PER_S`` a second, so a flood of forged
requests cannot fill it). A signed body that is not JSON is stored in the dead-letter topic with its
raw bytes and answered 200, so Meta stops retrying it."""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import generate_latest

from processors.errors import InvalidEvent
from processors.ingest_lines import RAW_TOPIC, envelope_of, key_of
from processors.signatures import verify_hubspot_v3, verify_sha256
from streams.dlq import dead_letter
from streams.errors import PublishError
from streams.mapping import to_avro
from streams.receiver.metrics import ReceiverMetrics
from streams.receiver.publisher import Publisher
from streams.settings import Settings

logger = logging.getLogger(__name__)
Verifier = Callable[[web.Request, bytes], str | None]  # None when authentic, else the reason


@dataclass(frozen=True)
class ReceiverConfig:
    whatsapp_secrets: tuple[str, ...]
    verify_token: str | None
    hubspot_secrets: tuple[str, ...]
    integration_secrets: tuple[str, ...]
    max_body_bytes: int
    public_url: str | None
    rejects_per_s: float = 10.0  # bad-signature requests dead-lettered per second (burst: 10 s worth)

    @classmethod
    def from_settings(cls, s: Settings) -> ReceiverConfig:
        return cls(whatsapp_secrets=s.secrets(s.whatsapp_app_secrets), verify_token=s.whatsapp_verify_token,
                   hubspot_secrets=s.secrets(s.hubspot_client_secrets),
                   integration_secrets=s.secrets(s.integration_secrets),
                   max_body_bytes=s.receiver_max_body_bytes, public_url=s.receiver_public_url,
                   rejects_per_s=s.receiver_rejects_per_s)


class RejectBudget:
    """A token bucket: how many rejected requests may still be kept in the dead-letter topic."""

    def __init__(self, per_s: float, clock: Callable[[], float]) -> None:
        self.per_s, self.capacity, self.clock = per_s, per_s * 10, clock
        self.tokens, self.at = self.capacity, clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_s)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def build_app(config: ReceiverConfig, publisher: Publisher, metrics: ReceiverMetrics,
              clock: Callable[[], float] = time.time) -> web.Application:
    app = web.Application(client_max_size=config.max_body_bytes)
    rejects = RejectBudget(config.rejects_per_s, time.monotonic)

    def meta_like(secrets: tuple[str, ...], header: str) -> Verifier:
        def verify(request: web.Request, body: bytes) -> str | None:
            if not secrets:
                return "no secret configured for this endpoint"
            return None if verify_sha256(request.headers.get(header), body, secrets) else "bad signature"
        return verify

    def hubspot(request: web.Request, body: bytes) -> str | None:
        uri = (config.public_url.rstrip("/") + request.path_qs) if config.public_url else str(request.url)
        return verify_hubspot_v3(signature=request.headers.get("X-HubSpot-Signature-v3"),
                                 timestamp=request.headers.get("X-HubSpot-Request-Timestamp"),
                                 method=request.method, uri=uri, body=body, secrets=config.hubspot_secrets,
                                 now_ms=int(clock() * 1000))

    def endpoint(source: str, verify: Verifier) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            started = time.perf_counter()
            try:
                return await _receive(request, source, verify, publisher, metrics, clock, rejects)
            finally:
                metrics.latency.labels(source).observe(time.perf_counter() - started)
        return handle

    async def verify_subscription(request: web.Request) -> web.Response:
        q = request.query
        token = q.get("hub.verify_token", "")
        if (q.get("hub.mode") == "subscribe" and config.verify_token
                and _same(token, config.verify_token) and q.get("hub.challenge")):
            metrics.count("whatsapp", "verified")
            return web.Response(text=q["hub.challenge"])
        metrics.count("whatsapp", "verify_refused")
        return web.json_response({"error": "verification refused: wrong hub.mode or hub.verify_token"}, status=403)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def metrics_view(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry), content_type="text/plain")

    ws = meta_like(config.whatsapp_secrets, "X-Hub-Signature-256")
    integration = meta_like(config.integration_secrets, "X-Hub-Signature-256")
    app.router.add_get("/webhooks/whatsapp", verify_subscription)
    app.router.add_post("/webhooks/whatsapp", endpoint("whatsapp", ws))
    app.router.add_post("/webhooks/agent-inbox", endpoint("agent_inbox", integration))
    app.router.add_post("/webhooks/hubspot", endpoint("hubspot", hubspot))
    app.router.add_post("/webhooks/cdc", endpoint("cdc", integration))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    return app


async def _receive(request: web.Request, source: str, verify: Verifier, publisher: Publisher,
                   metrics: ReceiverMetrics, clock: Callable[[], float], rejects: RejectBudget) -> web.Response:
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        metrics.count(source, "too_large")
        raise
    reason = verify(request, body)
    if reason is not None:
        metrics.count(source, "bad_signature")
        logger.warning("rejected %s webhook from %s: %s", source, request.remote, reason)
        await _keep_rejected(publisher, metrics, source, request.path, body, reason, int(clock() * 1000), rejects)
        return web.json_response({"error": f"unauthorized: {reason}"}, status=401)
    now_ms = int(clock() * 1000)
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        record = dead_letter(key=None, value=body, topic=f"http:{request.path}", partition=-1, offset=-1,
                             stage="receiver", now_ms=now_ms,
                             exc=InvalidEvent("bad_json", f"signed body is not JSON ({type(exc).__name__})"))
        return await _publish(publisher, metrics, source, "dlq", None, record, "dead_lettered")
    env = envelope_of(source, body, request.headers, received_at_ms=now_ms, signature_verified=True,
                      request_id=request.headers.get("X-Request-Id") or uuid.uuid4().hex)
    key = (key_of(source, doc) or env.body_sha256).encode()  # the body is parsed once
    return await _publish(publisher, metrics, source, RAW_TOPIC[source], key, to_avro(env), "accepted")


async def _keep_rejected(publisher: Publisher, metrics: ReceiverMetrics, source: str, path: str, body: bytes,
                         reason: str, now_ms: int, rejects: RejectBudget) -> None:
    """The rejected bytes in the dead-letter topic, for whoever investigates; never on a raw topic."""
    if not rejects.take():
        metrics.count(source, "rejected_not_kept")
        return
    record = dead_letter(key=None, value=body, topic=f"http:{path}", partition=-1, offset=-1, stage="receiver",
                         now_ms=now_ms, exc=InvalidEvent("bad_signature", f"request refused (401): {reason}"))
    try:
        await publisher.publish("dlq", None, record)
    except PublishError as exc:
        metrics.count(source, "rejected_not_kept")
        logger.error("could not keep a rejected %s request in the dead-letter topic: %s", source, exc)


async def _publish(publisher: Publisher, metrics: ReceiverMetrics, source: str, suffix: str, key: bytes | None,
                   record: dict[str, object], outcome: str) -> web.Response:
    try:
        await publisher.publish(suffix, key, record)
    except PublishError as exc:
        metrics.count(source, "kafka_unavailable")
        logger.error("could not store a %s webhook: %s; answered 503 so the sender retries", source, exc)
        return web.json_response({"error": "temporarily unavailable, retry"}, status=503)
    metrics.count(source, outcome)
    return web.json_response({"status": outcome})


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
