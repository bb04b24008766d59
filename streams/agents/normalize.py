"""raw WhatsApp envelopes -> MessageEvents on ``messages`` (keyed by contact key)."""

from __future__ import annotations

import logging
import time

from processors.errors import InvalidEvent
from processors.whatsapp import parse_webhook
from streams.app import app, stats, topics
from streams.dlq import DeadLetters
from streams.errors import DecodeError
from streams.mapping import envelope_from_avro, message_to_avro

logger = logging.getLogger(__name__)
STAGE = "normalize"
raw = topics["raw.whatsapp"]
messages = topics["messages"]
dead_letters = DeadLetters(topics["dlq"].topic, topics["dlq"].codec)


@app.agent(raw.topic, name="scrm.normalize")
async def normalize(stream):  # type: ignore[no-untyped-def]
    async for event in stream.events():
        stats.add(STAGE, "in")
        try:
            env = envelope_from_avro(raw.decode(event.message.value))
            parsed = parse_webhook(env.body, received_at_ms=env.received_at_ms,
                                   envelope_sha256=env.body_sha256)
        except (DecodeError, InvalidEvent) as exc:
            await dead_letters.send_event(event, stage=STAGE, exc=exc, now_ms=int(time.time() * 1000))
            stats.add(STAGE, "dead_lettered")
            continue
        for msg in parsed.messages:
            await messages.send(msg.contact_key, message_to_avro(msg))
        stats.add(STAGE, "messages_out", len(parsed.messages))
        stats.add(STAGE, "changes_ignored", len(parsed.ignored))
        stats.add(STAGE, "processed")
