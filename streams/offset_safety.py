"""Never commit an offset the worker has not processed (a guard on Faust's consumer).

After a restart, Faust can deliver a partition's first records before it seeks to the committed
offset, then read on from where that earlier fetch stopped: the offsets in between are treated
as a "gap" and marked acknowledged (``Consumer._add_gap``), and ``Consumer._new_offset`` commits
past an offset that was never acknowledged when the next one was (its check is off by one).
Events were lost that way in the SIGKILL test (``tests/e2e/test_state_restart.py``): every agent
reading the partition skipped them.

On topics without compaction offsets are dense, so a gap can only mean unread records. There
this guard ignores gaps and refuses to commit while the committed offset itself is unacknowledged:
the worker then stops committing instead of losing events, and the stall watchdog
(``streams.watchdog``) restarts it, which reads again from the committed offset. Compacted topics
(holes are normal there) keep Faust's behaviour.

Two more ways, found with workers joining and leaving a group (``tests/reliability/
test_rebalance.py``; two ``scrm worker`` processes starting together on a backlog lost 392
messages):

- Faust drops records that arrive while flow control is suspended (a rebalance's table recovery)
  and relies on seeking back to the committed offset afterwards. aiokafka's ``seek_to_committed``
  leaves a partition without a committed offset (None, or 0) where it is, so in a fresh group the
  dropped records were never read again and the next commit went past them. Such partitions are
  now sought to the ``auto_offset_reset`` point instead.
- Faust acknowledges an event when its stream iterator is closed: also when the agent was
  cancelled in the middle of it (shutdown, crash) and when it skips the events still buffered after
  a revocation. The shutdown commit then covered an event that was never processed. An
  acknowledgement now counts towards a commit only from the current consumer generation, while
  flow control is active and the app is not stopping, and each assignment starts its partitions'
  bookkeeping afresh. Faust's compiled stream iterator (``faust._cython.streams``) inlines
  ``Consumer.ack``, so the pure-Python iterator is used instead. Whatever is not committed is read
  again by the partition's next owner; every effect is idempotent.

Holding back a commit only helps if the record it waits for is read again. So each time Faust
commits, a partition whose committed offset was read past but is neither acknowledged nor in
flight (skipped in a gap, dropped while flow was suspended, or acknowledged from an earlier
generation; or taken from aiokafka and dropped before it was handed on: aiokafka's position past
it, unchanged at two commits in a row) is sought back to that offset, and the records of that
partition fetched before the seek are dropped: the worker heals itself instead of waiting for the
stall watchdog.
Records between that offset and the read position are processed again; every effect is
idempotent. A partition with no committed offset yet has where its last seek put it (the reset
point) stand in for one, in this and in the commit guard above: in a fresh group the first
records of a partition could otherwise be dropped during a rebalance and committed past.

Healing at the next commit keeps the count right but not the order: the records read past the
lost one were processed before it (a reply before the message it answers is not a response). So
every fetched batch also goes through ``in_order``: a partition hands on nothing between its
assignment and its seek to the committed offset, and a record past its next offset makes it seek
back to that offset at once instead of being handed on."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from weakref import WeakValueDictionary

from aiokafka.errors import IllegalStateError
from faust import streams as faust_streams
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

logger = logging.getLogger(__name__)
rewinds: Counter[str] = Counter()  # seeks back to a lost record, per topic (``scrm_consumer_rewinds_total``)


def install(compacted: Callable[[str], bool]) -> None:
    """Guard Faust's consumer; ``compacted(topic)`` says where holes in offsets are normal."""
    add_gap, new_offset = Consumer._add_gap, Consumer._new_offset

    async def _add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
        if compacted(tp.topic):
            await add_gap(self, tp, offset_from, offset_to)
            return
        logger.warning("%s[%s]: read skipped from offset %d to %d; the offsets in between count as processed "
                       "only once acknowledged", tp.topic, tp.partition, offset_from - 1, offset_to)

    def _new_offset(self: Any, tp: Any) -> int | None:
        acked, first = self._acked[tp], next_to_process(self, tp)
        if acked and first is not None and not compacted(tp.topic) and min(acked) > first:
            return None  # offset `first` (the next to process) has not been acknowledged
        result: int | None = new_offset(self, tp)
        return result

    Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    _seek_uncommitted_to_reset_point()
    _guard_acks()
    _rewind_to_lost_records(compacted)


def next_to_process(consumer: Any, tp: Any) -> int | None:
    """The committed offset or, for a partition with none, where the last seek put it (``_scrm_start``)."""
    committed: int | None = consumer._committed_offset.get(tp)
    if committed is not None:
        return committed
    start: int | None = consumer.__dict__.get("_scrm_start", {}).get(tp)
    return start


def lost_offsets(consumer: Any, compacted: Callable[[str], bool]) -> dict[Any, int]:
    """The partitions whose committed offset was read past (by Faust, or by aiokafka with nothing
    handed on) and will never be acknowledged.

    A record is in flight from the moment Faust's fetch loop hands it on until it is acknowledged
    (it may wait in a stream's buffer, where Faust does not track it yet): ``_scrm_delivered`` holds
    every record handed on, weakly, so one dropped from the buffers without an ack is gone from it."""
    lost: dict[Any, int] = {}
    acks_enabled_for = consumer.app.topics.acks_enabled_for
    rewinding = consumer.__dict__.get("_scrm_rewinding", {})
    delivered = consumer.__dict__.get("_scrm_delivered", {})
    expected, handing = consumer.__dict__.get("_scrm_next", {}), consumer.__dict__.get("_scrm_handing", False)
    suspected, suspects = consumer.__dict__.get("_scrm_suspects", {}), {}
    assigned = consumer.assignment()  # a revoked partition keeps its bookkeeping until it is assigned again
    for tp in {*consumer._committed_offset, *consumer.__dict__.get("_scrm_start", ())} & assigned:
        committed, read = next_to_process(consumer, tp), consumer._read_offset.get(tp)
        if committed is None or tp in rewinding or compacted(tp.topic) or not acks_enabled_for(tp.topic) \
                or committed in consumer._acked_index.get(tp, ()):
            continue
        message = delivered.get((tp, committed))
        if message is not None and not message.acked:
            continue  # in flight
        if read is not None and read > committed:
            lost[tp] = committed
        elif not handing and expected.get(tp, committed + 1) <= committed:
            # Not handed on, yet aiokafka's position is past it: taken from aiokafka and dropped on
            # the way (``in_order`` drops a partition's records until its seek to the committed
            # offset returns, and records fetched right after that seek arrive first; Faust's fetch
            # drops a batch when flow stops). Lost when seen so at two checks in a row with nothing
            # moving in between (aiokafka's position moves before the records reach ``in_order``).
            position = fetch_position(consumer, tp)
            if position is not None and position > committed:
                suspects[tp] = (committed, position)
                if suspected.get(tp) == suspects[tp]:
                    lost[tp] = committed
    consumer.__dict__["_scrm_suspects"] = suspects
    return lost


def fetch_position(consumer: Any, tp: Any) -> int | None:
    """aiokafka's fetch position for ``tp``: the offset after the last record it handed out (None
    before the consumer started, unassigned, or waiting for a seek or an offset reset)."""
    kafka = consumer._thread._consumer
    subscription = kafka._subscription.subscription if kafka is not None else None
    assignment = subscription.assignment if subscription is not None else None
    if assignment is None or tp not in assignment.tps:
        return None
    state = assignment.state_value(tp)  # None when aiokafka's thread unassigned it since the check above
    return state.position if state is not None and state.has_valid_position else None


def describe(consumer: Any, tp: Any) -> str:
    """One partition's bookkeeping in this worker, for the stall watchdog's log line (offsets only):
    Faust's committed, read and acknowledged offsets, the next offset ``in_order`` hands on, whether
    it is assigned, paused or being sought back, and how many handed-on records are unacknowledged."""
    acked = consumer._acked.get(tp) or ()
    in_flight = sum(1 for (t, _), m in list(consumer.__dict__.get("_scrm_delivered", {}).items())
                    if t == tp and not m.acked)
    flags = [name for name, on in (("assigned", tp in consumer.assignment()),
                                   ("active", tp in (consumer._active_partitions or ())),
                                   ("paused", tp in consumer._paused_partitions),
                                   ("buffer-full", tp in consumer._buffered_partitions),
                                   ("rewinding", tp in consumer.__dict__.get("_scrm_rewinding", {}))) if on]
    return (f"{tp.topic}[{tp.partition}] committed={next_to_process(consumer, tp)} "
            f"read={consumer._read_offset.get(tp)} next={consumer.__dict__.get('_scrm_next', {}).get(tp)} "
            f"acked={len(acked)}{f' from {min(acked)}' if acked else ''} in_flight={in_flight} "
            f"{','.join(flags) or 'unassigned'} {_fetcher_state(consumer, tp)}")


def _fetcher_state(consumer: Any, tp: Any) -> str:
    """aiokafka's view of ``tp``: its fetch position, and whether it holds records Faust has not taken."""
    held = tp in consumer._thread._ensure_consumer()._fetcher._records
    return f"kafka_position={fetch_position(consumer, tp)}{' kafka_holds_records' if held else ''}"


def fetch_state(consumer: Any) -> str:
    """Whether Faust's flow is on, and the partitions aiokafka holds fetched records for that Faust
    has not taken (a partition left there blocks the fetches from its broker while its prefetch
    backoff lasts)."""
    kafka = consumer._thread._ensure_consumer()
    active = consumer._active_partitions or set()
    held = [f"{tp.topic}[{tp.partition}]{'' if tp in active else '(inactive)'}" for tp in kafka._fetcher._records]
    return f"flow={'active' if consumer.flow_active else 'stopped'}; fetched, not taken: {', '.join(held) or 'none'}"


async def rewind(consumer: Any, compacted: Callable[[str], bool]) -> None:
    """Seek every partition in ``lost_offsets`` back to its lost record (called before each commit)."""
    for tp, offset in lost_offsets(consumer, compacted).items():
        logger.warning("%s[%s]: offset %d was read past but never processed; reading again from it",
                       tp.topic, tp.partition, offset)
        await _seek_back(consumer, tp, offset)


async def _seek_back(consumer: Any, tp: Any, offset: int) -> None:
    """Seek ``tp`` back to ``offset``; its records fetched before the seek are dropped (``in_order``)."""
    rewinding = consumer.__dict__.setdefault("_scrm_rewinding", {})
    rewinding[tp] = offset
    try:
        await consumer.seek(tp, offset)
    except IllegalStateError:  # revoked since it was looked at: its next owner reads from the committed offset
        rewinding.pop(tp, None)
        return
    rewinds[tp.topic] += 1


MAX_SEEKS_BACK = 5  # to one offset; then the records past it are handed on (the commit guard still holds)


async def _gone(consumer: Any, tp: Any, offset: int) -> bool:
    """Whether the log no longer has ``offset`` (retention deleted it): then seeking to it cannot help."""
    try:
        earliest = (await consumer.earliest_offsets(tp)).get(tp)
    except Exception:  # the broker did not answer: seek back again, up to MAX_SEEKS_BACK
        logger.warning("%s[%s]: could not ask the broker for its first offset", tp.topic, tp.partition, exc_info=True)
        return False
    return earliest is not None and earliest > offset


async def in_order(consumer: Any, records: AsyncIterator[tuple[Any, Any]],
                   compacted: Callable[[str], bool]) -> AsyncIterator[tuple[Any, Any]]:
    """One batch of records from Faust's ``getmany``: each partition's in offset order, without holes.

    A record past the partition's next offset (Faust delivering from a fetch made before its seek to
    the committed offset) is not handed on: the partition is sought back to that offset at once and
    the rest of its records in this batch are dropped, so the records in between are read before it
    and a stage never sees a later record before an earlier one. Only topics without compaction,
    whose offsets are dense. When the seek back lands past that offset again, the broker is asked
    whether retention deleted the records in between; if so (or after ``MAX_SEEKS_BACK`` seeks to the
    same offset) the records past it are handed on with a warning instead of seeking for ever."""
    rewinding = consumer.__dict__.setdefault("_scrm_rewinding", {})
    if rewinding:  # sought back during the last batch: this one starts at the seek offset
        for tp, offset in rewinding.items():
            consumer._read_offset[tp] = offset  # a record delivered during the seek set it past (Faust drops below)
        rewinding.clear()
    delivered = consumer.__dict__.setdefault("_scrm_delivered", WeakValueDictionary())
    expected = consumer.__dict__.setdefault("_scrm_next", {})
    resought = consumer.__dict__.setdefault("_scrm_resought", {})
    acks_enabled_for = consumer.app.topics.acks_enabled_for
    try:
        async for tp, message in records:
            consumer.__dict__["_scrm_handing"] = True  # a batch taken from aiokafka is being handed on
            if rewinding and tp in rewinding:
                continue  # fetched before the seek back (aiokafka drops what it buffered)
            offset, want = message.offset, expected.get(tp)
            if (want is None or offset > want) and not compacted(tp.topic) and acks_enabled_for(tp.topic):
                if want is None:  # assigned, not sought to its committed offset yet: the seek reads it again
                    continue  # (unless fetched after the seek, before its result came back: ``lost_offsets``)
                target, tries = resought.get(tp, (None, 0))
                tries = tries if target == want else 0
                if tries < MAX_SEEKS_BACK and not (tries and await _gone(consumer, tp, want)):
                    logger.warning("%s[%s]: fetched offset %d before offset %d; reading again from %d",
                                   tp.topic, tp.partition, offset, want, want)
                    resought[tp] = (want, tries + 1)
                    await _seek_back(consumer, tp, want)
                    continue
                logger.warning("%s[%s]: offsets %d to %d could not be read (%s); reading on from %d", tp.topic,
                               tp.partition, want, offset - 1, "deleted by retention" if tries < MAX_SEEKS_BACK
                               else f"{tries} seeks back", offset)
            if want is None or offset >= want:  # (None: a topic with holes, or one Faust does not commit)
                expected[tp] = offset + 1
                if resought and offset == want:
                    resought.pop(tp, None)  # read again from where it was missing
            delivered[tp, offset] = message
            yield tp, message
    finally:
        consumer.__dict__["_scrm_handing"] = False


def _rewind_to_lost_records(compacted: Callable[[str], bool]) -> None:
    if getattr(Consumer, "_scrm_rewinds", False):
        return
    force_commit, getmany, on_assigned = Consumer.force_commit, Consumer.getmany, Consumer.on_partitions_assigned
    seek = Consumer.seek

    async def _force_commit(self: Any, topics: Any = None, start_new_transaction: bool = True) -> bool:
        app = self.app
        if self.flow_active and not (app.should_stop or app.rebalancing):
            await rewind(self, compacted)
        result: bool = await force_commit(self, topics, start_new_transaction=start_new_transaction)
        return result

    def _getmany(self: Any, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        return in_order(self, getmany(self, timeout), compacted)

    async def _seek(self: Any, partition: Any, offset: int) -> None:
        await seek(self, partition, offset)
        self.__dict__.setdefault("_scrm_next", {})[partition] = offset  # the next record this partition delivers

    async def _on_partitions_assigned(self: Any, assigned: Any, generation_id: int = 0) -> None:
        rewinding, starts = self.__dict__.setdefault("_scrm_rewinding", {}), self.__dict__.get("_scrm_start", {})
        expected, resought = self.__dict__.get("_scrm_next", {}), self.__dict__.get("_scrm_resought", {})
        for tp in assigned:
            rewinding.pop(tp, None)  # an assignment seeks to the committed offset anyway
            starts.pop(tp, None)
            expected.pop(tp, None)  # known again once it is sought to its committed offset
            resought.pop(tp, None)
        await on_assigned(self, assigned, generation_id)

    Consumer.force_commit = _force_commit  # type: ignore[method-assign]
    Consumer.getmany = _getmany  # type: ignore[method-assign]
    Consumer.seek = _seek  # type: ignore[method-assign]
    Consumer.on_partitions_assigned = _on_partitions_assigned  # type: ignore[method-assign]
    Consumer._scrm_rewinds = True  # type: ignore[attr-defined]


def _seek_uncommitted_to_reset_point() -> None:
    if getattr(AIOKafkaConsumerThread, "_scrm_seeks_uncommitted", False):
        return

    async def seek_to_committed(self: Any) -> Mapping[Any, int]:
        consumer = self._ensure_consumer()

        async def seek() -> tuple[Mapping[Any, int], dict[Any, int]]:
            committed: Mapping[Any, int] = await consumer.seek_to_committed()
            fresh = [tp for tp, offset in committed.items() if not offset]  # None, or 0 (aiokafka skips it too)
            if fresh:
                if self.app.conf.consumer_auto_offset_reset == "latest":
                    await consumer.seek_to_end(*fresh)
                else:
                    await consumer.seek_to_beginning(*fresh)
            starts = {}
            for tp in fresh:
                try:
                    starts[tp] = await consumer.position(tp)
                except IllegalStateError:  # revoked meanwhile: its next owner seeks it again
                    continue
            return committed, starts

        committed: Mapping[Any, int]
        committed, starts = await self.call_thread(seek)
        # where the fresh partitions start: the first offset a commit must cover (``next_to_process``)
        self.consumer.__dict__.setdefault("_scrm_start", {}).update(starts)
        # and the next record each partition hands on (``in_order``)
        expected = self.consumer.__dict__.setdefault("_scrm_next", {})
        expected.update({tp: offset for tp, offset in committed.items() if offset})
        expected.update(starts)
        return committed

    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
    AIOKafkaConsumerThread._scrm_seeks_uncommitted = True  # type: ignore[attr-defined]


def _guard_acks() -> None:
    faust_streams._CStreamIterator = None  # type: ignore[attr-defined]  # its inlined ack bypasses the guard
    if getattr(Consumer, "_scrm_guarded_acks", False):
        return
    ack, on_assigned = Consumer.ack, Consumer.on_partitions_assigned

    def _ack(self: Any, message: Any) -> bool:
        app = self.app
        if message.generation_id == app.consumer_generation_id and app.flow_control.is_active() \
                and not app.should_stop:
            result: bool = ack(self, message)
            return result
        with ack_lock:  # done with, but maybe not processed: not committable
            if message.acked:
                return False
            message.acked = True
            self._unacked_messages.discard(message)
            notify(self._waiting_for_ack)
        return False

    async def _on_partitions_assigned(self: Any, assigned: Any, generation_id: int = 0) -> None:
        for tp in assigned:
            self._acked.pop(tp, None)
            self._acked_index.pop(tp, None)
            self._gap.pop(tp, None)
        await on_assigned(self, assigned, generation_id)

    Consumer.ack = _ack  # type: ignore[method-assign]
    Consumer.on_partitions_assigned = _on_partitions_assigned  # type: ignore[method-assign]
    Consumer._scrm_guarded_acks = True  # type: ignore[attr-defined]
