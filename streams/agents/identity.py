"""Identity resolution (DESIGN §5) on ``identity``: observations from WhatsApp (the automation
stage) and the CRM (crm_normalize), and operators' unmerges, into resolved contacts.

The topic has one partition, so one resolver (``processors.identity.Resolver``) sees every record
and its state lives in one table (``identity``: records, phone/email/SKU indexes, groups, the merge
log). Outputs: profiles on the compacted ``contacts`` (keyed by contact id; an absorbed contact
gets ``merged_into``), merges and undone merges on ``contact.merges``, name conflicts on
``contact.conflicts`` (open when it appears or changes, closed when the records agree again or
the contact is absorbed or split). A profile or conflict identical to the last one published is
not sent again.

As in the automation stage, observations are taken in batches and their outputs are sent and
flushed once before the table is written: a crash in between processes the batch again, which
yields the same records with the same ids."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from processors.errors import InvalidEvent
from processors.identity import Change, Forgotten, Resolver
from sinks.clickhouse.rows import epoch_ms
from streams import erasures
from streams.app import app, dead_letters, settings, stats, topics
from streams.errors import DecodeError
from streams.identity_records import (
    ERASE,
    OBSERVE,
    UNMERGE,
    closed_conflict_record,
    conflict_record,
    merge_record,
    observation_from_record,
    profile_record,
)
from streams.json_store import Overlay, TableStore
from streams.tables import bytes_table, lookup, write_as

STAGE = "identity"
source = topics["identity"]
table = bytes_table("identity", partitions=source.spec.partitions,
                    help="identity resolution: records, phone/email/SKU indexes, contact groups, the merge log")


def _resolve(rec: dict[str, Any], resolver: Resolver) -> Change:
    if rec["kind"] == OBSERVE:
        stats.add(STAGE, "observations")
        return resolver.observe(observation_from_record(rec))
    if rec["kind"] == UNMERGE:
        merge_id = rec.get("merge_id") or ""
        if resolver.merge_log(merge_id) is None:
            raise InvalidEvent("unknown_merge", f"no merge {merge_id[:40]!r} in the merge log")
        stats.add(STAGE, "unmerges")
        return resolver.unmerge(merge_id, epoch_ms(rec["ts_ms"]))
    raise InvalidEvent("unknown_kind", f"kind must be {OBSERVE} or {UNMERGE}, got {str(rec['kind'])[:20]!r}")


def _once(store: TableStore, key: str, record: dict[str, Any]) -> bool:
    """Whether ``record`` differs from the last one published under ``key`` (and remember it)."""
    digest = hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    if store.get(key) == digest:
        return False
    store[key] = digest
    return True


def outputs(change: Change, rec: dict[str, Any], store: TableStore) -> list[tuple[str, str, dict[str, Any]]]:
    """(topic, key, record) for what ``change`` publishes."""
    at_ms = epoch_ms(rec["ts_ms"])
    out: list[tuple[str, str, dict[str, Any]]] = []
    for p in change.profiles:
        record = profile_record(p)
        if _once(store, f"pub/p/{p.contact_id}", record):
            out.append(("contacts", p.contact_id, record))
    for m in (*change.merges, *change.splits):
        out.append(("contact.merges", m.merge_id,
                    merge_record(m, undone_at_ms=at_ms, undone_by=rec.get("requested_by"))))
    for c in change.conflicts:
        if store.get(f"pub/f/{c.contact_id}") != c.conflict_id:
            store[f"pub/f/{c.contact_id}"] = c.conflict_id
            out.append(("contact.conflicts", c.contact_id, conflict_record(c, at_ms)))
    conflicted = {c.contact_id for c in change.conflicts}
    for p in change.profiles:
        known = store.get(f"pub/f/{p.contact_id}")
        if known is not None and p.contact_id not in conflicted:
            del store[f"pub/f/{p.contact_id}"]
            out.append(("contact.conflicts", p.contact_id, closed_conflict_record(known, p, "name", at_ms)))
    return out


async def _forget(rec: dict[str, Any], store: TableStore) -> Forgotten:
    """An erasure: the resolver forgets the subject's contacts; their profiles get tombstones on
    ``contacts`` (a compacted topic) and the stage's publish marks go."""
    # block the subject's observations at once, before this worker's erasure list has the erasure
    erasures.erasures.add(f"identity:{rec['record_id']}", rec["phone_keys"], epoch_ms(rec["ts_ms"]))
    resolver = Resolver(store)
    forgotten = resolver.forget(resolver.phones_hashed(rec["phone_keys"]))
    for cid in forgotten.contact_ids:
        await topics["contacts"].tombstone(cid)
        for mark in (f"pub/p/{cid}", f"pub/f/{cid}"):
            store.pop(mark, None)
    await app.producer.flush()
    store.commit()
    stats.add(STAGE, "erasures")
    stats.add(STAGE, "contacts_erased", len(forgotten.contact_ids))
    return forgotten


class Batch:
    """The observations of one taken batch: each is resolved against the table as the batch's
    earlier ones left it (``Overlay``); their records are sent and flushed once, then the state
    is written. A failing observation's own store is dropped, the others' stand."""

    def __init__(self) -> None:
        self.state = Overlay(table, read=lambda key: lookup(table, key))
        self.records: list[tuple[str, str, dict[str, Any]]] = []
        self.sent = False  # records or dead letters: the flush before the state and the acks

    async def commit(self, event: Any) -> None:
        for topic, key, value in self.records:
            await topics[topic].send(key, value)
            stats.add(STAGE, f"{topic}_out")
        if self.records or self.sent:
            await app.producer.flush()  # the records are durable before the state that produced them
        write_as(event)
        self.state.write_through()
        self.records, self.sent = [], False


async def _handle(event: Any, batch: Batch) -> None:
    stats.add(STAGE, "in")
    write_as(event)  # table reads look in this event's partition (taken batches have no current event)
    try:
        rec = source.decode(event.message.value)
        if rec["kind"] == ERASE:
            await batch.commit(event)  # the batch's earlier observations first
            await _forget(rec, TableStore(table))
            return
        if rec["kind"] == OBSERVE and erasures.blocked(STAGE, rec.get("contact_key"), epoch_ms(rec["ts_ms"]),
                                                       rec["phone_keys"]):
            return
        store = TableStore(batch.state)
        change = _resolve(rec, Resolver(store))
        records = outputs(change, rec, store)
    except (DecodeError, InvalidEvent, KeyError, TypeError, ValueError) as exc:
        await dead_letters.reject(event, STAGE, exc)
        batch.sent = True
        return
    store.commit()
    batch.records += records
    stats.add(STAGE, "merges", len(change.merges))
    stats.add(STAGE, "splits", len(change.splits))
    stats.add(STAGE, "processed")


@app.agent(source.topic, name="scrm.identity")
async def identity(stream):  # type: ignore[no-untyped-def]
    """Observations in batches (SCRM_AUTOMATION_BATCH_SIZE within SCRM_AUTOMATION_BATCH_SECONDS),
    one producer flush each: the topic has one partition, and a flush per observation made the
    stage wait for a broker round trip per record."""
    await erasures.ready()
    async for events in stream.noack_take(settings.automation_batch_size, settings.automation_batch_seconds):
        batch = Batch()
        for event in events:
            await _handle(event, batch)
        await batch.commit(events[-1])
        for event in events:
            await stream.ack(event)
