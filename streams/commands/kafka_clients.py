"""Kafka clients for commands: one way to build a producer and one message when Kafka is away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from streams.app import settings
from streams.commands.errors import fail
from streams.kafka_admin import unreachable


def producer() -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True,
                            request_timeout_ms=15000)


def consumer() -> AIOKafkaConsumer:
    """A consumer without a group (it assigns partitions itself and commits nothing)."""
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                            request_timeout_ms=15000)


async def start(command: str, client: Any, note: str = "") -> None:
    """Start ``client``, or end ``command`` with exit 1 and what to do when Kafka cannot be reached."""
    try:
        await client.start()
    except KafkaError as exc:
        fail(command, f"{unreachable(settings, exc)}{note}", 1)


async def read_to_end(consumer: AIOKafkaConsumer, topic: str,
                      partitions: int) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` (with ``partitions``, as in the catalog) from the oldest kept to
    the end as of now, in offset order per partition (``consumer`` started, without a group).
    Stays assigned: read on after it."""
    parts = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(parts)
    await consumer.seek_to_beginning(*parts)
    end = await consumer.end_offsets(parts)
    while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
        for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
            for msg in batch:
                if msg.offset < end[tp]:
                    yield msg
