"""Dead letters: the original bytes, where they came from, which stage failed and why."""

from __future__ import annotations

import logging
from typing import Any

from streams.codec import AvroCodec

logger = logging.getLogger(__name__)


def dead_letter(*, key: bytes | None, value: bytes, topic: str, partition: int, offset: int, stage: str,
                exc: BaseException, now_ms: int, attempts: int = 1) -> dict[str, Any]:
    return {
        "original_key": key,
        "original_value": value,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "stage": stage,
        "error_class": type(exc).__name__,
        "error_message": str(exc)[:2000],
        "attempts": attempts,
        "first_failure_ms": now_ms,
        "last_failure_ms": now_ms,
    }


class DeadLetters:
    """Sends dead letters to the DLQ topic (keyed by the original key)."""

    def __init__(self, topic: Any, codec: AvroCodec) -> None:
        self.topic = topic
        self.codec = codec

    async def send(self, record: dict[str, Any]) -> None:
        logger.warning("dead-lettered input from %s[%s]@%s at stage %s: %s",
                       record["topic"], record["partition"], record["offset"], record["stage"],
                       record["error_class"])
        await self.topic.send(key=record["original_key"], value=record, value_serializer=self.codec)

    async def send_event(self, event: Any, *, stage: str, exc: BaseException, now_ms: int) -> None:
        msg = event.message
        await self.send(dead_letter(key=msg.key, value=msg.value, topic=msg.topic, partition=msg.partition,
                                    offset=msg.offset, stage=stage, exc=exc, now_ms=now_ms))
