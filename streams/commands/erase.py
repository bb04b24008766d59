"""``scrm erase --phone +852...``: GDPR erasure of one customer, with a receipt.

In order, each step safe to run again (so is the whole command):

1. the erasure goes on the compacted ``erasures`` topic: every worker drops the subject's events
   at or before now from then on, replays included (``streams.erasures``);
2. the identity resolver forgets the subject's contacts (profile tombstones on ``contacts``) and
   a GDPR delete of every CRM object the pipeline wrote for them is queued on ``crm.writes``;
3. once the worker has caught up, the subject's rows go from every ClickHouse table, the
   stream-state keys get tombstones on their changelogs, and the worker drops them locally;
4. a receipt (no personal data: the number appears as its SHA-256) is printed and stored in
   ``erasure_receipts``.

Kafka topics with delete cleanup keep the subject's records until their retention; nothing reads
them back past the erasure (docs/operations.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click
import httpx
from aiokafka.errors import KafkaError

from processors.erasure import subject_hash, subject_hashes, subject_keys, text_pattern
from processors.phones import InvalidPhone, normalize_phone
from sinks.clickhouse.backend import sql_string
from streams.app import app, consumed_topics, settings, topics
from streams.commands import kafka_clients
from streams.commands.errors import fail
from streams.commands.operator import operator
from streams.commands.sql import run_query
from streams.erasures import purged_tables, subject
from streams.faust_cli import option
from streams.identity_records import erase_record
from streams.kafka_admin import BrokerUnavailable, wait_for_zero_lag

CMD = "erase"
_SAFE = re.compile(r"^[A-Za-z0-9_:.@+-]+$")


@app.command(
    option("--phone", required=True, type=str,
           help="the customer's number in any format, e.g. '+852 9123 4567'; without a country code "
                "SCRM_DEFAULT_REGION applies"),
    option("--reason", type=str, default="data subject request",
           help="why, kept on the receipt (a ticket number, not personal data)"),
    option("--dry-run", is_flag=True, default=False, help="count what would be erased; change nothing"),
    option("--yes", is_flag=True, default=False, help="erase without asking (needed when not on a terminal)"),
    option("--wait", "wait_s", type=float, default=300.0,
           help="seconds to wait for the worker to apply the erasure before deleting rows"),
)
async def erase(self: Any, phone: str, reason: str, dry_run: bool, yes: bool, wait_s: float) -> None:
    """Erase one customer (GDPR): ClickHouse rows, stream state, contact profile, CRM record.

    \b
    scrm erase --phone '+852 9123 4567' --dry-run
    scrm erase --phone '+852 9123 4567' --reason 'DSR-4411' --yes
    The customer's events up to now are dropped by every worker from then on, so a replay does
    not bring them back; a message they send later starts a new relationship. Safe to run again.
    """
    try:
        number = normalize_phone(phone, settings.default_region)
    except InvalidPhone as exc:
        fail(CMD, f"{exc}; give the number with its country code, e.g. --phone '+852 9123 4567'")
    keys = subject_keys(number)
    digits = [k[1:] for k in keys]
    masked = number.e164[:4] + "…" + number.e164[-2:]
    found = await _count(keys, digits)
    print(f"{masked} ({len(keys)} form{'s' if len(keys) > 1 else ''} of the number): "
          + (", ".join(f"{t} {n:,}" for t, n in found.rows.items() if n) or "no rows in ClickHouse"))
    if dry_run:
        print(f"dry run, nothing was changed; {len(found.crm_objects)} CRM object(s) would get a GDPR delete")
        return
    if not yes:
        if not sys.stdin.isatty():
            fail(CMD, "this deletes the customer's data for good; add --yes to confirm (or --dry-run to look first)")
        if not click.confirm(f"erase {masked} everywhere?", default=False):
            fail(CMD, "nothing was changed", 1)
    requested_ms = int(time.time() * 1000)
    hashes = subject_hashes(number)
    erasure_id = f"er-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{subject_hash(number.e164)[:8]}"
    crm_deletes = {f"{erasure_id}:{settings.crm_mode}:{oid}": oid for oid in found.crm_objects}
    await _publish(erasure_id, hashes, number.e164, reason, requested_ms, crm_deletes)
    print(f"{erasure_id}: queued (erasure list, identity, {len(crm_deletes)} CRM delete(s))")
    worker = await _applied(erasure_id, wait_s)
    deleted = await _delete_rows(keys, digits, found.contacts)
    tombstones = await _tombstone_changelogs(hashes)
    if worker:
        await _purge_worker(hashes)
    crm = await _crm_states(list(crm_deletes))
    receipt = {"erasure_id": erasure_id, "subject_sha256": subject_hash(number.e164), "reason": reason,
               "operator": operator(), "requested_at": requested_ms, "erased_before": requested_ms,
               "completed_at": int(time.time() * 1000), "rows_deleted_json": json.dumps(deleted, sort_keys=True),
               "changelog_tombstones": tombstones, "contacts_erased": len(found.contacts),
               "crm_deletes_json": json.dumps(crm, sort_keys=True)}
    await _store(receipt)
    _print_receipt(receipt, deleted, crm, worker)


class Found:
    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self.contacts: list[str] = []
        self.crm_objects: list[str] = []


def _list(values: list[str]) -> str:
    for v in values:
        if not _SAFE.match(v):
            raise ValueError(f"unexpected identifier {v[:40]!r}")
    return ", ".join(f"'{v}'" for v in values) or "''"


def _wa_part_in(column: str, digits: list[str]) -> str:
    """The WhatsApp id of a contact key ``phone_number_id:wa_id`` is one of ``digits``."""
    return f"splitByChar(':', {column})[2] IN ({_list(digits)})"


def _predicates(keys: list[str], digits: list[str], contacts: list[str]) -> dict[str, str]:
    """ClickHouse table -> the WHERE clause that selects the subject's rows."""
    wa, by_key = _list(digits), _wa_part_in("contact_key", digits)
    text = text_pattern(keys).replace("\\", "\\\\")
    ids = _list(contacts)
    where = {t: by_key for t in ("message_state", "conversations", "tags", "automation_decisions", "churn_scores",
                                 "first_responses")}
    where.update({t: f"({by_key} OR wa_id IN ({wa}))" for t in ("messages", "statuses", "outbound_sends",
                                                                 "crm_writes")})
    where["contacts"] = f"(contact_id IN ({ids}) OR merged_into IN ({ids}) OR hasAny(phones, [{_list(keys)}]))"
    where["contact_merges"] = f"(into IN ({ids}) OR absorbed IN ({ids}))"
    where["contact_conflicts"] = f"contact_id IN ({ids})"
    where["raw_webhooks"] = f"match(ifNull(body, ''), '{text}')"
    where["dead_letters"] = f"match(ifNull(tryBase64Decode(original_value_b64), ''), '{text}')"
    return where


async def _count(keys: list[str], digits: list[str]) -> Found:
    db, found = settings.clickhouse_database, Found()
    rows = (await run_query(f"SELECT DISTINCT contact_id FROM {db}.contacts WHERE hasAny(phones, [{_list(keys)}]) "
                            f"OR arrayExists(k -> {_wa_part_in('k', digits)}, contact_keys)", command=CMD)).rows
    found.contacts = sorted(str(r[0]) for r in rows)
    predicates = _predicates(keys, digits, found.contacts)
    found.crm_objects = sorted(str(r[0]) for r in (await run_query(
        f"SELECT DISTINCT crm_object_id FROM {db}.crm_writes WHERE crm = 'hubspot' AND kind = 'properties' AND "
        f"state = 'written' AND crm_object_id IS NOT NULL AND {predicates['crm_writes']}", command=CMD)).rows)
    found.rows = await _row_counts(predicates)
    return found


async def _row_counts(where: dict[str, str]) -> dict[str, int]:
    """Rows per table matching its WHERE clause, in one query."""
    db = settings.clickhouse_database
    result = await run_query("SELECT " + ", ".join(f"(SELECT count() FROM {db}.{t} WHERE {w}) AS {t}"
                                                   for t, w in where.items()), command=CMD)
    return {t: int(n) for t, n in zip(result.columns, result.rows[0], strict=True)}


async def _publish(erasure_id: str, hashes: list[str], e164: str, reason: str, at_ms: int,
                   crm_deletes: dict[str, str]) -> None:
    producer = kafka_clients.producer()
    await kafka_clients.start(CMD, producer, " Nothing was erased.")
    who = operator()
    try:
        listed = topics["erasures"]
        await producer.send_and_wait(listed.name, listed.encode(
            {"erasure_id": erasure_id, "subject_hashes": hashes, "erased_before_ms": at_ms, "reason": reason,
             "operator": who, "requested_at_ms": at_ms}), key=subject_hash(e164).encode())
        identity = topics["identity"]
        await producer.send_and_wait(identity.name, identity.encode(erase_record(erasure_id, hashes, at_ms, who)),
                                     key=f"erase:{erasure_id}".encode())
        writes, subject_key = topics["crm.writes"], f"erased:{subject_hash(e164)[:16]}"
        for write_id, object_id in crm_deletes.items():
            await producer.send_and_wait(writes.name, writes.encode(
                {"write_id": write_id, "contact_key": subject_key, "kind": "gdpr_delete", "wa_id": None,
                 "phone_e164": None, "properties_json": json.dumps({"objectId": object_id}), "title": None,
                 "action_id": None, "created_at_ms": at_ms}), key=subject_key.encode())
    except KafkaError as exc:
        fail(CMD, f"Kafka did not take the erasure ({type(exc).__name__}: {exc}); run the same command again", 1)
    finally:
        await producer.stop()


async def _applied(erasure_id: str, wait_s: float) -> bool:
    """Wait until the worker holds the erasure and has processed everything before it. False when
    no worker answers: the rows are deleted anyway, and a worker applies the rest when it starts."""
    started = time.monotonic()
    deadline = started + wait_s
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            try:
                response = await client.get(f"{settings.web_url}/erasures/")
                if response.status_code == 200 and erasure_id in response.json().get("erasures", []):
                    break
            except (httpx.HTTPError, ValueError):
                if time.monotonic() - started > 10:  # nobody there
                    print(f"no worker answers at {settings.web_url}: it applies the erasure when it starts")
                    return False
            if time.monotonic() > deadline:
                fail(CMD, f"the worker has not loaded {erasure_id} within {wait_s:.0f}s; the erasure is queued, "
                          "run the same command again once the worker runs", 1)
            await asyncio.sleep(0.5)
    try:
        done, lag = await wait_for_zero_lag(settings, settings.app_id, consumed_topics(),
                                            timeout=max(1.0, deadline - time.monotonic()))
    except BrokerUnavailable as exc:
        fail(CMD, str(exc), 1)
    if not done:
        fail(CMD, f"the worker has not caught up within {wait_s:.0f}s (lag {sum(p.lag for p in lag):,}); the "
                  "erasure is queued and in force, run the same command again to finish the deletions", 1)
    return True


async def _delete_rows(keys: list[str], digits: list[str], contacts: list[str]) -> dict[str, int]:
    predicates = _predicates(keys, digits, contacts)
    deleted = await _row_counts(predicates)
    for table, n in deleted.items():
        if n:
            await run_query(f"DELETE FROM {settings.clickhouse_database}.{table} WHERE {predicates[table]}",
                            write=True, command=CMD)
    return deleted


async def _tombstone_changelogs(hashes: list[str]) -> int:
    """Tombstones for the subject's live keys in the changelogs of the stream-state tables."""
    who = subject(hashes)
    consumer, producer = kafka_clients.consumer(), kafka_clients.producer()
    await kafka_clients.start(CMD, consumer)
    await kafka_clients.start(CMD, producer)
    sent = 0
    try:
        existing = await consumer.topics()
        for name, (table, contact_of) in sorted(purged_tables.items()):
            changelog = f"{settings.app_id}-{name}-changelog"
            if changelog not in existing:
                continue
            live: set[tuple[int, bytes]] = set()
            async for msg in kafka_clients.read_to_end(consumer, changelog, table.partitions):
                at = (msg.partition, msg.key)
                contact = contact_of(msg.key, msg.value) if msg.key and msg.value is not None else None
                if contact is not None and who.names(contact):
                    live.add(at)
                else:
                    live.discard(at)
            for partition, key in sorted(live):
                await producer.send_and_wait(changelog, None, key=key, partition=partition)
            sent += len(live)
    except KafkaError as exc:
        fail(CMD, f"writing the changelog tombstones failed ({type(exc).__name__}); run the same command again", 1)
    finally:
        await consumer.stop()
        await producer.stop()
    return sent


async def _purge_worker(hashes: list[str]) -> None:
    # the worker dropped the keys when it loaded the erasure; this covers a restart in between
    async with httpx.AsyncClient(timeout=30) as client:
        with contextlib.suppress(httpx.HTTPError):
            await client.post(f"{settings.web_url}/erasures/", json={"subject_hashes": hashes})


async def _crm_states(write_ids: list[str]) -> dict[str, str]:
    if not write_ids:
        return {}
    result = await run_query(f"SELECT write_id, state FROM {settings.clickhouse_database}.crm_writes FINAL "
                             f"WHERE write_id IN ({_list(write_ids)})", command=CMD)
    states = {str(r[0]): str(r[1]) for r in result.rows}
    return {w: states.get(w, "queued") for w in write_ids}


async def _store(receipt: dict[str, Any]) -> None:
    def value(column: str, v: Any) -> str:
        if column in ("requested_at", "erased_before", "completed_at"):
            return f"fromUnixTimestamp64Milli(toInt64({v}))"
        return str(v) if isinstance(v, int) else sql_string(str(v))

    values = ", ".join(value(c, v) for c, v in receipt.items())
    await run_query(f"INSERT INTO {settings.clickhouse_database}.erasure_receipts ({', '.join(receipt)}) "
                    f"VALUES ({values})", write=True, command=CMD)


def _print_receipt(receipt: dict[str, Any], deleted: dict[str, int], crm: dict[str, str], worker: bool) -> None:
    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"

    lines = [f"erasure receipt {receipt['erasure_id']}",
             f"  subject (SHA-256 of E.164)  {receipt['subject_sha256']}",
             f"  reason                      {receipt['reason']}",
             f"  operator                    {receipt['operator']}",
             f"  events dropped up to        {iso(receipt['erased_before'])} (replays included)",
             f"  ClickHouse rows deleted     {sum(deleted.values()):,}"]
    lines += [f"    {table:<26}{n:,}" for table, n in sorted(deleted.items()) if n]
    lines += [f"  contacts erased             {receipt['contacts_erased']}",
              f"  state keys tombstoned       {receipt['changelog_tombstones']}",
              f"  CRM deletes                 {len(crm)}" + "".join(f"\n    {w}  {s}" for w, s in sorted(crm.items())),
              f"  stored in                   {settings.clickhouse_database}.erasure_receipts"]
    if not worker:
        lines.append("  pending                     identity and CRM deletes run when a worker starts")
    print("\n".join(lines))
