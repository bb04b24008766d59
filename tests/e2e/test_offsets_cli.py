"""``scrm offsets``: lag per partition, and reset to a time / the earliest / the latest record,
refused while the group has a live member, against the real broker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.e2e.conftest import SCRM

T0 = 1_795_136_000_000


def run(bootstrap: str, workdir, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCRM_KAFKA_BOOTSTRAP": bootstrap, "SCRM_DATA_DIR": str(workdir / "faust")}
    return subprocess.run([SCRM, "offsets", *args], env=env, cwd=workdir, capture_output=True, text=True,
                          timeout=120)


async def prepare(bootstrap: str, topic: str, group: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    for i in range(10):  # one record per minute of event time
        await producer.send_and_wait(topic, f"r{i}".encode(), partition=0, timestamp_ms=T0 + i * 60_000)
    await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    await consumer.commit({TopicPartition(topic, 0): 10})
    await consumer.stop()


async def live_member(bootstrap: str, topic: str, group: str, during) -> None:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=3000)  # joined and assigned
        await asyncio.to_thread(during)
    finally:
        await consumer.stop()


def test_offsets_show_and_reset_refusing_live_members(kafka_bootstrap, tmp_path):
    topic, group = f"offsets-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    asyncio.run(prepare(kafka_bootstrap, topic, group))

    shown = run(kafka_bootstrap, tmp_path, "--group", group, "--topic", topic)
    assert shown.returncode == 0 and "total lag 0" in shown.stdout, shown.stderr

    refused: list[subprocess.CompletedProcess] = []
    asyncio.run(live_member(kafka_bootstrap, topic, group,
                            lambda: refused.append(run(kafka_bootstrap, tmp_path, "reset", "--group", group,
                                                       "--topic", topic, "--to-earliest"))))
    assert refused[0].returncode == 2 and "live member" in refused[0].stderr and "Traceback" not in refused[0].stderr

    at = run(kafka_bootstrap, tmp_path, "reset", "--group", group, "--topic", topic,
             "--to-datetime", "2026-11-20T00:57:00Z")  # T0 + 3m40s: the first record at or after is r4
    assert at.returncode == 0, at.stderr
    assert "total lag 6" in run(kafka_bootstrap, tmp_path, "--group", group, "--topic", topic).stdout
    assert run(kafka_bootstrap, tmp_path, "reset", "--group", group, "--topic", topic, "--to-earliest").returncode == 0
    assert "total lag 10" in run(kafka_bootstrap, tmp_path, "--group", group, "--topic", topic).stdout
    assert run(kafka_bootstrap, tmp_path, "reset", "--group", group, "--topic", topic, "--to-latest").returncode == 0
    assert "total lag 0" in run(kafka_bootstrap, tmp_path, "--group", group, "--topic", topic).stdout

    neither = run(kafka_bootstrap, tmp_path, "reset", "--group", group, "--topic", topic)
    assert neither.returncode == 2 and "exactly one of" in neither.stderr
    bad_time = run(kafka_bootstrap, tmp_path, "reset", "--group", group, "--topic", topic, "--to-datetime", "noon")
    assert bad_time.returncode == 2 and "ISO-8601" in bad_time.stderr
