"""Faust topic objects for every catalog entry, with their Avro codecs.

Topics carry raw bytes through Faust; agents decode with the codec themselves so that undecodable
records reach the dead-letter topic with their original bytes instead of crashing the stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from streams.catalog import Catalog, TopicSpec
from streams.codec import AvroCodec, Framing
from streams.settings import Settings


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
        return await self.topic.send(key=key, value=self.encode(value), headers=headers)

    async def tombstone(self, key: str) -> Any:
        """A null value for ``key``: a compacted topic forgets the key (sinks skip tombstones)."""
        return await self.topic.app.producer.send(self.name, key.encode(), None, partition=None, timestamp=None,
                                                  headers=None)


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
