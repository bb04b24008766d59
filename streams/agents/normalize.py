"""raw WhatsApp envelopes -> MessageEvents on ``messages`` (keyed by contact key), deduplicated on
``wamid``: Meta retries a webhook for up to 7 days, and ops re-ingest or replay raw topics.

The dedup table lives in this per-event agent because Faust writes a table key's changelog to the
partition of the event being processed: the raw topic is keyed by phone_number_id, so every copy
of a wamid arrives on the same partition and its dedup state is recovered with it. A wamid is
marked seen only after its event was handed to the producer (Faust flushes the producer before it
commits offsets), so a crash in between re-emits rather than loses it; sinks are idempotent."""

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
# key_type/value_type=bytes make Faust use the raw codec for the changelog too (a Schema alone does
# not: recovery would decode as JSON, fail, and Faust only logs "Error in recovery" and stalls).
seen_wamids = app.Table("seen-wamids", partitions=raw.spec.partitions, key_type=bytes, value_type=bytes,
                        help="wamid -> event time (ms) of the first copy forwarded")


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
            key = msg.wamid.encode()
            if seen_wamids.get(key) is not None:
                stats.add(STAGE, "messages_deduplicated")
                continue
            await messages.send(msg.contact_key, message_to_avro(msg))
            seen_wamids[key] = str(msg.timestamp_ms).encode()
            stats.add(STAGE, "messages_out")
        stats.add(STAGE, "changes_ignored", len(parsed.ignored))
        stats.add(STAGE, "processed")
