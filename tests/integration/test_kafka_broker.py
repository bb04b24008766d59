"""The local broker script and the Avro codec against a real Kafka broker."""

import asyncio
import socket

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.catalog import load_catalog
from streams.codec import SingleObjectFraming
from tests.conftest import free_port

pytestmark = pytest.mark.kafka
CATALOG = load_catalog()


async def test_avro_envelopes_round_trip_through_the_broker(kafka_bootstrap, unique):
    topic = f"it.raw.{unique}"
    framing = SingleObjectFraming(CATALOG)
    sent = [{"source": "whatsapp", "received_at_ms": 1795136000000 + i, "headers": {"content-type": "application/json"},
             "body": f'{{"n": {i}, "text": "多少錢"}}'.encode(), "body_sha256": f"h{i}", "signature_verified": False,
             "request_id": f"r{i}"} for i in range(50)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for value in sent:
            await producer.send_and_wait(topic, framing.encode("WebhookEnvelope", topic, value), key=b"PN1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                                group_id=f"it-{unique}", enable_auto_commit=False)
    await consumer.start()
    try:
        got = []
        while len(got) < len(sent):
            batch = await consumer.getmany(timeout_ms=5000)
            assert batch, "no records came back from the broker"
            got += [framing.decode("WebhookEnvelope", topic, r.value) for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    assert [g["body"] for g in got] == [s["body"] for s in sent]
    assert {g["received_at_ms"].tzinfo is not None for g in got} == {True}  # timestamp-millis -> aware datetime


def test_start_reuses_a_running_broker_and_refuses_a_taken_port(kafka_module, tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        with pytest.raises(kafka_module.BrokerError, match=f"port {taken} .* already in use"):
            kafka_module.start(kafka_module.BrokerConfig(tmp_path / "a", taken, free_port()))

    cfg = kafka_module.BrokerConfig(tmp_path / "b", free_port(), free_port(), heap="512m")
    first = kafka_module.start(cfg)
    try:
        again = kafka_module.start(cfg)
        assert again["reused"] is True and again["pid"] == first["pid"]
        assert kafka_module.status(cfg.run_dir)["ready"] is True
    finally:
        assert kafka_module.stop(cfg.run_dir)["stopped"] is True
    assert kafka_module.status(cfg.run_dir)["running"] is False
    assert kafka_module.stop(cfg.run_dir)["stopped"] is False  # idempotent


def test_missing_java_is_explained(kafka_module, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(kafka_module.BrokerError, match=r"'java' was not found .* apt-get install"):
        kafka_module.start(kafka_module.BrokerConfig(tmp_path / "c", free_port(), free_port()))


async def test_a_flush_sends_lingering_batches_at_once(kafka_bootstrap, unique):
    """``streams.producer_flush``: with a linger (``SCRM_PRODUCER_LINGER_MS``) a flush does not wait
    for it to pass: the open batches are sent at once, so every record sent before it is acknowledged.
    The linger here is ten minutes and the hang guard one; aiokafka's own flush would wait the ten."""
    from streams import producer_flush

    producer_flush.install()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=600_000)
    await producer.start()
    try:
        sent = [await producer.send(f"it.linger.{unique}", f"v{i}".encode(), key=b"k") for i in range(20)]
        await asyncio.wait_for(producer.flush(), timeout=60)
        assert all(f.done() and not f.exception() for f in sent)
        later = await producer.send(f"it.linger.{unique}", b"after", key=b"k")  # a new batch after the flush
        await asyncio.wait_for(producer.flush(), timeout=60)
        assert later.done() and (await later).offset == 20
    finally:
        await producer.stop()
