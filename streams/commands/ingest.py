"""``scrm ingest FILE``: JSON lines of webhook requests -> the raw topics, as the receiver would."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError

from processors.errors import InvalidEvent
from processors.ingest_lines import RAW_TOPIC, envelope_from_line, raw_key
from streams.app import app, topics
from streams.commands import kafka_clients
from streams.commands.errors import fail
from streams.dlq import dead_letter as make_dead_letter
from streams.faust_cli import argument, option
from streams.mapping import to_avro


@app.command(
    argument("file", type=str),
    option("--dead-letter/--no-dead-letter", default=True,
           help="also send malformed lines to the dead-letter topic (default: yes)"),
)
async def ingest(self: Any, file: str, dead_letter: bool) -> None:
    """Produce webhook requests from a JSON-lines FILE (or - for stdin) to the raw topics.

    Each line: {"source": "whatsapp"|"agent_inbox"|"hubspot"|"cdc", "received_at": "2026-11-20T10:00:00Z",
    "headers": {...}, "body": <webhook JSON>}. Good lines are produced and acknowledged by
    Kafka; malformed lines are reported with their line number (and dead-lettered), and the
    command then exits 1.
    """
    lines = _read_lines(file)
    now_ms = int(time.time() * 1000)
    good, bad = [], []
    for number, line in lines:
        try:
            good.append((number, envelope_from_line(line, now_ms=now_ms)))
        except InvalidEvent as exc:
            bad.append((number, line, exc))
    producer = kafka_clients.producer()
    await kafka_clients.start("ingest", producer, " Nothing was produced.")
    per_topic: Counter[str] = Counter()
    try:
        futures = []
        for _, env in good:
            bound = topics[RAW_TOPIC[env.source]]
            futures.append(await producer.send(bound.name, bound.encode(to_avro(env)), key=raw_key(env)))
            per_topic[bound.name] += 1
        if dead_letter:
            dlq = topics["dlq"]
            for number, line, error in bad:
                record = make_dead_letter(key=None, value=line.encode("utf-8", "surrogateescape"),
                                          topic=f"file:{file}", partition=0, offset=number, stage="ingest",
                                          exc=error, now_ms=now_ms)
                futures.append(await producer.send(dlq.name, dlq.encode(record)))
        for fut in futures:
            await fut
    except KafkaError as exc:
        fail("ingest", f"Kafka did not acknowledge every record ({type(exc).__name__}: {exc}); "
                       "the file can be ingested again safely (dedup absorbs repeats)", 1)
    finally:
        await producer.stop()
    summary = ", ".join(f"{n} to {t}" for t, n in sorted(per_topic.items())) or "nothing produced"
    print(f"ingested {len(good)} of {len(lines)} lines ({summary})")
    for number, _, error in bad:
        print(f"{file}:{number}: skipped: {error}", file=sys.stderr)
    if bad:
        where = " and sent to the dead-letter topic" if dead_letter else ""
        fail("ingest", f"{len(bad)} malformed line(s) were not ingested{where}; "
                       "fix them and ingest those lines again", 1)


def _read_lines(file: str) -> list[tuple[int, str]]:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        fail("ingest", f"no such file: {file}")
    except IsADirectoryError:
        fail("ingest", f"{file} is a directory; give a JSON-lines file")
    return [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
