"""Faust topic objects for every catalog entry, with their Avro codecs.

Topics carry raw bytes through Faust; agents decode with the codec themselves so that undecodable
records reach the dead-letter topic with their original bytes instead of crashing the stream."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import faust

from streams.catalog import Catalog, TopicSpec
from streams.codec import AvroCodec, Framing
from streams.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoundTopic:
    spec: TopicSpec
    name: str
    topic: Any  # faust.TopicT
    codec: AvroCodec

    def decode(self, data: bytes) -> dict[str, Any]:
        result: dict[str, Any] = self.codec.loads(data)
        return result

    def encode(self, value: dict[str, Any]) -> bytes:
        return self.codec.dumps(value)

    async def send(self, key: str | bytes | None, value: dict[str, Any],
                   headers: list[tuple[str, bytes]] | None = None) -> Any:
        """Encode ``value`` and hand the record to the producer; returns the send's future
        (``RecordMetadata``)."""
        return await self._produce(key.encode() if isinstance(key, str) else key, self.encode(value), headers)

    async def tombstone(self, key: str) -> Any:
        """A null value for ``key``: a compacted topic forgets the key (sinks skip tombstones)."""
        return await self._produce(key.encode(), None, None)

    async def _produce(self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]] | None) -> Any:
        """Straight to the producer, as Faust's ``Topic.send`` ends up doing: its wrapping (a
        FutureMessage, a PendingMessage and sensor calls per record) was about a third of a send's
        cost. A failed send is logged, as Faust logged it."""
        sent: asyncio.Future[Any] = await self.topic.app.producer.send(
            self.name, key, value, partition=None, timestamp=None, headers=headers)
        sent.add_done_callback(self._check)
        return sent

    def _check(self, sent: asyncio.Future[Any]) -> None:
        if not sent.cancelled() and (exc := sent.exception()) is not None:
            logger.error("a record for %s was not sent: %s: %s", self.name, type(exc).__name__, exc)


class Topics:
    def __init__(self, app: faust.App, settings: Settings, catalog: Catalog, framing: Framing) -> None:
        self._bound: dict[str, BoundTopic] = {}
        for spec in catalog.topics:
            name = settings.topic(spec.name)
            topic = app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                              value_serializer="raw", partitions=spec.partitions, internal=True,
                              replicas=settings.topic_replication, config=spec.kafka_config())
            self._bound[spec.name] = BoundTopic(spec, name, topic,
                                                AvroCodec(framing, spec.value, subject=f"{name}-value"))

    def __getitem__(self, suffix: str) -> BoundTopic:
        return self._bound[suffix]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._bound.values())
