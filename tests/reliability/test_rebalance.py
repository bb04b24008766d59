"""Rebalances between live workers lose nothing (``streams.offset_safety``).

Two ``scrm worker`` processes started together on a backlog lost 392 messages (bench e2e,
``ours2``): records Faust dropped during a rebalance's recovery were never read again in a fresh
group (no committed offset to seek back to), and the event an agent was cancelled in at shutdown
was acknowledged and committed. Here workers of a minimal Faust app with the same guards and
settings (``tests/reliability/rebalance_app.py``: one slow agent with a table, holding its first
event for 4 s so nothing is committed early) drain a fresh group's 8,000-record backlog while
others join and leave; once every offset is committed, every record must have been processed by
some worker. Without the guards about 1 run in 3 lost records."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.timeout(600)

PARTITIONS, RECORDS = 4, 8000


async def _backlog(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for i in range(RECORDS):
            await producer.send(topic, f"record-{i}".encode(), key=str(i).encode(), partition=i % PARTITIONS)
        await producer.flush()
    finally:
        await producer.stop()


async def _committed(bootstrap: str, topic: str, group: str) -> tuple[dict[int, int], dict[int, int]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(tps)
        committed = {tp.partition: (await consumer.committed(tp)) or 0 for tp in tps}
        return committed, {tp.partition: ends[tp] for tp in tps}
    finally:
        await consumer.stop()


class Workers:
    def __init__(self, bootstrap: str, topic: str, group: str, workdir: Path) -> None:
        self.workdir, self.procs = workdir, []
        self.env = {**os.environ, "REBALANCE_BROKER": bootstrap, "REBALANCE_TOPIC": topic,
                    "REBALANCE_GROUP": group, "PYTHONPATH": str(ROOT),
                    "REBALANCE_FIRST_HOLD": "4"}

    def start(self) -> subprocess.Popen:
        n = len(self.procs)
        env = {**self.env, "REBALANCE_LOG": str(self.workdir / f"processed-{n}.log"),
               "REBALANCE_DATADIR": str(self.workdir / f"data-{n}")}
        log = open(self.workdir / f"worker-{n}.log", "ab")  # noqa: SIM115 - lives as long as the worker
        proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.rebalance_app", "worker", "-l", "warn",
                                 "--web-port", str(free_port())], env=env, cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def processed(self) -> list[tuple[int, int]]:
        out = []
        for path in self.workdir.glob("processed-*.log"):
            for line in path.read_text().splitlines():
                partition, offset = line.split()
                out.append((int(partition), int(offset)))
        return out

    def wait_processed(self, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.processed()) < n:
            assert time.monotonic() < deadline, f"workers processed {len(self.processed())} of {n} in {timeout}s"
            for proc in self.procs:
                assert proc.poll() in (None, 0), self.tail()
            time.sleep(0.1)

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.workdir.glob("worker-*.log")))


def test_workers_joining_and_leaving_a_fresh_group_lose_no_record(kafka_bootstrap, tmp_path):
    topic = group = f"rebalance-{uuid.uuid4().hex[:10]}"
    asyncio.run(_backlog(kafka_bootstrap, topic))
    workers = Workers(kafka_bootstrap, topic, group, tmp_path)
    try:
        first = workers.start()  # two workers joining a fresh group together
        second = workers.start()
        workers.wait_processed(200)
        workers.stop(second)  # leaving while an event is in flight: everything back to the first
        second = workers.start()  # joining again: the partitions split, some stay with the first
        workers.wait_processed(RECORDS // 3)
        workers.stop(second)
        workers.wait_processed(RECORDS // 2)
        workers.start()
        deadline = time.monotonic() + 240
        while True:  # done when every offset is committed (what a lost record would be hidden behind)
            committed, ends = asyncio.run(_committed(kafka_bootstrap, topic, group))
            if committed == ends:
                break
            assert time.monotonic() < deadline, f"offsets not all committed: {committed} of {ends}\n{workers.tail()}"
            time.sleep(1)
        assert first.poll() is None, workers.tail()
    finally:
        for proc in workers.procs:
            workers.stop(proc)
    seen = set(workers.processed())
    expected = {(i % PARTITIONS, i // PARTITIONS) for i in range(RECORDS)}
    lost = sorted(expected - seen)
    assert not lost, f"{len(lost)} committed but never processed, e.g. {lost[:10]}\n{workers.tail()}"
    again = len(workers.processed()) - RECORDS
    print(f"\n{RECORDS} records, {len(workers.procs)} workers joined, 2 left: 0 lost, {again} processed again")


def test_a_record_read_past_but_never_processed_is_read_again_and_commits_move_on(kafka_bootstrap, tmp_path):
    """A commit held back at a lost record would stall the partition until a restart; the worker reads
    again from that record instead (``offset_safety._rewind_to_lost_records``)."""
    topic = group = f"rewind-{uuid.uuid4().hex[:10]}"
    asyncio.run(_backlog(kafka_bootstrap, topic))
    workers = Workers(kafka_bootstrap, topic, group, tmp_path)
    workers.env.update(REBALANCE_FIRST_HOLD="0", REBALANCE_LOSE="1:300")
    try:
        worker = workers.start()
        deadline = time.monotonic() + 180  # a hang guard: a stalled partition never gets there
        while True:
            committed, ends = asyncio.run(_committed(kafka_bootstrap, topic, group))
            if committed == ends:
                break
            assert time.monotonic() < deadline, f"offsets not all committed: {committed} of {ends}\n{workers.tail()}"
            assert worker.poll() is None, workers.tail()
            time.sleep(1)
    finally:
        workers.stop(worker)
    processed = workers.processed()
    assert processed.count((1, 300)) >= 2, "the lost record was not read again"
    assert set(processed) == {(i % PARTITIONS, i // PARTITIONS) for i in range(RECORDS)}
    assert "offset 300 was read past but never processed; reading again from it" in workers.tail()
