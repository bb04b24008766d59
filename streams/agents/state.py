"""Stream state (DESIGN §4–§5): receipts that only move forward, conversations, tags.

* ``statuses`` -> receipt state per message (table ``receipt-state``, keyed by wamid) ->
  ``message.state`` on every change; regressions absorbed and counted.
* ``messages`` -> contact state (table ``contact-state``, keyed by contact key: conversation,
  tag count windows, recent messages) -> ``conversations`` and ``tags``.

Both input topics are keyed by contact key, so a contact's messages and a message's receipts
come in order on one partition, and each table key's changelog goes to that same partition.
Outputs are sent before the table is updated: a crash in between re-emits the same rows (same
``version``), which ClickHouse's ReplacingMergeTree collapses; nothing is lost."""

from __future__ import annotations

import logging
from typing import Any

from processors.contact_state import apply_message
from processors.contact_state import dumps as dump_contact
from processors.contact_state import loads as load_contact
from processors.conversations import HOUR_MS, Conversation, ConversationRules
from processors.errors import InvalidEvent
from processors.events import MessageEvent, StatusEvent
from processors.local_time import zone_for
from processors.receipts import apply_status
from processors.receipts import dumps as dump_receipt
from processors.receipts import loads as load_receipt
from processors.tagging import Match
from streams import erasures
from streams.app import app, dead_letters, settings, stats, topics
from streams.errors import DecodeError
from streams.headers import REPLAY, header
from streams.mapping import from_avro, to_avro
from streams.rules import read_pack
from streams.tables import bytes_table, lookup

logger = logging.getLogger(__name__)
RECEIPTS, CONVERSATIONS = "state.receipts", "state.conversations"
statuses, messages = topics["statuses"], topics["messages"]
pack = read_pack(settings.rules_file)
rules = ConversationRules(idle_ms=int(settings.conversation_idle_hours * HOUR_MS),
                          reopen_ms=int(settings.conversation_reopen_days * 24 * HOUR_MS))
receipt_state = bytes_table("receipt-state", partitions=statuses.spec.partitions,
                            retention_days=settings.receipt_retention_days, help="wamid -> receipt state (JSON)")
contact_state = bytes_table("contact-state", partitions=messages.spec.partitions,
                            help="contact key -> conversation, tag windows, recent messages (JSON)")
erasures.purge_on_erase(receipt_state, erasures.by_value_field("contact_key"))
erasures.purge_on_erase(contact_state, erasures.by_key())


def conversation_record(conv: Conversation) -> dict[str, Any]:
    rec = to_avro(conv)
    del rec["early_bot_ms"], rec["early_human_ms"]  # internal: replies waiting for a late first inbound
    rec.update(bot_frt_ms=conv.bot_frt_ms, human_frt_ms=conv.human_frt_ms,
               window_expires_ms=conv.window_expires_ms(rules))
    return rec


def tag_record(match: Match, msg: MessageEvent, conversation_id: str | None) -> dict[str, Any]:
    return {"contact_key": msg.contact_key, "wamid": msg.wamid, "phone_number_id": msg.phone_number_id,
            "tag": match.tag, "rule_id": match.rule_id, "pack": match.pack, "rule_version": match.rule_version,
            "department": match.department, "reason": match.reason, "timestamp_ms": msg.timestamp_ms,
            "conversation_id": conversation_id}


async def _undecodable(event: Any, stage: str, exc: Exception) -> None:
    """The sink of the same topic dead-letters undecodable records; here they are only counted."""
    logger.warning("%s: skipped undecodable record %s[%s]@%s: %s", stage, event.message.topic,
                   event.message.partition, event.message.offset, type(exc).__name__)
    stats.add(stage, "undecodable")


@app.agent(statuses.topic, name="scrm.state.receipts")
async def receipts(stream):  # type: ignore[no-untyped-def]
    await erasures.ready()
    async for event in stream.events():
        stats.add(RECEIPTS, "in")
        try:
            status = from_avro(StatusEvent, statuses.decode(event.message.value))
        except (DecodeError, InvalidEvent, KeyError, TypeError, ValueError) as exc:
            await _undecodable(event, RECEIPTS, exc)
            continue
        if erasures.blocked(RECEIPTS, status.contact_key, status.timestamp_ms):
            continue
        key = status.wamid.encode()
        known = lookup(receipt_state, key)
        applied = apply_status(load_receipt(known) if known is not None else None, status)
        if applied.regression:
            stats.add(RECEIPTS, "regressions_prevented")
        # sent even when nothing changed: after a crash the table's changelog can hold a state
        # whose row never reached the topic (the producer does not order topics), and a
        # redelivered status must restore it. Same version, so ClickHouse keeps one row.
        await topics["message.state"].send(status.contact_key, to_avro(applied.state))
        if applied.changed:
            receipt_state[key] = dump_receipt(applied.state)
            stats.add(RECEIPTS, "state_changes")
        stats.add(RECEIPTS, "processed")


@app.agent(messages.topic, name="scrm.state.conversations")
async def conversations(stream):  # type: ignore[no-untyped-def]
    near_duplicate_ms = int(settings.near_duplicate_seconds * 1000)
    await erasures.ready()
    async for event in stream.events():
        stats.add(CONVERSATIONS, "in")
        try:
            msg = from_avro(MessageEvent, messages.decode(event.message.value))
        except (DecodeError, InvalidEvent, KeyError, TypeError, ValueError) as exc:
            await _undecodable(event, CONVERSATIONS, exc)
            continue
        if erasures.blocked(CONVERSATIONS, msg.contact_key, msg.timestamp_ms):
            continue
        key = msg.contact_key.encode()
        known = lookup(contact_state, key)
        try:
            step = apply_message(load_contact(known) if known is not None else None, msg, pack=pack, rules=rules,
                                 zone=zone_for(msg.phone_e164, settings.default_timezone),
                                 near_duplicate_ms=near_duplicate_ms, replayed=header(event, REPLAY) is not None)
        except (InvalidEvent, KeyError, TypeError, ValueError) as exc:  # corrupt stored state, bad values
            await dead_letters.reject(event, CONVERSATIONS, exc)
            continue
        if step.duplicate:  # a redelivery: re-send what it produced (see the receipts agent)
            stats.add(CONVERSATIONS, "deduplicated")
        for conv in step.conversations:
            await topics["conversations"].send(msg.contact_key, conversation_record(conv))
        conversation_id = step.state.conversation.conversation_id if step.state.conversation else None
        for match in step.tags:
            await topics["tags"].send(msg.contact_key, tag_record(match, msg, conversation_id))
            stats.add(CONVERSATIONS, f"tag.{match.tag}")
        if not step.duplicate:
            contact_state[key] = dump_contact(step.state)
            stats.add(CONVERSATIONS, "processed")
