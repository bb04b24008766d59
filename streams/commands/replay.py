"""``scrm replay``: re-process a time range of the raw topics.

The records of the range are produced again to their own partition, with their original time and
the header ``scrm-replay``. The normalize stages forward the events of such a record even when
dedup has seen them, and every later stage is idempotent. Tables and ClickHouse rows are
recomputed, or re-published unchanged. Decisions keep their ids, and actions already taken are
suppressed by the sender's outbox and the CRM write audit. With ``--no-side-effects`` the replayed
events also carry ``scrm-effects: off``, and any send or CRM write they cause is recorded as skipped."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from processors.envelopes import parse_whatsapp_envelope
from processors.errors import InvalidEvent
from sinks.clickhouse.backend import sql_string
from streams.app import app, consumed_topics, settings, topics
from streams.commands import kafka_clients
from streams.commands.errors import fail, time_argument
from streams.commands.progress import Progress
from streams.commands.sql import run_query
from streams.errors import DecodeError
from streams.faust_cli import option
from streams.headers import EFFECTS, REPLAY
from streams.kafka_admin import BrokerUnavailable, wait_for_zero_lag
from streams.mapping import envelope_from_avro

RAW = ("raw.whatsapp", "raw.crm")


@dataclass(frozen=True, slots=True)
class Span:
    tp: TopicPartition
    start: int
    stop: int  # exclusive


@app.command(
    option("--topic", "topic_names", type=str, multiple=True,
           help="raw topic to replay, full name (repeatable; default: both raw topics)"),
    option("--from", "from_", type=str, required=True,
           help="start: records received at or after this time (ISO-8601 with a zone, or epoch ms)"),
    option("--to", type=str, default=None, help="end, exclusive (default: now)"),
    option("--dry-run", is_flag=True, default=False,
           help="count what the range holds and what ClickHouse already has; change nothing"),
    option("--no-side-effects", is_flag=True, default=False,
           help="record every WhatsApp send and CRM write the replay causes as skipped"),
    option("--wait", "wait_s", type=float, default=600.0,
           help="seconds to wait for the worker to process the replay before the summary (0: do not wait)"),
)
async def replay(self: Any, topic_names: tuple[str, ...], from_: str, to: str | None, dry_run: bool,
                 no_side_effects: bool, wait_s: float) -> None:
    """Re-process a time range of the raw topics without double counting or re-sending.

    \b
    scrm replay --from 2026-11-20T00:00Z --to 2026-11-21T00:00Z --dry-run
    scrm replay --topic scrm.raw.whatsapp --from 2026-11-20T00:00+08:00 --no-side-effects
    A worker must run (or start later) to process the replayed records.
    """
    raw = {topics[s].name: topics[s] for s in RAW}
    names = list(topic_names) or list(raw)
    unknown = [n for n in names if n not in raw]
    if unknown:
        fail("replay", f"{', '.join(unknown)} is not a raw topic; replay re-processes {' or '.join(raw)} "
                       "(everything else is derived from them)")
    start_ms = time_argument("replay", "--from", from_)
    stop_ms = time_argument("replay", "--to", to) if to else int(time.time() * 1000)
    if stop_ms <= start_ms:
        fail("replay", "--to must be after --from")
    consumer = kafka_clients.consumer()
    await kafka_clients.start("replay", consumer)
    try:
        spans = await _spans(consumer, [(n, raw[n].spec.partitions) for n in names], start_ms, stop_ms)
        total = sum(s.stop - s.start for s in spans)
        window = f"{_iso(start_ms)} .. {_iso(stop_ms)}"
        if total == 0:
            print(f"nothing to replay: no raw records in {window}")
            return
        print(f"{total:,} raw record(s) in {window}: " + ", ".join(
            f"{n} {sum(s.stop - s.start for s in spans if s.tp.topic == n):,}" for n in names))
        if dry_run:
            await _dry_run(consumer, spans, raw, total)
            return
        before = await _worker_stats()
        replay_id = "replay-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        headers = [(REPLAY, replay_id.encode())] + ([(EFFECTS, b"off")] if no_side_effects else [])
        sent = await _produce(consumer, spans, total, headers)
    finally:
        await consumer.stop()
    print(f"{replay_id}: {sent:,} record(s) produced again{' with side effects off' if no_side_effects else ''}")
    await _summary(before, sent, wait_s)


async def _spans(consumer: Any, topics_: list[tuple[str, int]], start_ms: int, stop_ms: int) -> list[Span]:
    tps = [TopicPartition(name, p) for name, n in topics_ for p in range(n)]
    ends = await consumer.end_offsets(tps)
    starts = await consumer.offsets_for_times({tp: start_ms for tp in tps})
    stops = await consumer.offsets_for_times({tp: stop_ms for tp in tps})
    spans = []
    for tp in tps:
        first = starts[tp].offset if starts.get(tp) is not None else ends[tp]
        last = stops[tp].offset if stops.get(tp) is not None else ends[tp]
        if last > first:
            spans.append(Span(tp, first, last))
    return spans


async def _records(consumer: Any, spans: list[Span]) -> Any:
    """The original records of ``spans`` (copies made by an earlier replay are left out)."""
    for span in spans:
        consumer.assign([span.tp])
        consumer.seek(span.tp, span.start)
        while (await consumer.position(span.tp)) < span.stop:
            for msg in (await consumer.getmany(span.tp, timeout_ms=1000)).get(span.tp, []):
                if msg.offset >= span.stop:
                    break
                yield msg, not any(k == REPLAY for k, _ in msg.headers or ())


async def _produce(consumer: Any, spans: list[Span], total: int, headers: list[tuple[str, bytes]]) -> int:
    producer = kafka_clients.producer()
    await kafka_clients.start("replay", producer, " Nothing was replayed.")
    progress = Progress("replay", total)
    sent = 0
    try:
        pending = []
        async for msg, original in _records(consumer, spans):
            progress.add()
            if not original:
                continue
            pending.append(await producer.send(msg.topic, msg.value, key=msg.key, partition=msg.partition,
                                               timestamp_ms=msg.timestamp, headers=headers))
            sent += 1
            if len(pending) >= 1000:
                for fut in pending:
                    await fut
                pending.clear()
        for fut in pending:
            await fut
    except KafkaError as exc:
        fail("replay", f"Kafka did not acknowledge ({type(exc).__name__}: {exc}) after {sent:,} record(s); "
                       "running the same replay again is safe", 1)
    finally:
        progress.finish()
        await producer.stop()
    return sent


async def _dry_run(consumer: Any, spans: list[Span], raw: dict[str, Any], total: int) -> None:
    kinds: Counter[str] = Counter()
    wamids: set[str] = set()
    progress = Progress("reading", total)
    async for msg, original in _records(consumer, spans):
        progress.add()
        if not original:
            kinds["copies from earlier replays (skipped)"] += 1
            continue
        try:
            env = envelope_from_avro(raw[msg.topic].decode(msg.value))
            if env.source in ("hubspot", "cdc"):
                kinds["CRM changes"] += 1
                continue
            parsed = parse_whatsapp_envelope(env)
        except (DecodeError, InvalidEvent):
            kinds["records that would be dead-lettered"] += 1
            continue
        kinds["messages"] += len(parsed.messages)
        kinds["receipts"] += len(parsed.statuses)
        kinds["preference updates"] += len(parsed.preferences)
        wamids.update(m.wamid for m in parsed.messages)
    progress.finish()
    stored = await _stored_messages(sorted(wamids))
    print("dry run, nothing was produced. The range holds:")
    for kind, n in sorted(kinds.items()):
        if n:
            print(f"  {n:>9,}  {kind}")
    print(f"messages: {stored:,} already in ClickHouse (their rows would be rewritten identically), "
          f"{len(wamids) - stored:,} not there (they would be added)")
    print("automation decisions are recomputed with the same ids: actions already taken stay suppressed by the "
          "outbox and the CRM write audit; with --no-side-effects new ones are recorded as skipped")


async def _stored_messages(wamids: list[str]) -> int:
    found = 0
    db = settings.clickhouse_database
    for i in range(0, len(wamids), 500):
        chunk = ", ".join(sql_string(w) for w in wamids[i:i + 500])
        result = await run_query(f"SELECT uniqExact(wamid) FROM {db}.messages WHERE wamid IN ({chunk})",
                                 command="replay")
        found += int(result.rows[0][0])
    return found


async def _worker_stats() -> dict[str, dict[str, int]] | None:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{settings.web_url}/stats/")
        return dict(response.json()) if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


async def _summary(before: dict[str, dict[str, int]] | None, sent: int, wait_s: float) -> None:
    if wait_s <= 0:
        print("not waiting: the worker processes the replay when it runs (`scrm wait` blocks until it has)")
        return
    try:
        done, lag = await wait_for_zero_lag(settings, settings.app_id, consumed_topics(), timeout=wait_s)
    except BrokerUnavailable as exc:
        fail("replay", str(exc), 1)
    if not done:
        fail("replay", f"the worker has not processed the replay within {wait_s:.0f}s (lag "
                       f"{sum(p.lag for p in lag):,}); it goes on when a worker runs, `scrm wait` blocks until then", 1)
    after = await _worker_stats()
    if before is None or after is None:
        print(f"processed; no worker stats at {settings.web_url} for a summary")
        return
    delta = {(stage, k): v - before.get(stage, {}).get(k, 0) for stage, d in after.items() for k, v in d.items()}

    def total(stage: str, *suffixes: str) -> int:
        return sum(v for (s, k), v in delta.items() if s.startswith(stage) and k.endswith(suffixes))

    rows = [("raw records replayed", sent),
            ("events re-derived (already seen by dedup)", total("normalize", "_replayed") +
             total("crm_normalize", "_replayed")),
            ("events new to the pipeline", total("normalize", "_out") + total("crm_normalize", "_out")),
            ("duplicates suppressed downstream (already applied)", total("state.", "deduplicated") +
             total("automation", "deduplicated") + total("identity", "deduplicated")),
            ("sends and CRM writes suppressed (already done)", total("sender", "duplicates") +
             total("crm.writer", "duplicates")),
            ("sends and CRM writes skipped (side effects off)", total("sender", "skipped") +
             total("crm.writer", "skipped")),
            ("new side effects: WhatsApp sends", total("sender", "sent") + total("sender", "dry_run")),
            ("new side effects: CRM writes", total("crm.writer", "written") + total("crm.writer", "dry_run")),
            ("dead-lettered", sum(v for (_, k), v in delta.items() if k == "dead_lettered"))]
    print("summary:\n" + "\n".join(f"  {n:>9,}  {what}" for what, n in rows))


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
