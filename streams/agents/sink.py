"""ClickHouse sink agents: one per topic (the raw topics, ``messages``, ``statuses``,
``message.state``, ``conversations``, ``tags``, ``decisions``, ``scores``, ``contacts``,
``contact.merges``, ``contact.conflicts``, ``outbound.sends``, ``crm.write.results``, ``dlq``)
into its table (``SINKS``).

Batches come from ``noack_take`` and are acked only after ClickHouse accepted them (or the
offending record went to the DLQ): Faust's ``take()`` would ack a batch whose body raised."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from itertools import groupby
from typing import Any

from processors.errors import InvalidEvent
from sinks.clickhouse.rows import (
    SourcePosition,
    churn_score_row,
    contact_conflict_row,
    contact_merge_row,
    contact_row,
    conversation_row,
    crm_write_row,
    dead_letter_row,
    decision_row,
    message_row,
    message_state_row,
    outbound_send_row,
    raw_webhook_row,
    status_row,
    tag_row,
)
from streams import erasures
from streams.app import app, dead_letters, metrics, settings, stats, topics, warehouse
from streams.errors import DecodeError
from streams.mapping import message_from_avro
from streams.topics import BoundTopic

logger = logging.getLogger(__name__)
RowFn = Callable[[dict[str, Any], SourcePosition], dict[str, Any] | None]  # None: not stored


def _message(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    return message_row(message_from_avro(rec), src)


def _raw(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any] | None:
    """None for a webhook of an erased customer (``streams.erasures``): a replay does not store it again."""
    return None if erasures.raw_blocked(rec) else raw_webhook_row(rec, src)


async def drain(stream: Any, source: BoundTopic, table: str, to_row: RowFn, stage: str) -> None:
    await erasures.ready()  # a replayed webhook of an erased customer is not stored before the list is known
    async for events in stream.noack_take(settings.sink_batch_size, settings.sink_batch_seconds):
        writer = await warehouse.writer()
        stats.add(stage, "in", len(events))
        # one insert per batch, whatever partitions it spans: each insert is a ClickHouse part and
        # the worker's inserts share one thread, so per-partition inserts made a 4-partition
        # topic's rows wait for four inserts a batch (bench/RESULTS.md, "Seventh session")
        key = lambda e: (e.message.topic, e.message.partition)  # noqa: E731
        rows, kept, ranges = [], [], []
        for (topic, partition), group in groupby(sorted(events, key=key), key=key):
            batch = list(group)
            ranges.append(f"{topic}-{partition}-{batch[0].message.offset}-{batch[-1].message.offset}")
            for event in batch:
                msg = event.message
                if msg.value is None:  # a tombstone on a compacted topic (``scrm erase``): nothing to store
                    stats.add(stage, "tombstones")
                    continue
                try:
                    row = to_row(source.decode(msg.value), SourcePosition(topic, partition, msg.offset))
                    if row is None:
                        stats.add(stage, "erased")
                        continue
                    rows.append(row)
                    kept.append(event)
                except (DecodeError, InvalidEvent, KeyError, TypeError, ValueError) as exc:
                    await _dead_letter(event, stage, exc)
        # the same batch retried carries the same token, so ClickHouse drops an insert that had landed
        token = "+".join(ranges)
        started = time.monotonic()
        rejected_rows = await writer.write(warehouse.table(table), rows, token)
        if rows:
            metrics.sink_seconds.labels(table).observe(time.monotonic() - started)
            metrics.sink_rows.labels(table).observe(len(rows))
        for rejected in rejected_rows:
            await _dead_letter(kept[rejected.index], stage, rejected.error)
        stats.add(stage, "written", len(rows))
        for event in events:
            await stream.ack(event)


async def _dead_letter(event: Any, stage: str, exc: BaseException) -> None:
    if stage == "sink.dead_letters":  # never loop a dead letter back into the DLQ
        logger.error("dead letter at %s[%s]@%s could not be stored: %s", event.message.topic,
                     event.message.partition, event.message.offset, exc)
        stats.add(stage, "unstorable")
        return
    await dead_letters.reject(event, stage, exc)


# topic suffix -> (ClickHouse table, row shaper); one agent each, named scrm.sink.<table>
SINKS: dict[str, tuple[str, RowFn]] = {
    "raw.whatsapp": ("raw_webhooks", _raw),
    "raw.crm": ("raw_webhooks", _raw),
    "messages": ("messages", _message),
    "statuses": ("statuses", status_row),
    "message.state": ("message_state", message_state_row),
    "conversations": ("conversations", conversation_row),
    "tags": ("tags", tag_row),
    "decisions": ("automation_decisions", decision_row),
    "scores": ("churn_scores", churn_score_row),
    "contacts": ("contacts", contact_row),
    "contact.merges": ("contact_merges", contact_merge_row),
    "contact.conflicts": ("contact_conflicts", contact_conflict_row),
    "outbound.sends": ("outbound_sends", outbound_send_row),
    "crm.write.results": ("crm_writes", crm_write_row),
    "dlq": ("dead_letters", dead_letter_row),
}


def _sink_agent(suffix: str, table: str, to_row: RowFn) -> Any:
    source = topics[suffix]

    async def sink(stream):  # type: ignore[no-untyped-def]
        await drain(stream, source, table, to_row, f"sink.{table}")

    name = f"{table}.{suffix}" if suffix.startswith("raw.") else table  # both raw topics -> raw_webhooks
    sink.__name__ = sink.__qualname__ = f"{name.replace('.', '_')}_sink"
    return app.agent(source.topic, name=f"scrm.sink.{name}")(sink)


agents = {suffix: _sink_agent(suffix, table, to_row) for suffix, (table, to_row) in SINKS.items()}
