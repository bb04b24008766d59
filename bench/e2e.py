"""End to end on the real local broker (issue 9): our pipeline against the ceiling and a peer, on
the same broker and the same raw webhook records (``bench.e2e_data``).

Per repeat (three by default, medians reported):

* **ours, 1 worker / 2 workers** -- a backlog of raw webhooks is produced while no worker runs
  (recorded traffic: each record stamped as received two seconds after its event time, as after an
  outage; no clock ticks, so the traffic's own event time drives the timers: with ticks the wall
  clock would fire every contact's timers for the weeks between the traffic and today);
  `scrm worker` (RocksDB tables, embedded ClickHouse) then runs every stage: normalize + dedup,
  receipts, conversations + tagging, signals -> churn/automation/policy (dry-run sends), identity,
  and the ClickHouse sinks. Throughput runs from the first raw record taken to the moment every
  message and status row is written; CPU is the worker processes' user + system time over that span
  (µs per raw event). RSS is sampled every 0.25 s. ``events_per_s_all_stages`` runs until the
  automation stage (off the rows' path) has applied every message and status signal as well;
  ``events_per_s_every_stage`` (and its CPU) until the worker's consumer group has committed every
  record of every topic it reads -- the CRM writer, the sender and identity resolution, further
  behind, included.
* **ours on the peer's job** (``peerjob``) -- 1 worker with ``SCRM_STAGES=normalize,state,sinks``:
  normalize + dedup, receipts, conversations + tagging and the ClickHouse sinks (still more than
  the peer: receipt and conversation state, the raw archive, the signals produced for a stage
  that does not run); ``ratio_peerjob_to_quix`` compares the same job.
* **replay catch-up** -- then `scrm replay` of the whole backlog (side effects off) and the time
  until the worker has written every row again.
* **latency** -- a fresh worker, caught up, gets raw records at a fixed rate (1,000/s and 80% of the
  live maximum), live (event times from about now), with ``received_at`` = the moment of
  producing; latency is each message row's
  ``inserted_at - received_at`` (produced -> row in ClickHouse), p50/p99 over the run; with
  ``BENCH_E2E_LATENCY_RATES=50,100,150`` also at those rates (the latency curve below the maximum).
  The **live maximum** is searched on one warm worker: 15 s probes from 90 % of what the 1,000/s
  run drained, each 15 % below the last, until one keeps up (its rows done within ``KEPT_UP_S``
  of its last record); live traffic costs more per event than a backlog, so the backlog figure
  overstates it.
* **ceiling** -- consume -> decode -> encode -> produce, no domain work (aiokafka; confluent-kafka).
* **peer** -- normalize + dedup + tagging + ClickHouse sink with Quix Streams (``bench.e2e_quix``).

    .venv/bin/python -m bench e2e
    BENCH_E2E_EVENTS=1000000 BENCH_E2E_REPEATS=1 .venv/bin/python -m bench e2e   # the 1M-event run
Knobs: BENCH_E2E_EVENTS (backlog size, default 20,000), BENCH_E2E_REPEATS (3),
BENCH_E2E_LATENCY_S (seconds of paced traffic, 20), BENCH_E2E_LATENCY_RATES (extra paced rates,
events/s, comma list; none by default), BENCH_E2E_CONTACTS (contacts in the traffic, 5,000),
BENCH_E2E_ONLY (comma list of parts).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.broker import broker_cpu_s, free_port, local_broker
from bench.e2e_data import T0, Counts, count, partition_shares, raw_codec, records
from bench.procs import cpu_s, rss_mb, worker_counter, worker_stats

SCRM = str(Path(sys.executable).parent / "scrm")
PARTS = ("ours1", "ours2", "replay", "peerjob", "latency", "aiokafka", "confluent", "quix")
PEER_JOB_STAGES = "normalize,state,sinks"  # the peer's job and a little more (receipts, conversations)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# ---------------------------------------------------------------- processes and their figures

class Workers:
    """``n`` `scrm worker` processes of one app (each with its own web port, tables and chDB)."""

    def __init__(self, env: dict[str, str], tmp: Path, n: int) -> None:
        self.env, self.tmp, self.ports, self.procs = env, tmp, [free_port() for _ in range(n)], []
        self.logs = [tmp / f"worker{i}.log" for i in range(n)]
        self.cpu_at_first = 0.0
        self.broker_cpu_at_first = 0.0
        self.trend_every = 0  # record (raw records normalized, RSS MB) every this many records
        self.trend: list[tuple[int, int]] = []

    def start(self) -> None:
        for i, port in enumerate(self.ports):
            env = {**self.env, "SCRM_WEB_PORT": str(port), "SCRM_DATA_DIR": f"{self.tmp}/faust{i}",
                   "SCRM_CLICKHOUSE_PATH": f"{self.tmp}/clickhouse{i}"}
            with self.logs[i].open("wb") as out:
                self.procs.append(subprocess.Popen([SCRM, "worker", "-l", "warn"], env=env, stdout=out,
                                                   stderr=subprocess.STDOUT))

    def totals(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for port in self.ports:
            try:
                stats = worker_stats(f"http://127.0.0.1:{port}")
            except OSError:
                continue
            for stage, counters in stats.items():
                if isinstance(counters, dict):
                    into = out.setdefault(stage, {})
                    for k, v in counters.items():
                        if isinstance(v, int | float):
                            into[k] = into.get(k, 0) + int(v)
        return out

    def cpu_s(self) -> float:
        return sum(cpu_s(p.pid) for p in self.procs)

    def rss_mb(self) -> list[float]:
        return [rss_mb(p.pid) for p in self.procs]

    def check(self) -> None:
        for p, log in zip(self.procs, self.logs, strict=True):
            if p.poll() is not None:
                raise RuntimeError(f"worker exited {p.returncode}:\n{log.read_text(errors='replace')[-3000:]}")

    def seeks_back(self) -> int:
        """Seeks back to records fetched but not handed on (``scrm_consumer_rewinds_total``, every
        worker): each re-reads records, so a figure that needed many is not a clean one."""
        return int(sum(worker_counter(f"http://127.0.0.1:{port}", "scrm_consumer_rewinds") for port in self.ports))

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def clickhouse(self, i: int) -> Any:
        from sinks.clickhouse.chdb_backend import ChdbBackend
        return ChdbBackend(self.tmp / f"clickhouse{i}")


STALL_S = 90.0


class Stalled(RuntimeError):
    """The workers stopped making progress before every row was written (rows lost or stuck)."""

    def __init__(self, message: str, totals: dict[str, dict[str, int]]) -> None:
        super().__init__(message)
        self.totals = totals


def _written(t: dict[str, dict[str, int]], table: str) -> int:
    return t.get(f"sink.{table}", {}).get("written", 0)


def _wait(workers: Workers, done: Callable[[dict[str, dict[str, int]]], bool], timeout_s: float,
          rss: list[float] | None = None, what: str = "") -> tuple[float | None, float, dict[str, dict[str, int]]]:
    """Poll until ``done``; (time of the first normalized record or None, time done, last totals).
    ``workers.cpu_at_first`` is the workers' CPU seconds when the first record was seen."""
    first, deadline, t = None, time.monotonic() + timeout_s, {}
    last_change, last_totals = time.monotonic(), None
    while time.monotonic() < deadline:
        workers.check()
        rss_now = sum(workers.rss_mb())
        if rss is not None:
            rss.append(rss_now)
        t = workers.totals()
        taken = t.get("normalize", {}).get("in", 0)
        if workers.trend_every and taken >= (len(workers.trend) + 1) * workers.trend_every:
            workers.trend.append((taken, round(rss_now)))
            print(f"  {what}: {taken} raw events normalized, workers' RSS {rss_now:.0f} MiB",
                  file=sys.stderr, flush=True)
        if first is None and taken > 0:
            first, workers.cpu_at_first = time.perf_counter(), workers.cpu_s()
            workers.broker_cpu_at_first = broker_cpu_s()
        if done(t):
            return first, time.perf_counter(), t
        progress = (taken, _written(t, "messages"), _written(t, "statuses"))
        if progress != last_totals:
            last_change, last_totals = time.monotonic(), progress
        elif time.monotonic() - last_change > STALL_S:
            raise Stalled(f"{what}: no progress for {STALL_S:.0f} s", t)
        if os.environ.get("BENCH_PROGRESS"):
            print(f"  {what}: normalize {taken} messages {_written(t, 'messages')} "
                  f"statuses {_written(t, 'statuses')}", file=sys.stderr)
        time.sleep(0.25)
    raise RuntimeError(f"{what}: not done in {timeout_s:.0f} s; last stats {json.dumps(t)[:1500]}")


# Inputs that must be committed to the end before a run counts as done, whether or not the group
# had committed them yet: the state stages' sink inputs, and (every stage) the inputs of the
# stages behind the automation stage (CRM writer, sender, identity), which may still be working
# when every row is written and every signal applied.
STATE_OUTPUTS = ("message.state", "conversations", "tags")
OFF_PATH_INPUTS = ("crm.writes", "outbound", "identity")


async def caught_up(bootstrap: str, group: str, prefix: str, required: tuple[str, ...], timeout_s: float,
                    workers: Workers) -> tuple[float, dict[str, float]]:
    """Poll (every 0.25 s) until the app's consumer group has committed every record of every topic
    it reads, each of ``required`` (under ``prefix``) included once it holds records; returns
    that moment (``time.perf_counter()``) and, per topic, the last poll that found it behind (the
    stage that ends the run is the topic behind last). Committed offsets trail processing by up to
    the commit interval (1 s)."""
    admin, consumer = AIOKafkaAdminClient(bootstrap_servers=bootstrap), AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        needed = [TopicPartition(f"{prefix}.{t}", p) for t in required
                  for p in consumer._client.cluster.partitions_for_topic(f"{prefix}.{t}") or ()]
        deadline, behind_at = time.monotonic() + timeout_s, {}
        while time.monotonic() < deadline:
            workers.check()
            committed = {tp: m.offset for tp, m in (await admin.list_consumer_group_offsets(group)).items()
                         if m.offset >= 0}
            ends = await consumer.end_offsets(sorted({*committed, *needed}))
            now = time.perf_counter()
            behind = {tp.topic for tp, end in ends.items() if committed.get(tp, 0) < end}
            if not behind:
                return now, behind_at
            behind_at.update(dict.fromkeys(behind, now))
            await asyncio.sleep(0.25)
        raise Stalled(f"{group}: inputs not consumed in {timeout_s:.0f} s", {})
    finally:
        await consumer.stop()
        await admin.close()


# ---------------------------------------------------------------- traffic

async def records_by_topic(bootstrap: str, prefixes: tuple[str, ...]) -> dict[str, int]:
    """Records in every topic whose name starts with one of ``prefixes`` (a run's topics and its
    app's changelogs): what the pipeline produced, per topic, so far."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # partitions of topics we do not subscribe to
        cluster, out = consumer._client.cluster, {}
        for topic in sorted(t for t in await consumer.topics() if t.startswith(prefixes)):
            tps = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
            out[topic] = sum((await consumer.end_offsets(tps)).values()) if tps else 0
        return out
    finally:
        await consumer.stop()


async def _produce(bootstrap: str, topic: str, recs: Iterator[tuple[bytes, bytes, int | None]],
                   rate: float | None = None) -> float:
    """Produce ``recs`` (acks=all); at ``rate`` records/s when given. Returns achieved records/s."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        started, n, pending = time.perf_counter(), 0, []
        for key, value, timestamp_ms in recs:
            if rate:
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            pending.append(await producer.send(topic, value, key=key, timestamp_ms=timestamp_ms))
            n += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        return n / max(time.perf_counter() - started, 1e-9)
    finally:
        await producer.stop()


class Run:
    """One prefix of our topics on the shared broker (fresh topics, fresh consumer group)."""

    def __init__(self, bootstrap: str, tmp: Path, name: str) -> None:
        self.tmp = tmp / name
        self.tmp.mkdir()
        self.env = {**os.environ, "SCRM_KAFKA_BOOTSTRAP": bootstrap, "SCRM_TOPIC_PREFIX": f"{name}.",
                    "SCRM_APP_ID": f"bench-{name}", "SCRM_LOG_LEVEL": "warning", "SCRM_STALL_SECONDS": "0",
                    # no clock ticks: once the backlog is read a tick carries the wall clock, and every
                    # contact's timers would fire for the weeks from T0 to today (a workload that grows
                    # with the calendar); the traffic's own event time drives the timers
                    "SCRM_CLOCK_TICK_SECONDS": "0",
                    "SCRM_DATA_DIR": f"{self.tmp}/cli", "SCRM_CLICKHOUSE_PATH": f"{self.tmp}/cli-clickhouse"}
        self.bootstrap, self.raw = bootstrap, f"{name}.raw.whatsapp"
        subprocess.run([SCRM, "topics", "create"], env=self.env, check=True, capture_output=True)

    def load(self, events: int, tag: str) -> Counts:
        asyncio.run(_produce(self.bootstrap, self.raw, records(events, tag=tag, codec=raw_codec())))
        return count(events, tag=tag)


# ---------------------------------------------------------------- the parts

def ours(bootstrap: str, tmp: Path, name: str, events: int, n_workers: int, replay: bool,
         stages: str | None = None) -> dict[str, Any]:
    run = Run(bootstrap, tmp, name)
    if stages:
        run.env["SCRM_STAGES"] = stages
    c = run.load(events, tag=name)
    workers = Workers(run.env, run.tmp, n_workers)
    workers.trend_every = max(c.raw // 10, 1)
    rss: list[float] = []
    timeout_s = max(3600.0, c.raw / 50)  # the 1M-event run takes about an hour at 300 events/s
    workers.start()
    try:
        def all_rows(times: int) -> Callable[[dict[str, dict[str, int]]], bool]:
            return lambda t: (_written(t, "messages") >= times * c.messages
                              and _written(t, "statuses") >= times * c.statuses)
        try:
            first, last, t = _wait(workers, all_rows(1), timeout_s, rss, f"{name} backlog")
        except Stalled as exc:  # reported, not hidden: the figure would be meaningless
            return {"stalled": str(exc), "messages_expected": c.messages, "statuses_expected": c.statuses,
                    "messages_written": _written(exc.totals, "messages"),
                    "statuses_written": _written(exc.totals, "statuses")}
        assert first is not None
        cpu_first, broker_cpu_first = workers.cpu_at_first, workers.broker_cpu_at_first  # the next waits set them again
        cpu = workers.cpu_s() - cpu_first  # from the first record taken (start-up excluded)
        out: dict[str, Any] = {
            "raw_events": c.raw, "elapsed_s": round(last - first, 2), "events_per_s": round(c.raw / (last - first)),
            "cpu_us_per_event": round(cpu / c.raw * 1e6), "rss_mb_peak": round(max(rss)),
            "rss_mb_end": round(sum(workers.rss_mb())), "rss_mb_trend": workers.trend,
            "deduplicated": t.get("normalize", {}).get("messages_deduplicated", 0),
        }

        def all_signals(t: dict[str, dict[str, int]]) -> bool:  # the automation stage, off the rows' path
            a = t.get("automation", {})
            return a.get("processed", 0) - a.get("ticks", 0) >= c.messages + c.statuses
        try:
            if not stages:  # with a subset of stages, the rows are the end
                _, all_done, _ = _wait(workers, all_signals, timeout_s, rss, f"{name} automation")
                out["all_stages_s"] = round(all_done - first, 2)
                out["events_per_s_all_stages"] = round(c.raw / (all_done - first))
            every_done, behind_at = asyncio.run(caught_up(bootstrap, run.env["SCRM_APP_ID"], name,
                                               STATE_OUTPUTS + (() if stages else OFF_PATH_INPUTS),
                                               timeout_s, workers))
            cpu = workers.cpu_s() - cpu_first
            out["every_stage_s"] = round(every_done - first, 2)
            out["events_per_s_every_stage"] = round(c.raw / (every_done - first))
            out["cpu_us_per_event_every_stage"] = round(cpu / c.raw * 1e6)
            # the input topics still behind after the rows were written, and until when (s after the first record)
            out["inputs_behind_until_s"] = {t.removeprefix(f"{name}."): round(at - first, 2) for t, at in
                                            sorted(behind_at.items(), key=lambda kv: -kv[1])}
            # cores busy over that span: the workers (all their threads) and the broker beside them
            out["cores_every_stage"] = {"workers": round(cpu / (every_done - first), 2),
                                        "broker": round((broker_cpu_s() - broker_cpu_first) / (every_done - first), 2)}
        except Stalled as exc:
            out["all_stages_stalled"] = str(exc)
        # what one raw webhook became once every stage had consumed its input (a replay below
        # would count twice)
        by_topic = asyncio.run(records_by_topic(bootstrap, (f"{name}.", f"bench-{name}-")))
        raw_records = by_topic.pop(run.raw, 0) or 1
        out["records_per_raw"] = round(sum(by_topic.values()) / raw_records, 2)
        out["records_per_raw_by_topic"] = {t: round(n / raw_records, 2) for t, n in
                                           sorted(by_topic.items(), key=lambda kv: -kv[1]) if n}
        out["seeks_back"] = workers.seeks_back()
        if replay:
            before = time.perf_counter()
            subprocess.run([SCRM, "replay", "--from", str(T0 * 1000), "--wait", "0", "--no-side-effects"],
                           env={**run.env, "SCRM_WEB_PORT": str(workers.ports[0])}, check=True, capture_output=True)
            produced = time.perf_counter()
            _, done, _ = _wait(workers, all_rows(2), timeout_s, rss, f"{name} replay")
            out["replay"] = {"events": c.raw, "produce_s": round(produced - before, 2),
                             "catch_up_s": round(done - before, 2), "events_per_s": round(c.raw / (done - before)),
                             "rss_mb_end": round(sum(workers.rss_mb()))}
        return out
    finally:
        workers.stop()


def _paced(bootstrap: str, workers: Workers, run: Run, tag: str, rate: float, seconds: float,
           written: int) -> tuple[Counts, dict[str, Any]]:
    """Produce ``rate * seconds`` live raw records at ``rate`` and wait until their message and
    status rows are written (``written``: rows the worker had written before)."""
    paced = count(int(rate * seconds), tag=tag)
    started = time.perf_counter()
    achieved = asyncio.run(_produce(bootstrap, run.raw, records(paced.raw, tag=tag, codec=raw_codec(), live=True),
                                    rate))
    ended = time.perf_counter()
    _, done, _ = _wait(workers, lambda t: _rows(t) >= written + paced.messages + paced.statuses, 1800, what=tag)
    return paced, {"rate": rate, "achieved_rate": round(achieved), "drain_after_last_s": round(done - ended, 2),
                   # raw records taken per second from the first produced to the last row written: at a
                   # rate the worker cannot keep up with, what it does on live traffic
                   "rows_done_per_s": round(paced.raw / (done - started))}


def _rows(t: dict[str, dict[str, int]]) -> int:
    return _written(t, "messages") + _written(t, "statuses")


def _warm(bootstrap: str, workers: Workers, run: Run, name: str) -> int:
    """Start the worker on 400 live records; the rows it has written once they are done."""
    warm = count(400, tag=f"{name}w")
    asyncio.run(_produce(bootstrap, run.raw, records(400, tag=f"{name}w", codec=raw_codec(), live=True)))
    _wait(workers, lambda t: _rows(t) >= warm.messages + warm.statuses, 300, what=f"{name} warm-up")
    return warm.messages + warm.statuses


def latency(bootstrap: str, tmp: Path, name: str, rate: float, seconds: float) -> dict[str, Any]:
    run = Run(bootstrap, tmp, name)
    workers = Workers(run.env, run.tmp, 1)
    workers.start()
    try:
        written = _warm(bootstrap, workers, run, name)
        paced, out = _paced(bootstrap, workers, run, f"{name}p", rate, seconds, written)
    finally:
        workers.stop()
    backend = workers.clickhouse(0)
    try:
        rows = backend.query(
            "SELECT count(), quantileExact(0.5)(ms), quantileExact(0.99)(ms), max(ms) FROM ("
            " SELECT dateDiff('millisecond', received_at, min(inserted_at)) AS ms FROM scrm.messages"
            f" WHERE wamid LIKE 'wamid.{name}p.%' OR wamid LIKE 'inbox.{name}p.%' GROUP BY wamid, received_at)").rows[0]
    finally:
        backend.close()
    assert int(rows[0]) == paced.messages, (rows, paced.messages)
    return {**out, "messages": int(rows[0]), "p50_ms": int(rows[1]), "p99_ms": int(rows[2]), "max_ms": int(rows[3])}


# A paced run kept up when its last rows were written within this long after its last record was
# produced: the rows' own floor is the batch windows on their way (about 1.3 s at 150/s), so
# anything well above it is a queue.
KEPT_UP_S = 3.0


def live_max(bootstrap: str, tmp: Path, name: str, start: float, seconds: float, tries: int = 5) -> dict[str, Any]:
    """The highest rate one worker keeps up with on live traffic, searched downwards from ``start``
    (each probe 15 % below the last) on one warm worker; within 15 % under the true maximum.

    Live traffic costs more per event than a backlog (smaller fetches, sink batches and automation
    units), so the backlog's throughput overstates it: 80 % of it was a queue (bench/RESULTS.md)."""
    run = Run(bootstrap, tmp, name)
    workers = Workers(run.env, run.tmp, 1)
    workers.start()
    probes: list[dict[str, Any]] = []
    try:
        written = _warm(bootstrap, workers, run, name)
        rate = start
        for i in range(tries):
            paced, probe = _paced(bootstrap, workers, run, f"{name}q{i}", rate, seconds, written)
            written += paced.messages + paced.statuses
            probes.append({**probe, "kept_up": probe["drain_after_last_s"] <= KEPT_UP_S})
            if probes[-1]["kept_up"]:
                return {"rate": rate, "probes": probes}
            rate = round(rate * 0.85)
    finally:
        workers.stop()
    return {"rate": None, "probes": probes}


def contender(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", *args], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def ceiling(kind: str, bootstrap: str, topic: str, group: str, events: int) -> dict[str, Any]:
    r = contender(["bench.e2e_ceiling", kind, bootstrap, topic, group, str(events)])
    return {"events_per_s": round(r["events"] / r["elapsed_s"]), "cpu_us_per_event": round(r["cpu_s"] / events * 1e6),
            "rss_mb": round(r["rss_mb"])}


def quix(bootstrap: str, topic: str, group: str, c: Counts, tmp: Path) -> dict[str, Any]:
    work = tmp / group
    work.mkdir()
    r = contender(["bench.e2e_quix", bootstrap, topic, group, str(c.messages + c.statuses), str(work)])
    assert r["messages_in_clickhouse"] == c.messages, r
    return {"events_per_s": round(c.raw / r["elapsed_s"]), "cpu_us_per_event": round(r["cpu_s"] / c.raw * 1e6),
            "rss_mb": round(r["rss_mb"])}


# ---------------------------------------------------------------- one repeat, medians, ratios

def repeat(bootstrap: str, tmp: Path, r: int, events: int, only: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "ours1" in only:
        out["ours1"] = ours(bootstrap, tmp, f"r{r}one", events, 1, replay="replay" in only)
    if "ours2" in only:
        out["ours2"] = ours(bootstrap, tmp, f"r{r}two", events, 2, replay=False)
    if "peerjob" in only:
        out["peerjob"] = ours(bootstrap, tmp, f"r{r}job", events, 1, replay=False, stages=PEER_JOB_STAGES)
    if only & {"aiokafka", "confluent", "quix"}:  # one backlog the contenders share
        shared = Run(bootstrap, tmp, f"r{r}peer")
        c = shared.load(events, tag=f"r{r}peer")
        for kind in ("aiokafka", "confluent"):
            if kind in only:
                out[kind] = ceiling(kind, bootstrap, shared.raw, f"r{r}{kind}", c.raw)
        if "quix" in only:
            out["quix"] = quix(bootstrap, shared.raw, f"r{r}quix", c, tmp)
    if "latency" in only:
        seconds = float(os.environ.get("BENCH_E2E_LATENCY_S", 20))
        out["latency"] = {"at_1000": latency(bootstrap, tmp, f"r{r}lat", 1000, seconds)}
        # 80 % of the live maximum, searched from 90 % of what the worker drained at 1,000/s (a
        # queue there, so its throughput on live traffic with full fetches: an upper bound)
        drained = out["latency"]["at_1000"]["rows_done_per_s"]
        found = live_max(bootstrap, tmp, f"r{r}max", round(0.9 * min(drained, 1000)), 15)
        out["latency"]["live_max"] = found
        if found["rate"]:
            out["latency"]["at_80pct"] = latency(bootstrap, tmp, f"r{r}l80", round(0.8 * found["rate"]), seconds)
        for i, rate in enumerate(latency_rates()):
            out["latency"][f"at_{rate:g}"] = latency(bootstrap, tmp, f"r{r}lr{i}", rate, seconds)
    return out


def latency_rates() -> list[float]:
    raw = os.environ.get("BENCH_E2E_LATENCY_RATES", "")
    try:
        rates = [float(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        sys.exit(f"BENCH_E2E_LATENCY_RATES: expected events/s as a comma list (e.g. 50,100,150), got {raw!r}")
    if any(r <= 0 for r in rates):
        sys.exit(f"BENCH_E2E_LATENCY_RATES: rates must be above 0, got {raw!r}")
    return rates


def _median(runs: list[dict[str, Any]], *path: str) -> float | None:
    values = []
    for run in runs:
        v: Any = run
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        if isinstance(v, int | float):
            values.append(v)
    return statistics.median(values) if values else None


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    m = {name: _median(runs, *path) for name, path in {
        "ours1_events_per_s": ("ours1", "events_per_s"), "ours2_events_per_s": ("ours2", "events_per_s"),
        "ours1_events_per_s_all_stages": ("ours1", "events_per_s_all_stages"),
        "ours2_events_per_s_all_stages": ("ours2", "events_per_s_all_stages"),
        "ours1_events_per_s_every_stage": ("ours1", "events_per_s_every_stage"),
        "ours2_events_per_s_every_stage": ("ours2", "events_per_s_every_stage"),
        "ours1_cpu_us_per_event_every_stage": ("ours1", "cpu_us_per_event_every_stage"),
        "ours2_cpu_us_per_event_every_stage": ("ours2", "cpu_us_per_event_every_stage"),
        "ours1_cpu_us_per_event": ("ours1", "cpu_us_per_event"),
        "ours2_cpu_us_per_event": ("ours2", "cpu_us_per_event"),
        "ours1_rss_mb_end": ("ours1", "rss_mb_end"),
        "peerjob_events_per_s": ("peerjob", "events_per_s"),
        "peerjob_cpu_us_per_event": ("peerjob", "cpu_us_per_event"),
        "peerjob_events_per_s_every_stage": ("peerjob", "events_per_s_every_stage"),
        "peerjob_cpu_us_per_event_every_stage": ("peerjob", "cpu_us_per_event_every_stage"),
        "replay_events_per_s": ("ours1", "replay", "events_per_s"),
        "aiokafka_events_per_s": ("aiokafka", "events_per_s"), "confluent_events_per_s": ("confluent", "events_per_s"),
        "quix_events_per_s": ("quix", "events_per_s"), "quix_cpu_us_per_event": ("quix", "cpu_us_per_event"),
        "latency_1000_p50_ms": ("latency", "at_1000", "p50_ms"),
        "latency_1000_p99_ms": ("latency", "at_1000", "p99_ms"),
        "latency_1000_rows_done_per_s": ("latency", "at_1000", "rows_done_per_s"),
        "live_max_rate": ("latency", "live_max", "rate"),
        "latency_80pct_rate": ("latency", "at_80pct", "rate"),
        "latency_80pct_p50_ms": ("latency", "at_80pct", "p50_ms"),
        "latency_80pct_p99_ms": ("latency", "at_80pct", "p99_ms"),
    }.items()}
    for rate in latency_rates():
        for q in ("p50_ms", "p99_ms"):
            m[f"latency_{rate:g}_{q}"] = _median(runs, "latency", f"at_{rate:g}", q)

    def ratio(a: str, b: str) -> float | None:
        return round(m[a] / m[b], 3) if m.get(a) and m.get(b) else None
    m["ratio_ours_to_aiokafka"] = ratio("ours1_events_per_s", "aiokafka_events_per_s")
    m["ratio_ours_to_confluent"] = ratio("ours1_events_per_s", "confluent_events_per_s")
    m["ratio_ours_to_quix"] = ratio("ours1_events_per_s", "quix_events_per_s")
    m["ratio_peerjob_to_quix"] = ratio("peerjob_events_per_s", "quix_events_per_s")
    m["ratio_peerjob_to_aiokafka"] = ratio("peerjob_events_per_s", "aiokafka_events_per_s")
    m["scaling_2_workers"] = ratio("ours2_events_per_s", "ours1_events_per_s")
    # the same ratios with every stage done (the rows figures above leave the state stages' tables,
    # automation, CRM writes, sends and identity partly behind)
    m["ratio_ours_every_stage_to_aiokafka"] = ratio("ours1_events_per_s_every_stage", "aiokafka_events_per_s")
    m["ratio_ours_every_stage_to_quix"] = ratio("ours1_events_per_s_every_stage", "quix_events_per_s")
    m["ratio_peerjob_every_stage_to_quix"] = ratio("peerjob_events_per_s_every_stage", "quix_events_per_s")
    m["scaling_2_workers_every_stage"] = ratio("ours2_events_per_s_every_stage", "ours1_events_per_s_every_stage")
    return m


def run() -> dict[str, Any]:
    events, repeats = _env_int("BENCH_E2E_EVENTS", 20_000), _env_int("BENCH_E2E_REPEATS", 3)
    only = set(os.environ.get("BENCH_E2E_ONLY", ",".join(PARTS)).split(","))
    unknown = only - set(PARTS)
    if unknown:
        sys.exit(f"BENCH_E2E_ONLY: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    latency_rates()  # a bad value fails here, not after the first repeat
    runs = []
    with local_broker() as bootstrap, tempfile.TemporaryDirectory(prefix="scrm-bench-e2e-") as tmp:
        for r in range(repeats):
            runs.append(repeat(bootstrap, Path(tmp), r, events, only))
            print(json.dumps({"repeat": r, **runs[-1]}), file=sys.stderr)
    return {"events": events, "repeats": repeats, "raw_partition_shares": partition_shares(events),
            "median": summary(runs), "runs": runs}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
