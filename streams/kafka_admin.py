"""Cluster operations for the CLI: create catalog topics, read consumer-group lag."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import GroupCoordinatorNotAvailableError, KafkaConnectionError, KafkaError

from processors.errors import PipelineError
from streams.catalog import Catalog
from streams.settings import Settings

TOPIC_ALREADY_EXISTS = 36


class BrokerUnavailable(PipelineError):
    """The Kafka bootstrap servers could not be reached."""


def unreachable(settings: Settings, exc: BaseException) -> BrokerUnavailable:
    return BrokerUnavailable(
        f"cannot reach Kafka at {settings.kafka_bootstrap} ({type(exc).__name__}). Is the broker running? "
        "Start the local one with `make kafka-start`, or set SCRM_KAFKA_BOOTSTRAP.")


@dataclass(frozen=True)
class TopicResult:
    name: str
    partitions: int
    status: str  # created | exists | error: ...


async def create_topics(settings: Settings, catalog: Catalog) -> list[TopicResult]:
    admin = _admin(settings, timeout_ms=15000)
    async with _started(settings, admin):
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


@asynccontextmanager
async def _started(settings: Settings, *clients: Any) -> AsyncIterator[None]:
    """Start ``clients`` (admin clients and consumers), raising BrokerUnavailable when the broker
    cannot be reached; always close them."""
    try:
        try:
            for client in clients:
                await client.start()
        except (KafkaError, KafkaConnectionError, OSError) as exc:
            raise unreachable(settings, exc) from exc
        yield
    finally:
        await asyncio.gather(*(c.close() if isinstance(c, AIOKafkaAdminClient) else c.stop() for c in clients),
                             return_exceptions=True)


def _admin(settings: Settings, timeout_ms: int = 10000) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=timeout_ms)


def _consumer(settings: Settings, group: str | None = None) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False)


async def group_lag(settings: Settings, group: str, topic_names: Iterable[str]) -> list[PartitionLag]:
    admin, consumer = _admin(settings), _consumer(settings)
    async with _started(settings, admin, consumer):
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


async def oldest_pending_ms(settings: Settings, group: str, topic_names: Iterable[str], *,
                            timeout_s: float = 5.0) -> int | None:
    """The Kafka timestamp of the oldest record ``group`` has not committed on ``topic_names``: the
    first record past the committed offset of every partition with lag, the smallest of those
    (None: no lag). Raises TimeoutError when a lagging partition's record cannot be read in time."""
    lagging = [p for p in await group_lag(settings, group, topic_names) if p.lag > 0]
    if not lagging:
        return None
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=len(lagging) * 10)
    async with _started(settings, consumer):
        by_tp = {TopicPartition(p.topic, p.partition): p for p in lagging}
        starts = await consumer.beginning_offsets(list(by_tp))  # records before it are gone (retention)
        tps = {tp: offset for tp, p in by_tp.items() if (offset := max(p.committed or 0, starts[tp])) < p.end}
        if not tps:
            return None
        consumer.assign(list(tps))
        for tp, offset in tps.items():
            consumer.seek(tp, offset)
        first: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + timeout_s
        while len(first) < len(tps):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no record read past the committed offset of {len(tps) - len(first)} partition(s)")
            for tp, batch in (await consumer.getmany(timeout_ms=int(left * 1000))).items():
                if batch and tp not in first:
                    first[tp] = batch[0].timestamp
                    consumer.pause(tp)
        return min(first.values())


async def group_members(settings: Settings, group: str) -> list[str]:
    """The client ids of the group's live members (empty when nobody is consuming)."""
    admin = _admin(settings)
    async with _started(settings, admin):
        members: list[str] = []
        for response in await admin.describe_consumer_groups([group]):
            for described in response.groups:
                # (error_code, group_id, state, protocol_type, protocol, members[, operations])
                members += [f"{m[2]}@{m[3]}" for m in described[5]]  # client_id@client_host
        return members


async def commit_offsets(settings: Settings, group: str, targets: dict[TopicPartition, int]) -> None:
    """Commit ``targets`` for ``group`` (only safe while the group has no live members)."""
    consumer = _consumer(settings, group)
    async with _started(settings, consumer):
        consumer.assign(list(targets))
        await consumer.commit(dict(targets))


async def target_offsets(settings: Settings, tps: list[TopicPartition], *, to: str,
                         at_ms: int | None = None) -> dict[TopicPartition, int]:
    """Offsets to reset to: ``earliest``, ``latest``, or ``datetime`` (the first record at or after
    ``at_ms``; the end of the partition when there is none)."""
    consumer = _consumer(settings)
    async with _started(settings, consumer):
        ends = await consumer.end_offsets(tps)
        if to == "latest":
            return dict(ends)
        if to == "earliest":
            return dict(await consumer.beginning_offsets(tps))
        found = await consumer.offsets_for_times({tp: at_ms for tp in tps})
        return {tp: found[tp].offset if found.get(tp) is not None else ends[tp] for tp in tps}


async def wait_for_zero_lag(settings: Settings, group: str, topic_names: list[str], *, timeout: float,
                            settle: float = 1.0, on_lag: Callable[[int], None] | None = None,
                            ) -> tuple[bool, list[PartitionLag]]:
    """Poll until ``group`` has no lag on ``topic_names`` for ``settle`` seconds: (caught up, last lag).
    ``on_lag`` is told the total lag after every poll (a progress display)."""
    deadline = time.monotonic() + timeout
    zero_since: float | None = None
    lag: list[PartitionLag] = []
    while time.monotonic() < deadline:
        lag = await group_lag(settings, group, topic_names)
        if on_lag is not None:
            on_lag(sum(p.lag for p in lag))
        if sum(p.lag for p in lag) == 0:
            zero_since = zero_since or time.monotonic()
            if time.monotonic() - zero_since >= settle:
                return True, lag
        else:
            zero_since = None
        await asyncio.sleep(0.5)
    return False, lag
