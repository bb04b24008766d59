"""The Faust floor: what one Faust stage hop costs on this broker with no domain work, against the
aiokafka ceiling (``bench.e2e_ceiling``) -- the per-hop price every stage of our worker pays.

One Faust agent (uvloop, RocksDB table store, acks=all, the worker's commit and linger settings and
its root logger kept at ``-l warn``)
over a topic of 4 partitions holding the bench's raw webhook records, in three shapes:

* ``consume`` -- iterate ``stream.events()`` and count;
* ``forward`` -- and send each record on to a second topic (``Topic.send``, as our stages do);
* ``forward_table`` -- and also write the record to a Faust table (RocksDB + changelog), the shape
  of a stateful stage (dedup, receipts, conversations).

and, for comparison, ``lean_table``: the ``forward_table`` hop written on aiokafka and rocksdict
directly (no Faust) -- consume a batch, per record a RocksDB put, the record sent on and a changelog
record sent to the same partition, then one producer flush and one offset commit per batch: what
a stage runtime under our own control would pay per stateful hop.

CPU is the process's user + system time from its first record to its last (µs per record).

    .venv/bin/python -m bench faust_floor
    python -m bench.faust_floor child SHAPE BOOTSTRAP TOPIC EVENTS WORKDIR   (one agent; logs one JSON line)
Knobs: BENCH_FLOOR_EVENTS (records, 20,000), BENCH_FLOOR_REPEATS (3), BENCH_FLOOR_FAUST (Faust
settings over the worker's, as JSON: '{"broker_commit_every": 20000}'), BENCH_FLOOR_FAST_DELIVERY
(1: Faust's fetch loop with ``streams.fast_delivery`` as in the worker; 0: Faust's own).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SHAPES = ("consume", "forward", "forward_table", "lean_table")
PARTITIONS = 4


def child(shape: str, bootstrap: str, topic: str, events: int, workdir: str) -> None:
    import mode.loop

    mode.loop.use("uvloop")  # as the worker (SCRM_EVENT_LOOP default)
    import faust

    from bench.procs import own_cpu_s
    from streams.logs import keep_root_level

    keep_root_level()  # as the worker: without it Faust's spinner leaves every logger.debug building records
    if os.environ.get("BENCH_FLOOR_FAST_DELIVERY", "1") == "1":  # as the worker (streams.fast_delivery)
        from streams import fast_delivery

        fast_delivery.install()

    conf: dict[str, Any] = {
        "autodiscover": False, "web_enabled": False, "consumer_auto_offset_reset": "earliest",
        "topic_replication_factor": 1, "producer_acks": -1, "producer_linger": 0.01, "broker_commit_every": 1000,
        "broker_commit_interval": 1.0, "store": "rocksdb://", "stream_wait_empty": False,
        **json.loads(os.environ.get("BENCH_FLOOR_FAUST", "{}")),  # other Faust settings to try, as JSON
    }
    app = faust.App(f"floor-{shape}-{os.getpid()}", broker=f"kafka://{bootstrap}", datadir=workdir, **conf)
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    source = app.topic(topic, partitions=PARTITIONS, **raw)
    out = app.topic(f"{topic}.{shape}.{os.getpid()}", partitions=PARTITIONS, internal=True, **raw)
    table = app.Table("floor", default=None, partitions=PARTITIONS, key_type=bytes, value_type=bytes)
    clock: dict[str, float] = {}

    @app.agent(source)
    async def hop(stream):  # type: ignore[no-untyped-def]
        n = 0
        async for event in stream.events():
            if n == 0:
                clock.update(first=time.perf_counter(), cpu0=own_cpu_s())
            if shape != "consume":
                await out.send(key=event.message.key, value=event.message.value)
            if shape == "forward_table":
                table[event.message.key or b"-"] = event.message.value
            n += 1
            if n >= events:
                await app.producer.flush()
                print(json.dumps({"events": n, "elapsed_s": time.perf_counter() - clock["first"],
                                  "cpu_s": own_cpu_s() - clock["cpu0"]}), flush=True)
                os._exit(0)  # a bench child: the figure is out, no orderly shutdown to time

    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()


async def lean(bootstrap: str, topic: str, events: int, workdir: str) -> dict[str, float]:
    """The stateful hop on aiokafka + rocksdict: at-least-once (outputs flushed before the commit)."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from rocksdict import Rdict

    from bench.procs import own_cpu_s

    out, changelog = f"{topic}.lean.{os.getpid()}", f"{topic}.lean-changelog.{os.getpid()}"
    await _create_topics(bootstrap, out, changelog)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"lean-{os.getpid()}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=10)
    db = Rdict(f"{workdir}/lean-db")
    await consumer.start()
    await producer.start()
    n, first, cpu0 = 0, 0.0, 0.0
    try:
        while n < events:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            for tp, records in batches.items():
                for m in records:
                    if n == 0:
                        first, cpu0 = time.perf_counter(), own_cpu_s()
                    key = m.key or b"-"
                    db[key] = m.value
                    await producer.send(out, m.value, key=key, partition=tp.partition)
                    await producer.send(changelog, m.value, key=key, partition=tp.partition)
                    n += 1
            await producer.flush()
            await consumer.commit()
        return {"events": n, "elapsed_s": time.perf_counter() - first, "cpu_s": own_cpu_s() - cpu0}
    finally:
        await producer.stop()
        await consumer.stop()
        db.close()


async def _create_topics(bootstrap: str, *names: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    finally:
        await admin.close()


def _produce(bootstrap: str, topic: str, events: int) -> None:
    from bench.e2e import _produce as produce
    from bench.e2e_data import raw_codec, records

    asyncio.run(_create_topics(bootstrap, topic))
    asyncio.run(produce(bootstrap, topic, records(events, tag="floor", codec=raw_codec())))


def run() -> dict[str, Any]:
    from bench.broker import local_broker
    from bench.e2e import ceiling

    events = int(os.environ.get("BENCH_FLOOR_EVENTS", 20_000))
    repeats = int(os.environ.get("BENCH_FLOOR_REPEATS", 3))
    runs: dict[str, list[dict[str, float]]] = {s: [] for s in (*SHAPES, "aiokafka")}
    with local_broker() as bootstrap, tempfile.TemporaryDirectory(prefix="scrm-bench-floor-") as tmp:
        topic = "floor.raw"
        _produce(bootstrap, topic, events)
        for r in range(repeats):
            for shape in SHAPES:
                work = Path(tmp) / f"{shape}{r}"
                work.mkdir()
                proc = subprocess.run([sys.executable, "-m", "bench.faust_floor", "child", shape, bootstrap, topic,
                                       str(events), str(work)], capture_output=True, text=True, timeout=1800)
                # Faust's worker redirects stdout into its log (stderr): the figure is a log line there
                found = re.findall(r'\{"events": .*?\}', proc.stdout + proc.stderr)
                if not found:
                    raise RuntimeError(f"{shape}: no result (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
                res = json.loads(found[-1])
                runs[shape].append({"events_per_s": round(res["events"] / res["elapsed_s"]),
                                    "cpu_us_per_event": round(res["cpu_s"] / res["events"] * 1e6)})
                print(json.dumps({"repeat": r, shape: runs[shape][-1]}), file=sys.stderr, flush=True)
            c = ceiling("aiokafka", bootstrap, topic, f"floor-aiokafka{r}", events)
            runs["aiokafka"].append({"events_per_s": c["events_per_s"], "cpu_us_per_event": c["cpu_us_per_event"]})
    median = {s: {k: statistics.median(r[k] for r in rs) for k in ("events_per_s", "cpu_us_per_event")}
              for s, rs in runs.items()}
    return {"events": events, "repeats": repeats, "median": median, "runs": runs}


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        shape, bootstrap, topic, n, workdir = sys.argv[2:7]
        if shape == "lean_table":
            import uvloop

            print(json.dumps(uvloop.run(lean(bootstrap, topic, int(n), workdir))), flush=True)
        else:
            child(shape, bootstrap, topic, int(n), workdir)
    else:
        print(json.dumps(run(), indent=2))
