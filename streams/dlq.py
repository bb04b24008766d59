"""Dead letters: the original bytes, where they came from, which stage failed and why.

The worker stops (exit 71) when a stage dead-letters too much of a partition (``DlqGuard``): a
broken deploy or upstream should page someone, not quietly move the stream into the DLQ."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from processors.dlq_limit import DlqGuard
from streams.codec import AvroCodec
from streams.stats import Stats

logger = logging.getLogger(__name__)
EXIT_DLQ_LIMIT = 71


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
    """Sends dead letters to the DLQ topic (keyed by the original key), within the DLQ limit."""

    def __init__(self, topic: Any, codec: AvroCodec, guard: DlqGuard | None = None, stats: Stats | None = None) -> None:
        self.topic = topic
        self.codec = codec
        self.guard = guard
        self.stats = stats

    async def send(self, record: dict[str, Any]) -> None:
        logger.warning("dead-lettered input from %s[%s]@%s at stage %s: %s",
                       record["topic"], record["partition"], record["offset"], record["stage"],
                       record["error_class"])
        sent = await self.topic.send(key=record["original_key"], value=record, value_serializer=self.codec)
        exceeded = self.guard and self.guard.observe(record["stage"], record["topic"], record["partition"],
                                                     record["offset"])
        if exceeded:
            await sent  # the letter is in the DLQ; its input is not acked, so a restart reads it again
            logger.critical("DLQ limit: %s, last error %s. Stopping the worker (exit %d) instead of dead-lettering "
                            "the stream. See `scrm dlq list --stage %s`, fix the cause, then restart; if this volume "
                            "is expected, raise SCRM_DLQ_MAX_CONSECUTIVE / SCRM_DLQ_MAX_RATIO (0 turns a limit off).",
                            exceeded, record["error_class"], EXIT_DLQ_LIMIT, record["stage"])
            logging.shutdown()
            os._exit(EXIT_DLQ_LIMIT)

    async def send_event(self, event: Any, *, stage: str, exc: BaseException, now_ms: int) -> None:
        msg = event.message
        await self.send(dead_letter(key=msg.key, value=msg.value, topic=msg.topic, partition=msg.partition,
                                    offset=msg.offset, stage=stage, exc=exc, now_ms=now_ms))

    async def reject(self, event: Any, stage: str, exc: BaseException) -> None:
        """A stage could not process ``event``: dead-letter it and count it (``<stage> dead_lettered``)."""
        await self.send_event(event, stage=stage, exc=exc, now_ms=int(time.time() * 1000))
        if self.stats is not None:
            self.stats.add(stage, "dead_lettered")
