"""Per-event CPU cost of the pure hot path, no broker: parse a webhook, Avro-encode the message,
decode it again (as the sink does) and shape its ClickHouse row.

    .venv/bin/python -m bench hot_path
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from processors.whatsapp import parse_webhook
from sinks.clickhouse.rows import SourcePosition, message_row
from streams.catalog import load_catalog
from streams.codec import SingleObjectFraming
from streams.mapping import message_from_avro, to_avro

SAMPLE = Path(__file__).resolve().parent.parent / "streams" / "samples" / "sample.jsonl"


def bodies() -> list[bytes]:
    out = []
    for line in SAMPLE.read_text().splitlines():
        doc = json.loads(line)
        if doc["source"] == "whatsapp" and isinstance(doc["body"], dict) and "messages" in json.dumps(doc["body"]):
            out.append(json.dumps(doc["body"], ensure_ascii=False).encode())
    return out


def run(iterations: int = 20_000) -> dict[str, float]:
    framing = SingleObjectFraming(load_catalog())
    samples = bodies()
    src = SourcePosition("scrm.messages", 0, 0)
    stages = {"parse": 0.0, "encode": 0.0, "decode+row": 0.0}
    events = 0
    for i in range(iterations):
        body = samples[i % len(samples)]
        t0 = time.perf_counter()
        parsed = parse_webhook(body, received_at_ms=1_795_136_000_000, envelope_sha256="x")
        t1 = time.perf_counter()
        encoded = [framing.encode("MessageEvent", "s", to_avro(m)) for m in parsed.messages]
        t2 = time.perf_counter()
        for data in encoded:
            message_row(message_from_avro(framing.decode("MessageEvent", "s", data)), src)
        t3 = time.perf_counter()
        stages["parse"] += t1 - t0
        stages["encode"] += t2 - t1
        stages["decode+row"] += t3 - t2
        events += len(parsed.messages)
    total = sum(stages.values())
    result = {f"{k}_us_per_event": round(v / events * 1e6, 2) for k, v in stages.items()}
    result["total_us_per_event"] = round(total / events * 1e6, 2)
    result["events_per_s_one_core"] = round(events / total)
    result["events"] = events
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
