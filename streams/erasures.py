"""Every worker keeps the erasure list (``processors.erasure``) in memory: a task reads the
compacted ``erasures`` topic from its start and then follows it. Agents that take a contact's
events wait until the list is loaded (``ready``), then drop the events of an erased subject at or
before its cut-off (``blocked``), so neither a replay nor a restart brings the contact back.

When an erasure is applied, the subject's keys go from this worker's local stores of the tables
registered with ``purge_on_erase``; ``scrm erase`` writes the tombstones to their changelogs, so a
rebuilt or standby store forgets them too (``named_keys`` reads a changelog the same way)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from processors.crm import parse_crm
from processors.envelopes import parse_whatsapp_envelope
from processors.erasure import ErasureList
from processors.errors import InvalidEvent
from sinks.clickhouse.rows import epoch_ms
from streams.app import app, settings, stats, topics
from streams.mapping import envelope_from_avro

logger = logging.getLogger(__name__)
STAGE = "erasures"
source = topics["erasures"]
erasures = ErasureList()
_loaded = asyncio.Event()
_waiting: list[bool] = []  # logged once
# table name -> (table, contact key of a stored (key, value), or None)
ContactOf = Callable[[bytes, bytes], str | None]
purged_tables: dict[str, tuple[Any, ContactOf]] = {}


def purge_on_erase(table: Any, contact_of: ContactOf) -> Any:
    """Register a table whose entries belong to a contact: an erasure deletes the subject's entries."""
    purged_tables[table.name] = (table, contact_of)
    return table


def by_key(prefix: bytes = b"") -> ContactOf:
    """Entries keyed ``<prefix><contact key>``; other keys belong to no contact."""
    return lambda key, value: key[len(prefix):].decode("utf-8", "replace") if key.startswith(prefix) else None


def by_value_field(field: str) -> ContactOf:
    """Entries whose JSON value names the contact key in ``field``."""
    def contact_of(key: bytes, value: bytes) -> str | None:
        try:
            found = json.loads(value).get(field)
        except (ValueError, AttributeError):
            return None
        return found if isinstance(found, str) else None
    return contact_of


async def ready() -> None:
    """Returns once every erasure already in the topic is known."""
    if not _loaded.is_set():
        if not _waiting:
            logger.info("stages wait for the erasure list before they take events")
            _waiting.append(True)
        await _loaded.wait()


def blocked(stage: str, contact_key: str | None, event_ms: int, phone_keys: Iterable[str] = ()) -> bool:
    """Whether this event (of a contact key, or of a number's E.164 keys) belongs to an erased
    subject, and is dropped: counted as ``<stage>.erased``."""
    if erasures.blocks_contact_key(contact_key, event_ms) or erasures.blocks_keys(phone_keys, event_ms):
        stats.add(stage, "erased")
        return True
    return False


def generation() -> int:
    """Grows with every erasure added: a stage that holds state across an await compares it."""
    return len(erasures.ids)


def names(contact_key: str) -> bool:
    """Whether an erasure names this contact key's subject (at any time)."""
    return erasures.names(contact_key)


def raw_blocked(rec: dict[str, Any]) -> bool:
    """Whether a raw webhook record (a decoded envelope) is about an erased subject at or before
    the cut-off: the raw sink does not store it again (a replay re-produces the raw topics). Only
    parsed while the list holds an erasure; a body that does not parse is not attributable."""
    if not erasures.before:
        return False
    try:
        env = envelope_from_avro(rec)
        if env.source in ("hubspot", "cdc"):
            changes = parse_crm(env.source, env.body, received_at_ms=env.received_at_ms,
                                envelope_sha256=env.body_sha256, default_region=settings.default_region)
            return any(erasures.blocks_keys(c.phone_keys, c.occurred_at_ms) for c in changes)
        parsed = parse_whatsapp_envelope(env)
    except (InvalidEvent, KeyError, TypeError, ValueError):
        return False
    about = [*((m.contact_key, m.timestamp_ms) for m in parsed.messages),
             *((s.contact_key, s.timestamp_ms) for s in parsed.statuses),
             *((p.contact_key, p.timestamp_ms) for p in parsed.preferences)]
    return any(erasures.blocks_contact_key(key, at) for key, at in about)


def status() -> dict[str, Any]:
    return {"loaded": _loaded.is_set(), "erasures": sorted(i for i in erasures.ids if ":" not in i)}


def preload() -> None:
    """Read the whole erasure list before the worker starts, on a loop of its own, so no stage
    waits for it while Faust assigns partitions. If Kafka does not answer, the stages wait for
    the follower task instead (``ready``)."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(_preload(), timeout=30))
    except (KafkaError, TimeoutError, OSError) as exc:
        logger.warning("erasure list not preloaded (%s); stages wait for it", type(exc).__name__)
    finally:
        loop.close()


def _consumer() -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                            request_timeout_ms=15000)


async def _preload() -> None:
    consumer = _consumer()
    await consumer.start()
    try:
        if source.name in await consumer.topics():
            await _catch_up(consumer)
        _loaded.set()
        logger.info("erasure list loaded before start: %d erasure(s)", len(erasures.ids))
    finally:
        await consumer.stop()


@app.task  # type: ignore[untyped-decorator]
async def follow_erasures() -> None:
    while True:
        consumer = _consumer()
        try:
            await consumer.start()
            await _catch_up(consumer)
            if not _loaded.is_set():
                _loaded.set()
                logger.info("erasure list loaded: %d erasure(s)", len(erasures.ids))
            while True:
                await _apply_next(consumer)
        except KafkaError as exc:
            logger.error("reading the erasure list failed (%s); retrying in 2s", type(exc).__name__)
            await asyncio.sleep(2.0)
        finally:
            await consumer.stop()


async def _catch_up(consumer: AIOKafkaConsumer) -> None:
    """Apply every erasure in the topic, from its start to its end as of now (``consumer`` stays assigned)."""
    parts = [TopicPartition(source.name, p) for p in range(source.spec.partitions)]
    consumer.assign(parts)
    await consumer.seek_to_beginning(*parts)
    end = await consumer.end_offsets(parts)
    while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
        await _apply_next(consumer)


async def _apply_next(consumer: AIOKafkaConsumer) -> None:
    for batch in (await consumer.getmany(timeout_ms=1000)).values():
        for msg in batch:
            if msg.value is not None:
                apply(source.decode(msg.value))


def apply(record: dict[str, Any]) -> int:
    """Add an erasure to the list; one that arrives while the worker runs also drops its subject
    from the local stores (at start the stores recover from changelogs that hold the tombstones).
    Returns the keys dropped."""
    if record["erasure_id"] in erasures.ids:
        return 0
    erasures.add(record["erasure_id"], record["subject_hashes"], epoch_ms(record["erased_before_ms"]))
    stats.add(STAGE, "loaded")
    if not _loaded.is_set():
        return 0
    purged = purge_local(record["subject_hashes"])
    stats.add(STAGE, "local_keys_purged", purged)
    logger.warning("erasure %s applied: %d local state key(s) dropped", record["erasure_id"], purged)
    return purged


def subject(hashes: list[str]) -> ErasureList:
    one = ErasureList()
    one.add("subject", hashes, 0)
    return one


def purge_local(hashes: list[str]) -> int:
    """Delete the subject's entries from this worker's stores of the registered tables. Only the
    local store: the changelog tombstones come from ``scrm erase`` (an agent's event decides the
    partition of a changelog write, and an erasure is nobody's event)."""
    who, purged = subject(hashes), 0
    for table, contact_of in purged_tables.values():
        store = table.data
        for key in [k for k, v in store.items() if _named(who, contact_of, k, v)]:
            with contextlib.suppress(KeyError):
                del store[key]
                purged += 1
    return purged


def _named(who: ErasureList, contact_of: ContactOf, key: Any, value: Any) -> bool:
    if not isinstance(key, bytes) or not isinstance(value, bytes):
        return False
    contact = contact_of(key, value)
    return contact is not None and who.names(contact)
