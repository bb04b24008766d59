"""raw WhatsApp envelopes (Cloud API webhooks and agent-inbox replies) -> MessageEvents on
``messages``, StatusEvents on ``statuses``, PreferenceEvents on ``preferences`` (all keyed by
contact key; each also as a Signal on ``signals``, so the automation stage reads a contact's
facts in one ordered stream) and BusinessEvents on ``business.events`` (keyed by WABA id), each
deduplicated on
its natural id (``streams.dedup``): Meta retries a webhook for up to 7 days, and ops re-ingest or
replay raw topics.

Natural ids: ``wamid`` for messages, ``wamid|status`` for receipts, the preference's contact,
value and time, and the business event's body hash + position. The raw topic is keyed by
phone_number_id, so every copy of a webhook arrives on the same partition as its dedup state."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from processors.envelopes import parse_whatsapp_envelope
from processors.errors import InvalidEvent
from processors.events import ParsedWebhook, Signal, message_signal, preference_signal, status_signal
from streams import erasures
from streams.app import app, dead_letters, settings, stats, topics
from streams.dedup import forward_once
from streams.errors import DecodeError
from streams.headers import REPLAY, carried, header
from streams.mapping import envelope_from_avro, to_avro
from streams.tables import bytes_table

logger = logging.getLogger(__name__)
STAGE = "normalize"
raw = topics["raw.whatsapp"]
seen_wamids = bytes_table("seen-wamids", partitions=raw.spec.partitions, retention_days=settings.dedup_retention_days,
                          help="natural id -> event time (ms) of the first copy forwarded")


def outputs(parsed: ParsedWebhook) -> Iterator[tuple[str, str, bytes, int, Any, Signal | None]]:
    """(topic, key, dedup id, event time, event, signal) for every event of one webhook."""
    for m in parsed.messages:
        yield "messages", m.contact_key, m.wamid.encode(), m.timestamp_ms, m, message_signal(m)
    for s in parsed.statuses:
        signal = status_signal(s)
        yield "statuses", s.contact_key, signal.event_id.encode(), s.timestamp_ms, s, signal
    for p in parsed.preferences:
        signal = preference_signal(p)
        yield "preferences", p.contact_key, signal.event_id.encode(), p.timestamp_ms, p, signal
    for b in parsed.business:
        yield ("business.events", b.waba_id or b.phone_number_id or "", f"biz|{b.event_id}".encode(), b.timestamp_ms,
               b, None)


@app.agent(raw.topic, name="scrm.normalize")
async def normalize(stream):  # type: ignore[no-untyped-def]
    await erasures.ready()
    async for event in stream.events():
        stats.add(STAGE, "in")
        try:
            env = envelope_from_avro(raw.decode(event.message.value))
            parsed = parse_whatsapp_envelope(env)
        except (DecodeError, InvalidEvent) as exc:
            await dead_letters.reject(event, STAGE, exc)
            continue
        replay, carry = header(event, REPLAY) is not None, carried(event)
        for topic, key, natural_id, event_time, item, signal in outputs(parsed):
            if topic != "business.events" and erasures.blocked(STAGE, key, event_time):
                continue
            also = ((topics["signals"], to_avro(signal)),) if signal is not None else ()
            await forward_once(seen_wamids, natural_id, event_time, topics[topic], key, to_avro(item),
                               source_offset=event.message.offset, stats=stats, stage=STAGE, counter=topic,
                               also=also, replay=replay, headers=carry)
        stats.add(STAGE, "changes_ignored", len(parsed.ignored))
        stats.add(STAGE, "processed")
