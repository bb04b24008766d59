"""Produces receiver records to Kafka and returns only once the broker acknowledged them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams.errors import PublishError


class Encodes(Protocol):
    name: str

    def encode(self, value: dict[str, Any]) -> bytes: ...


class Publisher:
    """acks=all + idempotent producer; ``publish`` raises ``PublishError`` when Kafka did not
    acknowledge in time, so the receiver answers 503 and the sender retries."""

    def __init__(self, bootstrap: str, topics: Mapping[str, Encodes], *, timeout_s: float) -> None:
        self.topics = topics
        self.timeout_s = timeout_s
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                         request_timeout_ms=int(timeout_s * 1000), linger_ms=0)

    async def start(self) -> None:
        try:
            await self.producer.start()
        except KafkaError as exc:
            await self.producer.stop()
            raise PublishError(f"cannot reach Kafka ({type(exc).__name__})") from exc

    async def stop(self) -> None:
        await self.producer.stop()

    async def publish(self, suffix: str, key: bytes | None, record: dict[str, Any]) -> None:
        bound = self.topics[suffix]
        try:
            await asyncio.wait_for(self.producer.send_and_wait(bound.name, bound.encode(record), key=key),
                                   self.timeout_s)
        except (KafkaError, TimeoutError) as exc:
            raise PublishError(f"Kafka did not acknowledge {bound.name} ({type(exc).__name__})") from exc
