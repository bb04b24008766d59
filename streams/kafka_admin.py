"""Cluster operations for the CLI: create catalog topics, read consumer-group lag."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import GroupCoordinatorNotAvailableError, KafkaConnectionError, KafkaError

from processors.errors import PipelineError
from streams.catalog import Catalog
from streams.settings import Settings

TOPIC_ALREADY_EXISTS = 36


class BrokerUnavailable(PipelineError):
    """The Kafka bootstrap servers could not be reached."""


def _unreachable(settings: Settings, exc: BaseException) -> BrokerUnavailable:
    return BrokerUnavailable(
        f"cannot reach Kafka at {settings.kafka_bootstrap} ({type(exc).__name__}). Is the broker running? "
        "Start the local one with `make kafka-start`, or set SCRM_KAFKA_BOOTSTRAP.")


@dataclass(frozen=True)
class TopicResult:
    name: str
    partitions: int
    status: str  # created | exists | error: ...


async def create_topics(settings: Settings, catalog: Catalog) -> list[TopicResult]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        await admin.start()
    except KafkaError as exc:
        raise _unreachable(settings, exc) from exc
    try:
        new = [NewTopic(settings.topic(t.name), t.partitions, settings.topic_replication,
                        topic_configs=t.kafka_config()) for t in catalog.topics]
        response = await admin.create_topics(new, timeout_ms=15000)
        results = []
        for spec, (name, code, *rest) in zip(catalog.topics, _sorted_errors(new, response), strict=True):
            if code == 0:
                status = "created"
            elif code == TOPIC_ALREADY_EXISTS:
                status = "exists"
            else:
                status = f"error {code}: {rest[0] if rest else ''}"
            results.append(TopicResult(name, spec.partitions, status))
        return results
    finally:
        await admin.close()


def _sorted_errors(new: list[NewTopic], response: object) -> list[tuple]:  # type: ignore[type-arg]
    by_name = {e[0]: e for e in response.topic_errors}  # type: ignore[attr-defined]
    return [by_name[t.name] for t in new]


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        return self.end - (self.committed or 0)


async def group_lag(settings: Settings, group: str, topic_names: Iterable[str]) -> list[PartitionLag]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10000)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        await admin.start()
        await consumer.start()
    except (KafkaError, KafkaConnectionError, OSError) as exc:
        await _close(admin, consumer)
        raise _unreachable(settings, exc) from exc
    try:
        tps: list[TopicPartition] = []
        for name in topic_names:
            parts = consumer.partitions_for_topic(name)
            if parts is None:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(name) or set()
            tps.extend(TopicPartition(name, p) for p in sorted(parts))
        if not tps:
            return []
        ends = await consumer.end_offsets(tps)
        try:
            committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        except GroupCoordinatorNotAvailableError:
            committed = {}  # the group has never committed: everything is lag
        out = []
        for tp in tps:
            meta = committed.get(tp)
            offset = meta.offset if meta is not None and meta.offset >= 0 else None
            out.append(PartitionLag(tp.topic, tp.partition, offset, ends[tp]))
        return out
    finally:
        await _close(admin, consumer)


async def _close(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> None:
    await asyncio.gather(admin.close(), consumer.stop(), return_exceptions=True)


async def group_members(settings: Settings, group: str) -> list[str]:
    """The client ids of the group's live members (empty when nobody is consuming)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10000)
    try:
        await admin.start()
    except (KafkaError, KafkaConnectionError, OSError) as exc:
        await asyncio.gather(admin.close(), return_exceptions=True)
        raise _unreachable(settings, exc) from exc
    try:
        responses = await admin.describe_consumer_groups([group])
        members: list[str] = []
        for response in responses:
            for described in response.groups:
                # (error_code, group_id, state, protocol_type, protocol, members[, operations])
                members += [f"{m[2]}@{m[3]}" for m in described[5]]  # client_id@client_host
        return members
    finally:
        await asyncio.gather(admin.close(), return_exceptions=True)


async def commit_offsets(settings: Settings, group: str, targets: dict[TopicPartition, int]) -> None:
    """Commit ``targets`` for ``group`` (only safe while the group has no live members)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group,
                                enable_auto_commit=False)
    try:
        await consumer.start()
    except (KafkaError, KafkaConnectionError, OSError) as exc:
        await asyncio.gather(consumer.stop(), return_exceptions=True)
        raise _unreachable(settings, exc) from exc
    try:
        consumer.assign(list(targets))
        await consumer.commit(dict(targets))
    finally:
        await consumer.stop()


async def target_offsets(settings: Settings, tps: list[TopicPartition], *, to: str,
                         at_ms: int | None = None) -> dict[TopicPartition, int]:
    """Offsets to reset to: ``earliest``, ``latest``, or ``datetime`` (the first record at or after
    ``at_ms``; the end of the partition when there is none)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()
    except (KafkaError, KafkaConnectionError, OSError) as exc:
        await asyncio.gather(consumer.stop(), return_exceptions=True)
        raise _unreachable(settings, exc) from exc
    try:
        ends = await consumer.end_offsets(tps)
        if to == "latest":
            return dict(ends)
        if to == "earliest":
            return dict(await consumer.beginning_offsets(tps))
        found = await consumer.offsets_for_times({tp: at_ms for tp in tps})
        return {tp: found[tp].offset if found.get(tp) is not None else ends[tp] for tp in tps}
    finally:
        await consumer.stop()
