"""Kafka clients for commands: one way to build a producer and one message when Kafka is away."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

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
