"""A raw WhatsApp-topic envelope -> its events, by the source that posted it. Pure."""

from __future__ import annotations

from processors.agent_inbox import parse_agent_replies
from processors.errors import InvalidEvent
from processors.events import Envelope, ParsedWebhook
from processors.whatsapp import parse_webhook


def parse_whatsapp_envelope(env: Envelope) -> ParsedWebhook:
    if env.source == "whatsapp":
        return parse_webhook(env.body, received_at_ms=env.received_at_ms, envelope_sha256=env.body_sha256)
    if env.source in ("agent_inbox", "sender"):  # sender: sends made by this pipeline's own sender
        return parse_agent_replies(env.body, received_at_ms=env.received_at_ms, envelope_sha256=env.body_sha256)
    raise InvalidEvent("unknown_source", f"source {env.source[:40]!r} does not belong on the WhatsApp raw topic")
