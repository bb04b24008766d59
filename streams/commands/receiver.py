"""``scrm receiver``: the webhook receiver HTTP server (stateless; run as many as you like)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from streams.app import app as faust_app
from streams.app import settings, topics
from streams.commands.errors import fail
from streams.errors import PublishError
from streams.faust_cli import option
from streams.receiver.handlers import ReceiverConfig, build_app
from streams.receiver.metrics import ReceiverMetrics
from streams.receiver.publisher import Publisher


@faust_app.command(
    option("--host", type=str, default=None, help="bind address (default: SCRM_RECEIVER_HOST)"),
    option("--port", type=int, default=None, help="port (default: SCRM_RECEIVER_PORT)"),
)
async def receiver(self: Any, host: str | None, port: int | None) -> None:
    """Serve the webhook endpoints: /webhooks/whatsapp (GET verify, POST), /webhooks/agent-inbox,
    /webhooks/hubspot, /webhooks/cdc, /healthz, /metrics."""
    config = ReceiverConfig.from_settings(settings)
    if not config.whatsapp_secrets:
        fail("receiver", "SCRM_WHATSAPP_APP_SECRETS is not set: the receiver verifies every WhatsApp "
                         "webhook with the app secret (comma-separate several during a rotation)")
    host = host or settings.receiver_host
    port = port or settings.receiver_port
    publisher = Publisher(settings.kafka_bootstrap, {t.spec.name: t for t in topics},
                          timeout_s=settings.receiver_produce_timeout_s)
    try:
        await publisher.start()
    except PublishError as exc:
        fail("receiver", f"{exc} at {settings.kafka_bootstrap}; start it with `make kafka-start` "
                         "or set SCRM_KAFKA_BOOTSTRAP", 1)
    runner = web.AppRunner(build_app(config, publisher, ReceiverMetrics()), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        await publisher.stop()
        fail("receiver", f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port", 1)
    missing = [name for name, value in (("SCRM_WHATSAPP_VERIFY_TOKEN", config.verify_token),
                                        ("SCRM_HUBSPOT_CLIENT_SECRETS", config.hubspot_secrets),
                                        ("SCRM_INTEGRATION_SECRETS", config.integration_secrets)) if not value]
    print(f"receiver listening on http://{host}:{port} (max body {config.max_body_bytes} bytes)", flush=True)
    if missing:
        print(f"not set: {', '.join(missing)} -- the endpoints that need them refuse every request", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await publisher.stop()
