"""``scrm dlq list | show ID | redrive``: the dead-letter topic, read directly from Kafka (the
source of truth; ClickHouse keeps a copy in ``dead_letters``).

A dead letter's id is ``<dlq partition>:<dlq offset>``. ``redrive`` sends letters back through
the stage that failed (after a fix) and records each outcome on the compacted ``dlq.redrives``
topic, so a letter is redriven once unless ``--force``."""

from __future__ import annotations

import base64
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click
from aiokafka.errors import KafkaError

from processors.errors import InvalidEvent
from processors.ingest_lines import RAW_TOPIC, envelope_from_line, raw_key
from processors.redrive import LetterFilter, Route, plan
from sinks.clickhouse.rows import epoch_ms
from streams.app import app, topics
from streams.commands import kafka_clients
from streams.commands.errors import fail, time_argument
from streams.commands.operator import operator
from streams.commands.output import table
from streams.errors import DecodeError
from streams.faust_cli import argument, option
from streams.mapping import to_avro

Letter = tuple[str, dict[str, Any]]  # (id, DeadLetter record)
ALREADY = "already redriven (--force to repeat)"


@app.command(
    argument("action", type=click.Choice(["list", "show", "redrive"])),
    argument("dlq_id", type=str, required=False, default=None),
    option("--stage", type=str, default=None, help="only letters of this stage (normalize, sink.messages, ...)"),
    option("--error-class", type=str, default=None, help="only this error class (InvalidEvent, DecodeError, ...)"),
    option("--topic", type=str, default=None, help="only letters read from this topic (full name)"),
    option("--id", "ids", type=str, multiple=True, help="redrive: these letter ids (repeatable)"),
    option("--since", type=str, default=None, help="failed at or after this time (ISO-8601 with a zone, or epoch ms)"),
    option("--until", type=str, default=None, help="failed before this time"),
    option("--limit", type=int, default=50, help="list: show the newest N (default 50; 0: all)"),
    option("--all", "everything", is_flag=True, default=False, help="redrive: every letter that passes the filters, "
           "even with no filter given"),
    option("--dry-run", is_flag=True, default=False, help="redrive: print what would be done, send nothing"),
    option("--force", is_flag=True, default=False, help="redrive: also letters that were redriven before"),
    option("--raw", is_flag=True, default=False, help="show: print the original bytes as base64 only"),
)
async def dlq(self: Any, action: str, dlq_id: str | None, stage: str | None, error_class: str | None,
              topic: str | None, ids: tuple[str, ...], since: str | None, until: str | None, limit: int,
              everything: bool, dry_run: bool, force: bool, raw: bool) -> None:
    """Dead letters: list them, show ID (reason, stage and original bytes), redrive them after a fix.

    \b
    scrm dlq list [--stage S] [--since T]      newest last, with what a redrive did
    scrm dlq show 0:17                         one letter, its original decoded when possible
    scrm dlq redrive --stage normalize         send them back through their stage (--dry-run first)
    """
    if action == "show" and not dlq_id:
        fail("dlq", "show needs a dead letter id, e.g. `scrm dlq show 0:17` (ids are in `scrm dlq list`)")
    if action != "show" and dlq_id:
        fail("dlq", f"{action} takes filters, not an id; use --id {dlq_id}")
    keep = LetterFilter(frozenset(ids), stage, error_class, topic,
                        time_argument("dlq", "--since", since) if since else None,
                        time_argument("dlq", "--until", until) if until else None)
    letters = await _read(topics["dlq"])
    redrives = {rec["dlq_id"]: rec for _, rec in await _read(topics["dlq.redrives"])}
    chosen = [(i, r) for i, r in letters if keep(i, r, epoch_ms(r["last_failure_ms"]))]
    if action == "list":
        _list(chosen[-limit:] if limit > 0 else chosen, redrives, len(letters))
    elif action == "show":
        _show(dlq_id or "", dict(letters), redrives, raw)
    else:
        if not everything and keep.empty:
            fail("dlq", "redrive needs a filter (--stage, --error-class, --topic, --id, --since, --until) "
                        "or --all; try --dry-run first")
        await _redrive(chosen, redrives, dry_run=dry_run, force=force)


async def _read(bound: Any) -> list[Letter]:
    consumer = kafka_clients.consumer()
    await kafka_clients.start("dlq", consumer)
    try:
        out = []
        async for msg in kafka_clients.read_to_end(consumer, bound.name, bound.spec.partitions):
            try:
                out.append((f"{msg.partition}:{msg.offset}", bound.decode(msg.value)))
            except DecodeError as exc:
                print(f"scrm dlq: skipped {bound.name}[{msg.partition}]@{msg.offset}: {exc}", file=sys.stderr)
        return out
    finally:
        await consumer.stop()


def _when(value: Any) -> str:
    return datetime.fromtimestamp(epoch_ms(value) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _outcome(rec: dict[str, Any] | None) -> str:
    if rec is None:
        return ""
    where = f" → {rec['target_topic']}[{rec['target_partition']}]@{rec['target_offset']}" if rec["target_topic"] else ""
    return f"{rec['outcome']}{where} {_when(rec['redriven_at_ms'])}"


def _list(letters: list[Letter], redrives: dict[str, dict[str, Any]], total: int) -> None:
    rows = [[i, _when(r["last_failure_ms"]), r["stage"], r["error_class"], _source(r), len(r["original_value"]),
             r["error_message"][:60], _outcome(redrives.get(i))] for i, r in letters]
    print(table(["id", "failed_utc", "stage", "error", "source", "bytes", "reason", "redrive"], rows))
    print(f"{len(letters)} shown of {total} dead letter(s) in {topics['dlq'].name}; `scrm dlq show ID` for one")


def _source(r: dict[str, Any]) -> str:
    return f"{r['topic']}[{r['partition']}]@{r['offset']}"


def _show(dlq_id: str, letters: dict[str, dict[str, Any]], redrives: dict[str, dict[str, Any]], raw: bool) -> None:
    r = letters.get(dlq_id)
    if r is None:
        fail("dlq", f"no dead letter {dlq_id!r} in {topics['dlq'].name}; ids look like 0:17 (see `scrm dlq list`)", 1)
    value: bytes = r["original_value"]
    key = r["original_key"]
    print(f"dead letter {dlq_id}")
    for name, text in (("stage", r["stage"]), ("error", f"{r['error_class']}: {r['error_message']}"),
                       ("source", _source(r)),
                       ("failed", f"{_when(r['last_failure_ms'])} (attempts {r['attempts']})"),
                       ("key", key.decode("utf-8", "replace") if key is not None else "-"),
                       ("redrive", _outcome(redrives.get(dlq_id)) or "never")):
        print(f"  {name:<8} {text}")
    if raw:
        print(f"original ({len(value)} bytes, base64):\n{base64.b64encode(value).decode()}")
        return
    label, text = _readable(r["topic"], value)
    print(f"original ({len(value)} bytes, {label}):\n{text}")


def _readable(source_topic: str, value: bytes) -> tuple[str, str]:
    """The original bytes as a person can read them: the topic's Avro record, JSON, text, or base64."""
    bound = next((b for b in topics if b.name == source_topic), None)
    if bound is not None:
        try:
            record = bound.decode(value)
        except DecodeError:
            pass
        else:
            body = record.pop("body", None)
            text = json.dumps(record, ensure_ascii=False, indent=2, default=str)
            if isinstance(body, bytes):  # a raw-topic envelope: the request body as it came
                label, shown = _readable("", body)
                text += f"\nbody ({len(body)} bytes, {label}):\n{shown}"
            return f"Avro {bound.spec.value}", text
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return "binary, base64", base64.b64encode(value).decode()
    try:
        return "JSON", json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except ValueError:
        return "text", text


async def _redrive(letters: list[Letter], redrives: dict[str, dict[str, Any]], *, dry_run: bool, force: bool) -> None:
    known = {b.name for b in topics}
    counts: dict[str, int] = {}
    producer = None if dry_run else kafka_clients.producer()
    if producer is not None:
        await kafka_clients.start("dlq", producer, " Nothing was redriven.")
    try:
        for dlq_id, r in letters:
            before = redrives.get(dlq_id)
            if before is not None and before["outcome"] == "redriven" and not force:
                counts[ALREADY] = counts.get(ALREADY, 0) + 1
                continue
            p = plan(r["stage"], r["topic"], known)
            if dry_run:
                what = p.route.value if p.route is Route.REFUSE else f"would {p.route.value}"
                print(f"{dlq_id}  {r['stage']}: {what}: {p.detail}")
                counts[what] = counts.get(what, 0) + 1
                continue
            outcome = await _apply(producer, dlq_id, r, p)
            counts[outcome["outcome"]] = counts.get(outcome["outcome"], 0) + 1
            print(f"{dlq_id}  {r['stage']}: {outcome['outcome']}: {outcome['detail']}")
            log = topics["dlq.redrives"]
            await producer.send_and_wait(log.name, log.encode(outcome), key=dlq_id.encode())  # type: ignore[union-attr]
    except KafkaError as exc:
        fail("dlq", f"Kafka did not acknowledge ({type(exc).__name__}: {exc}); letters listed above as redriven "
                    "were; run the same command again for the rest", 1)
    finally:
        if producer is not None:
            await producer.stop()
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "no dead letters matched"
    print(f"{'dry run: ' if dry_run else ''}{summary}")


async def _apply(producer: Any, dlq_id: str, r: dict[str, Any], p: Any) -> dict[str, Any]:
    out = {"dlq_id": dlq_id, "stage": r["stage"], "source_topic": r["topic"], "source_partition": r["partition"],
           "source_offset": r["offset"], "outcome": "redriven", "target_topic": None, "target_partition": None,
           "target_offset": None, "detail": p.detail, "operator": operator(), "redriven_at_ms": int(time.time() * 1000)}
    headers = [("scrm-redrive", dlq_id.encode())]
    if p.route is Route.REFUSE:
        return {**out, "outcome": "not_redrivable"}
    if p.route is Route.INGEST:
        try:
            line = r["original_value"].decode("utf-8", "surrogateescape")
            env = envelope_from_line(line, now_ms=out["redriven_at_ms"])
        except InvalidEvent as exc:
            return {**out, "outcome": "still_invalid", "detail": f"the line is still malformed: {exc}"}
        bound = topics[RAW_TOPIC[env.source]]
        meta = await producer.send_and_wait(bound.name, bound.encode(to_avro(env)), key=raw_key(env), headers=headers)
    else:
        meta = await producer.send_and_wait(p.target, r["original_value"], key=r["original_key"], headers=headers)
    return {**out, "target_topic": meta.topic, "target_partition": meta.partition, "target_offset": meta.offset}
