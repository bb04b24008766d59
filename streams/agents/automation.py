"""Churn, segments, automations and the policy gate (DESIGN §5), on ``signals``.

One agent, one table (``engagement``), per partition:

* ``c/<contact key>``: the contact's engagement state (``processors.engagement``);
* ``clock/<partition>``: the partition's event time: the latest signal time seen (a time more than
  SCRM_MAX_CLOCK_SKEW_SECONDS ahead of the wall clock does not count);
* ``due/<partition>/<minute>``: contacts with a timer due in that minute.

When a signal moves the partition's event time into a new minute, every contact due before it
is advanced to its own due time (silence changing a segment, a deferred coupon at 08:00, a weekly
follow-up, an SLA check), then the signal is applied to its contact. Idle partitions move on with
tick signals (the leader sends one per partition every SCRM_CLOCK_TICK_SECONDS; ``scrm clock
tick --at`` sends one by hand). Results do not depend on when a timer is noticed: each fires at
its due time, and a contact's own signal fires its due timers first.

Signals are taken in batches (SCRM_AUTOMATION_BATCH_SIZE within SCRM_AUTOMATION_BATCH_SECONDS) and
handled one by one in offset order, each partition's against a unit of work that sees the table
as the earlier signals of the batch left it. Outputs (decisions, sends, CRM writes, scores,
identity observations) of the whole unit are produced and flushed once, then the unit's table
changes are written, then the signals are acknowledged: a crash anywhere in between replays the
signals, which yield the same records with the same ids (the sender, the CRM writer and
ClickHouse keep one of each). A flush per signal made every signal wait for a broker round trip."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from aiokafka.errors import KafkaError

from processors.engagement import Context, Engagement, Step, advance, apply_signal
from processors.engagement_codec import dumps, loads
from processors.errors import InvalidEvent
from processors.events import Signal, SignalKind
from processors.identity_sources import from_whatsapp
from processors.policy import Outcome
from streams import erasures
from streams.app import app, dead_letters, settings, stats, topics
from streams.automation_records import (
    TICK_KEY,
    crm_record,
    decision_record,
    outbound_record,
    score_record,
    tick_record,
)
from streams.errors import DecodeError
from streams.headers import EFFECTS, REPLAY, Headers, effects_off, header
from streams.identity_records import observation_record
from streams.kafka_admin import BrokerUnavailable, oldest_pending_ms
from streams.mapping import from_avro
from streams.rules import read_automations, read_lexicon, read_pack
from streams.tables import bytes_table, lookup, write_as

logger = logging.getLogger(__name__)
STAGE = "automation"
MINUTE_MS = 60_000
# A tick alone writes the partition clock at most this often. Not writing it only makes the next
# scan start at an older minute (buckets are deleted once fired, so nothing fires twice), and
# idle ticks stop producing a changelog write per partition per minute: an in-flight changelog
# write at shutdown sends the next start through Faust's changelog recovery (docs/automation.md).
CLOCK_PERSIST_MS = 3_600_000
signals = topics["signals"]
config = read_automations(settings.automations_file)
ctx = Context(tags=read_pack(settings.rules_file), sentiment=read_lexicon(settings.sentiment_file),
              automations=config.automations, policy=config.policy, churn=config.churn,
              default_timezone=settings.default_timezone)
engagement = bytes_table("engagement", partitions=signals.spec.partitions,
                         help="contact key -> engagement state; partition event time; timers by minute")
erasures.purge_on_erase(engagement, erasures.by_key(b"c/"))


def _contact_key(contact: str) -> bytes:
    return b"c/" + contact.encode()


def _due_key(partition: int, minute: int) -> bytes:
    return f"due/{partition}/{minute}".encode()


class Batch:
    """What one signal changes: records to send, then table writes (after a flush)."""

    def __init__(self, floor_minute: int, headers: Headers | None = None) -> None:
        self.floor_minute = floor_minute  # the partition's current minute: earlier buckets are never read again
        self.headers = headers  # a replay without side effects: its commands carry scrm-effects: off
        self.records: list[tuple[str, str, dict[str, Any]]] = []
        self.states: dict[str, Engagement] = {}
        self.schedule: dict[int, set[str]] = {}  # minute -> contacts newly due in it
        self.fired: set[int] = set()  # minutes whose contacts were advanced: their buckets go

    def emit(self, step: Step, at_ms: int | None = None) -> None:
        state = step.state
        for d in step.decisions:
            self.records.append(("decisions", state.contact_key, decision_record(d, state, ctx.automations.version)))
            stats.add(STAGE, f"decision.{d.outcome.value}.{d.reason}")
            if d.outcome is Outcome.ALLOW and d.action.customer_facing:
                self.records.append(("outbound", state.contact_key, outbound_record(d, state)))
        for u in step.crm:
            self.records.append(("crm.writes", state.contact_key, crm_record(u, state)))
        for s in step.scores:
            self.records.append(("scores", state.contact_key, score_record(s, state)))
            if s.score.segment != s.previous_segment:
                stats.add(STAGE, f"segment.{s.score.segment}")
        if step.identity_changed:  # a number or profile name first seen or changed: identity resolution
            seen = from_whatsapp(state.contact_key, state.wa_id, state.profile_name, at_ms or state.clock_ms)
            self.records.append(("identity", state.contact_key, observation_record(seen)))

    def keep(self, before: Engagement | None, after: Engagement) -> None:
        self.states[after.contact_key] = after
        due = after.next_due_ms
        if due is not None and (before is None or before.next_due_ms != due):
            minute = max(due // MINUTE_MS, self.floor_minute)
            self.schedule.setdefault(minute, set()).add(after.contact_key)


class Unit:
    """The signals of one partition in one taken batch: their records, sent and flushed once, then
    their table writes. Reads see the table as the unit's earlier signals left it."""

    def __init__(self, event: Any) -> None:
        self.event = event  # the latest of the unit's events: table writes go to its partition
        self.partition: int = event.message.partition
        self.records: list[tuple[str, str, dict[str, Any], Headers | None]] = []
        self.writes: dict[bytes, bytes | None] = {}  # table key -> value; None: delete
        self.states: dict[str, Engagement] = {}  # contact -> state, encoded once at the end
        # minute -> the partition's timer bucket as the unit's signals left it (empty: delete),
        # encoded once at the end: a bucket written per signal was parsed and encoded again for
        # every signal that added to it
        self.buckets: dict[int, set[str]] = {}
        self._stored: dict[int, frozenset[str]] = {}  # buckets as read from the table
        self.erasures = erasures.generation()

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        value: bytes | None = lookup(engagement, key)
        return value

    def bucket(self, minute: int) -> frozenset[str] | set[str]:
        """The contacts due in ``minute`` as the unit's earlier signals left them."""
        if minute in self.buckets:
            return self.buckets[minute]
        if minute not in self._stored:
            raw = lookup(engagement, _due_key(self.partition, minute))
            self._stored[minute] = frozenset(json.loads(raw)) if raw is not None else frozenset()
        return self._stored[minute]

    def add(self, batch: Batch, clock: int, new_clock: int | None) -> None:
        """One signal's outcome (``batch``), as ``_commit`` wrote it to the table before batching."""
        self.records += [(topic, key, record, batch.headers) for topic, key, record in batch.records]
        for minute in batch.fired:
            self.buckets[minute] = set()
        for minute, contacts in batch.schedule.items():
            if minute not in self.buckets:
                self.buckets[minute] = set(self.bucket(minute))
            self.buckets[minute].update(contacts)
        self.states.update(batch.states)
        if new_clock is not None and (batch.states or batch.fired or batch.schedule
                                      or new_clock - clock >= CLOCK_PERSIST_MS):
            self.writes[f"clock/{self.partition}".encode()] = str(new_clock).encode()

    async def commit(self) -> None:
        for topic, key, record, headers in self.records:
            await topics[topic].send(key, record, headers)
        if self.records:
            await app.producer.flush()  # the records are durable before the state that produced them
        write_as(self.event)
        for minute, contacts in self.buckets.items():
            if frozenset(contacts) != self._stored.get(minute):
                encoded = json.dumps(sorted(contacts)).encode() if contacts else None
                self.writes[_due_key(self.partition, minute)] = encoded
        for table_key, value in self.writes.items():
            if value is not None:
                engagement[table_key] = value
            elif lookup(engagement, table_key) is not None:
                del engagement[table_key]
        erased = erasures.generation() != self.erasures  # the erasure purged the table, not these states
        for contact, state in self.states.items():
            if erased and erasures.names(contact):
                continue
            engagement[_contact_key(contact)] = dumps(state)


def _load(contact: str, batch: Batch, unit: Unit) -> Engagement | None:
    if contact in batch.states:
        return batch.states[contact]
    if contact in unit.states:
        return unit.states[contact]
    raw = lookup(engagement, _contact_key(contact))
    return loads(raw) if raw is not None else None


def _fire(clock: int, now: int, batch: Batch, unit: Unit) -> None:
    """Advance every contact of the unit's partition with a timer due before ``now``'s minute, each to the
    end of the previous minute (timers fire at their own due times inside ``advance``)."""
    first = clock // MINUTE_MS if clock else now // MINUTE_MS
    limit = (now // MINUTE_MS) * MINUTE_MS - 1
    for minute in range(first, now // MINUTE_MS):
        due = unit.bucket(minute)
        if not due:
            continue
        batch.fired.add(minute)
        for contact in sorted(due):
            state = _load(contact, batch, unit)
            if state is None or state.next_due_ms is None or state.next_due_ms > limit:
                continue  # already advanced, or moved on since it was scheduled here
            step = advance(state, limit, ctx)
            batch.emit(step)
            batch.keep(state, step.state)
            stats.add(STAGE, "timers_fired")


@app.agent(signals.topic, name="scrm.automation")
async def automation(stream):  # type: ignore[no-untyped-def]
    await erasures.ready()
    async for events in stream.noack_take(settings.automation_batch_size, settings.automation_batch_seconds):
        units: dict[int, Unit] = {}
        for event in events:
            unit = units.setdefault(event.message.partition, Unit(event))
            unit.event = event
            write_as(event)  # table reads look in this event's partition (taken batches have no current event)
            await _handle(event, unit)
        for unit in units.values():
            await unit.commit()
        for event in events:
            await stream.ack(event)


async def _handle(event: Any, unit: Unit) -> None:
    """One signal, against ``unit``: timers due before its time fire first, then it is applied."""
    stats.add(STAGE, "in")
    try:
        sig = from_avro(Signal, signals.decode(event.message.value))
    except (DecodeError, InvalidEvent, KeyError, TypeError, ValueError) as exc:
        await dead_letters.reject(event, STAGE, exc)
        return
    raw_clock = unit.get(f"clock/{unit.partition}".encode())
    clock = int(raw_clock) if raw_clock is not None else 0
    new_clock = None
    if clock < sig.timestamp_ms <= time.time() * 1000 + settings.max_clock_skew_seconds * 1000:
        new_clock = sig.timestamp_ms
    batch = Batch((new_clock or clock) // MINUTE_MS, [(EFFECTS, b"off")] if effects_off(event) else None)
    if new_clock is not None:
        _fire(clock, new_clock, batch, unit)
    elif sig.timestamp_ms > clock:
        stats.add(STAGE, "clock_skew_ignored")
    if sig.kind is SignalKind.TICK:
        stats.add(STAGE, "ticks")
    elif not erasures.blocked(STAGE, sig.contact_key, sig.timestamp_ms):  # an erased customer's: dropped
        try:
            before = _load(sig.contact_key, batch, unit)
            step = apply_signal(before, sig, ctx, replayed=header(event, REPLAY) is not None)
        except (InvalidEvent, KeyError, TypeError, ValueError) as exc:  # corrupt stored state, bad values
            await dead_letters.reject(event, STAGE, exc)
            return
        if step.duplicate:
            stats.add(STAGE, "deduplicated")
        else:
            batch.emit(step, sig.timestamp_ms)
            batch.keep(before, step.state)
    unit.add(batch, clock, new_clock)
    stats.add(STAGE, "processed")


async def send_ticks(at_ms: int) -> int:
    """A tick at ``at_ms`` on every partition of ``signals``; the number sent."""
    record = signals.encode(tick_record(at_ms))
    for partition in range(signals.spec.partitions):
        await signals.topic.send(key=TICK_KEY, value=record, partition=partition)
    return signals.spec.partitions


async def tick_time(now_ms: int) -> int:
    """Where the leader's tick puts event time: ``now_ms``, or just before the oldest raw webhook the
    normalize stage has not committed yet. Its signals will be appended after the tick, so a tick at
    the wall clock during a backlog (a catch-up after an outage, a replay) would declare every
    contact of the backlog silent up to now before its own earlier messages arrive."""
    pending = await oldest_pending_ms(settings, settings.app_id, [topics["raw.whatsapp"].name])
    return now_ms if pending is None else min(now_ms, pending - 1)


if settings.clock_tick_seconds > 0:
    @app.timer(settings.clock_tick_seconds, on_leader=True, name="scrm.clock")  # type: ignore[untyped-decorator]
    async def clock_ticks() -> None:
        try:
            at_ms = await tick_time(int(time.time() * 1000))
        except (BrokerUnavailable, KafkaError, TimeoutError) as exc:  # the next tick tries again
            logger.warning("clock tick skipped: the raw topics' backlog could not be read (%s)", type(exc).__name__)
            stats.add(STAGE, "ticks_skipped")
            return
        await send_ticks(at_ms)
