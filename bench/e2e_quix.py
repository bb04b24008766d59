"""The peer: normalize + dedup + tagging + ClickHouse sink written with Quix Streams, as a user of
that library would write it, over the same raw topic and the same pure processors (parsing,
tagging, row shaping) and the same embedded ClickHouse tables as our worker.

It does less than our worker: no receipt or conversation state, no churn, automations, policy
gate or identity, no raw-webhook archive and no per-stage topics. So ours / peer is a
conservative ratio for us.

    python -m bench.e2e_quix BOOTSTRAP TOPIC GROUP EXPECTED_ROWS WORKDIR   (prints one JSON line)
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from quixstreams import Application
from quixstreams.models.serializers import Deserializer
from quixstreams.sinks import BatchingSink, SinkBatch

from bench.e2e_data import raw_codec
from bench.procs import own_cpu_s
from processors.envelopes import parse_whatsapp_envelope
from processors.errors import InvalidEvent
from processors.tagging import tag_text
from sinks.clickhouse.chdb_backend import ChdbBackend
from sinks.clickhouse.migrate import migrate
from sinks.clickhouse.rows import SourcePosition, message_row, status_row, tag_row
from streams.errors import DecodeError
from streams.mapping import envelope_from_avro, to_avro
from streams.rules import read_pack

PACK = read_pack(None)
CLOCK: dict[str, float] = {}


class EnvelopeDeserializer(Deserializer):
    def __init__(self) -> None:
        super().__init__()
        self.codec = raw_codec()

    def __call__(self, value: bytes, ctx: Any) -> Any:
        if "first" not in CLOCK:
            CLOCK.update(first=time.perf_counter(), cpu0=own_cpu_s())
        return envelope_from_avro(self.codec.loads(value))


def events(env: Any) -> list[dict[str, Any]]:
    try:
        parsed = parse_whatsapp_envelope(env)
    except (DecodeError, InvalidEvent):
        return []  # a real job would dead-letter it; the bench traffic has none
    return ([{"kind": "message", "id": m.wamid, "event": m} for m in parsed.messages]
            + [{"kind": "status", "id": f"{s.wamid}|{s.status.value}", "event": s} for s in parsed.statuses])


def first_copy(item: dict[str, Any], state: Any) -> bool:
    if state.get(item["id"]) is not None:
        return False
    state.set(item["id"], item["event"].timestamp_ms)
    return True


def with_tags(item: dict[str, Any]) -> dict[str, Any]:
    event = item["event"]
    if item["kind"] == "message" and event.direction.value == "inbound":
        item["tags"] = tag_text(PACK, event.text, wamid=event.wamid, ts_ms=event.timestamp_ms).matches
    return item


class ClickHouseSink(BatchingSink):
    def __init__(self, path: Path, expected: int, app: Application) -> None:
        super().__init__()
        self.path, self.expected, self.app, self.written = path, expected, app, 0

    def setup(self) -> None:
        self.backend = ChdbBackend(self.path)
        migrate(self.backend, "peer")

    def write(self, batch: SinkBatch) -> None:
        tables: dict[str, list[dict[str, Any]]] = {"messages": [], "statuses": [], "tags": []}
        for item in batch:
            v, src = item.value, SourcePosition(batch.topic, batch.partition, item.offset)
            if v["kind"] == "status":
                tables["statuses"].append(status_row(to_avro(v["event"]), src))
                continue
            m = v["event"]
            tables["messages"].append(message_row(m, src))
            for t in v.get("tags", ()):
                tables["tags"].append(tag_row({"contact_key": m.contact_key, "wamid": m.wamid,
                                               "phone_number_id": m.phone_number_id, "tag": t.tag,
                                               "rule_id": t.rule_id, "pack": t.pack, "rule_version": t.rule_version,
                                               "department": t.department, "reason": t.reason,
                                               "timestamp_ms": m.timestamp_ms, "conversation_id": None}, src))
        token = f"{batch.topic}-{batch.partition}-{batch.start_offset}-{batch.size}"
        for table, rows in tables.items():
            self.backend.insert_rows(f"peer.{table}", rows, f"{table}-{token}")
        self.written += len(tables["messages"]) + len(tables["statuses"])
        if self.written >= self.expected and "last" not in CLOCK:
            CLOCK.update(last=time.perf_counter(), cpu1=own_cpu_s())
            self.app.stop()


def main(bootstrap: str, topic: str, group: str, expected: int, workdir: str) -> None:
    app = Application(broker_address=bootstrap, consumer_group=group, auto_offset_reset="earliest",
                      commit_interval=1.0, state_dir=f"{workdir}/state", loglevel="WARNING")
    raw = app.topic(topic, key_deserializer="bytes", value_deserializer=EnvelopeDeserializer())
    sink = ClickHouseSink(Path(workdir) / "clickhouse", expected, app)
    sdf = app.dataframe(raw)
    sdf = sdf.apply(events, expand=True)
    sdf = sdf.filter(first_copy, stateful=True)
    sdf = sdf.apply(with_tags)
    sdf.sink(sink)
    app.run()
    rows = sink.backend.query("SELECT count() FROM peer.messages FINAL").rows[0][0]
    elapsed = CLOCK["last"] - CLOCK["first"]
    print(json.dumps({"rows_written": sink.written, "messages_in_clickhouse": int(rows), "elapsed_s": elapsed,
                      "cpu_s": CLOCK["cpu1"] - CLOCK["cpu0"],
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
