"""raw CRM envelopes (HubSpot webhooks, generic CDC) -> CrmChanges on ``crm.changes``, keyed by
the CRM contact, deduplicated on the change id (HubSpot retries; ops replay). Contact changes and
orders that say who someone is also go to ``identity`` (``processors.identity_sources``). A phone that cannot
be normalized travels with ``phone_error`` and its envelope is also dead-lettered (reason
``bad_phone``) so the value is visible and can be fixed at the source."""

from __future__ import annotations

import time

from processors.crm import parse_crm
from processors.errors import InvalidEvent
from processors.identity_sources import from_crm
from processors.phones import InvalidPhone
from streams import erasures
from streams.app import app, dead_letters, settings, stats, topics
from streams.dedup import forward_once
from streams.errors import DecodeError
from streams.headers import REPLAY, carried, header
from streams.identity_records import observation_record
from streams.mapping import envelope_from_avro, to_avro
from streams.tables import bytes_table

STAGE = "crm_normalize"
raw = topics["raw.crm"]
changes = topics["crm.changes"]
seen_changes = bytes_table("seen-crm-changes", partitions=raw.spec.partitions,
                           retention_days=settings.dedup_retention_days,
                           help="CRM change id -> event time (ms) of the first copy forwarded")


@app.agent(raw.topic, name="scrm.crm_normalize")
async def crm_normalize(stream):  # type: ignore[no-untyped-def]
    await erasures.ready()
    async for event in stream.events():
        stats.add(STAGE, "in")
        try:
            env = envelope_from_avro(raw.decode(event.message.value))
            parsed = parse_crm(env.source, env.body, received_at_ms=env.received_at_ms,
                               envelope_sha256=env.body_sha256, default_region=settings.default_region)
        except (DecodeError, InvalidEvent) as exc:
            await dead_letters.reject(event, STAGE, exc)
            continue
        for change in parsed:
            if erasures.blocked(STAGE, None, change.occurred_at_ms, change.phone_keys):
                continue
            seen = from_crm(change)
            also = ((topics["identity"], observation_record(seen)),) if seen is not None else ()
            sent = await forward_once(seen_changes, change.change_id.encode(), change.occurred_at_ms, changes,
                                      change.key, to_avro(change), source_offset=event.message.offset,
                                      stats=stats, stage=STAGE, counter="changes",
                                      also=also, replay=header(event, REPLAY) is not None, headers=carried(event))
            if sent and change.phone_error:
                await dead_letters.send_event(event, stage=STAGE, now_ms=int(time.time() * 1000),
                                              exc=InvalidPhone(f"{change.change_id}: {change.phone_error}"))
                stats.add(STAGE, "bad_phones")
        stats.add(STAGE, "processed")
