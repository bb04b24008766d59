"""The ceiling: the least a Python stream job can do per event on this broker -- consume a raw
record, decode its Avro, encode it again and produce it (acks=all, idempotent), no domain work --
with aiokafka (the client under Faust) and with confluent-kafka (librdkafka, under Quix Streams).

    python -m bench.e2e_ceiling aiokafka|confluent BOOTSTRAP TOPIC GROUP EVENTS   (prints one JSON line)
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

from bench.e2e_data import raw_codec
from bench.procs import own_cpu_s


def _result(n: int, first: float, cpu0: float) -> dict[str, float]:
    return {"events": n, "elapsed_s": time.perf_counter() - first, "cpu_s": own_cpu_s() - cpu0,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


async def with_aiokafka(bootstrap: str, topic: str, group: str, events: int) -> dict[str, float]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    codec = raw_codec()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()
    n, first, cpu0 = 0, 0.0, 0.0
    try:
        while n < events:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            for records in batches.values():
                for m in records:
                    if n == 0:
                        first, cpu0 = time.perf_counter(), own_cpu_s()
                    await producer.send(f"{topic}.ceiling", codec.dumps(codec.loads(m.value)), key=m.key)
                    n += 1
        await producer.flush()
        return _result(n, first, cpu0)
    finally:
        await producer.stop()
        await consumer.stop()


def with_confluent(bootstrap: str, topic: str, group: str, events: int) -> dict[str, float]:
    from confluent_kafka import Consumer, Producer

    codec = raw_codec()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5})
    consumer.subscribe([topic])
    n, first, cpu0 = 0, 0.0, 0.0
    try:
        while n < events:
            for m in consumer.consume(num_messages=2000, timeout=1.0):
                if m.error():
                    continue
                if n == 0:
                    first, cpu0 = time.perf_counter(), own_cpu_s()
                value = codec.dumps(codec.loads(m.value()))
                while True:
                    try:
                        producer.produce(f"{topic}.ceiling", value, key=m.key())
                        break
                    except BufferError:  # local queue full: let librdkafka deliver
                        producer.poll(0.05)
                n += 1
            producer.poll(0)
        producer.flush(60)
        return _result(n, first, cpu0)
    finally:
        consumer.close()


def main(kind: str, bootstrap: str, topic: str, group: str, events: int) -> None:
    if kind == "aiokafka":
        result = asyncio.run(with_aiokafka(bootstrap, topic, group, events))
    else:
        result = with_confluent(bootstrap, topic, group, events)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
