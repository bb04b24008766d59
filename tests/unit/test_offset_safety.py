"""Which acknowledgements may count towards a commit (``streams.offset_safety``); the behaviour on a
real broker with workers joining and leaving is ``tests/reliability/test_rebalance.py``."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from weakref import WeakValueDictionary

import faust.streams
import pytest
from aiokafka.errors import IllegalStateError
from faust.transport.consumer import Consumer

from streams import offset_safety


class _FlowControl:
    def __init__(self, active: bool) -> None:
        self.active = active

    def is_active(self) -> bool:
        return self.active


def _consumer(*, generation: int = 3, flow: bool = True, stopping: bool = False) -> SimpleNamespace:
    app = SimpleNamespace(consumer_generation_id=generation, flow_control=_FlowControl(flow), should_stop=stopping,
                          topics=SimpleNamespace(acks_enabled_for=lambda topic: True))
    return SimpleNamespace(app=app, _committed_offset=defaultdict(lambda: None), _acked=defaultdict(list),
                           _acked_index=defaultdict(set), _gap=defaultdict(list),
                           _n_acked=0, _unacked_messages=set(), _waiting_for_ack=None)


class _Message(SimpleNamespace):
    __hash__ = object.__hash__  # the consumer keeps unacknowledged messages in a set


def _message(offset: int, generation: int = 3) -> _Message:
    return _Message(acked=False, tp=("messages", 0), offset=offset, topic="messages", generation_id=generation)


@pytest.fixture(autouse=True)
def guarded() -> None:
    offset_safety.install(lambda topic: False)


def test_an_event_processed_in_the_current_generation_counts():
    consumer, message = _consumer(), _message(7)
    assert Consumer.ack(consumer, message) is True
    assert consumer._acked[("messages", 0)] == [7]


@pytest.mark.parametrize("state", [
    {"stopping": True},  # an agent cancelled mid-event by a shutdown: Faust still acks it
    {"flow": False},  # events skipped while a rebalance suspended flow control
    {"generation": 4},  # fetched before the last rebalance
])
def test_an_ack_that_may_not_follow_processing_is_not_committable(state):
    consumer, message = _consumer(**state), _message(7)
    assert Consumer.ack(consumer, message) is False
    assert message.acked  # done with: nothing waits for it
    assert consumer._acked == {}


def test_faust_streams_use_the_iterator_whose_acks_are_guarded():
    assert faust.streams._CStreamIterator is None


class _TP(SimpleNamespace):
    __hash__ = object.__hash__


def _aiokafka(positions: dict[_TP, int | None]) -> SimpleNamespace:
    """What ``fetch_position`` reads of Faust's aiokafka consumer thread: each partition's fetch state."""
    def state_value(tp: _TP) -> SimpleNamespace | None:
        if tp not in positions:
            return None  # unassigned by aiokafka's thread between the membership test and this call
        return SimpleNamespace(has_valid_position=positions[tp] is not None, position=positions[tp])
    assignment = SimpleNamespace(tps=set(positions), state_value=state_value)
    kafka = SimpleNamespace(_subscription=SimpleNamespace(subscription=SimpleNamespace(assignment=assignment)))
    return SimpleNamespace(_consumer=kafka)


def _reading(*, committed: int | None = 100, read: int | None = 120, acked: set[int] | None = None,
             inflight: tuple[int, ...] = (), acks: bool = True, rewinding: bool = False,
             position: int | None = None) -> tuple[SimpleNamespace, _TP]:
    tp = _TP(topic="messages", partition=0)
    consumer = _consumer()
    consumer._thread = _aiokafka({tp: position})
    consumer.app.topics.acks_enabled_for = lambda topic: acks
    consumer._committed_offset[tp] = committed
    consumer._read_offset = defaultdict(lambda: None, {tp: read})
    consumer._acked_index[tp] = acked or set()
    consumer.assignment = lambda: {tp}
    consumer.kept = [_Message(tp=tp, offset=o, acked=False) for o in inflight]  # what holds them in flight
    consumer._scrm_delivered = WeakValueDictionary({(tp, m.offset): m for m in consumer.kept})
    if rewinding:
        consumer._scrm_rewinding = {tp: committed}
    return consumer, tp


def test_a_committed_offset_read_past_neither_acked_nor_in_flight_is_lost():
    consumer, tp = _reading(acked={101, 102}, inflight=(103,))
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {tp: 100}


@pytest.mark.parametrize("state", [
    {"acked": {100}},  # processed, waiting for the next commit
    {"inflight": (100,)},  # handed on, not acknowledged yet (maybe still in a stream's buffer)
    {"read": 100},  # not read past yet
    {"read": None},  # nothing read since the assignment
    {"committed": None},  # no committed offset: the assignment seeks to the reset point
    {"acks": False},  # a topic Faust does not commit (a changelog)
    {"rewinding": True},  # already sought back, waiting for the record
])
def test_a_committed_offset_that_will_still_be_acked_or_is_handled_elsewhere_is_not_lost(state):
    consumer, _ = _reading(**state)
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {}


def test_records_taken_from_aiokafka_and_dropped_before_they_were_handed_on_are_lost():
    # the stall after a restart without the local directory: aiokafka's position moved past the
    # committed offset, yet nothing was handed on (fetched right after the seek to the committed
    # offset, the records reached ``in_order`` before the seek's result and were dropped as unsought)
    consumer, tp = _reading(committed=1, read=1, position=2)
    consumer._scrm_next = {tp: 1}
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {}  # maybe on its way: look again
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {tp: 1}


@pytest.mark.parametrize("change", [
    {"_scrm_handing": True},  # a batch is being handed on (perhaps waiting for a full stream buffer)
    {"position": 1},  # aiokafka has handed out nothing past it: idle, caught up
    {"moved": 3},  # aiokafka handed out more between the checks: records are flowing
    {"_scrm_next": 2},  # handed on, so acked, in flight or dropped later -- the other checks
])
def test_records_not_yet_handed_on_are_not_lost_while_anything_moves(change):
    consumer, tp = _reading(committed=1, read=1, position=change.get("position", 2))
    consumer._scrm_next = {tp: change.get("_scrm_next", 1)}
    consumer._scrm_handing = change.get("_scrm_handing", False)
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {}
    if "moved" in change:
        consumer._thread = _aiokafka({tp: change["moved"]})
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {}


def test_a_partition_aiokafka_unassigned_meanwhile_has_no_position():
    consumer, tp = _reading(committed=1, read=1, position=2)
    gone = _TP(topic="gone", partition=0)  # still in the assignment's partitions, its state already dropped
    consumer._thread._consumer._subscription.subscription.assignment.tps.add(gone)
    assert offset_safety.fetch_position(consumer, gone) is None
    assert offset_safety.fetch_position(consumer, tp) == 2


def test_the_stall_report_gives_a_partitions_offsets_as_faust_and_aiokafka_see_them():
    consumer, tp = _reading(committed=1, read=1, position=2)
    consumer._scrm_next = {tp: 1}
    consumer._active_partitions, consumer._paused_partitions, consumer._buffered_partitions = {tp}, set(), set()
    kafka = consumer._thread._consumer
    kafka._fetcher = SimpleNamespace(_records={})
    consumer._thread._ensure_consumer = lambda: kafka
    consumer.flow_active = True
    assert offset_safety.describe(consumer, tp) == \
        "messages[0] committed=1 read=1 next=1 acked=0 in_flight=0 assigned,active kafka_position=2"
    assert offset_safety.fetch_state(consumer) == "flow=active; fetched, not taken: none"
    changelog = _TP(topic="app-seen-changelog", partition=3)
    kafka._fetcher._records[changelog] = object()
    assert offset_safety.fetch_state(consumer) == "flow=active; fetched, not taken: app-seen-changelog[3](inactive)"


def test_a_revoked_partition_is_left_to_its_next_owner():
    consumer, _ = _reading()
    consumer.assignment = set  # revoked; Faust keeps its offsets until the next assignment
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {}


async def test_a_partition_revoked_between_the_check_and_the_seek_does_not_crash_the_worker():
    consumer, tp = _reading()
    sought: list[tuple[_TP, int]] = []

    async def seek(partition: _TP, offset: int) -> None:
        sought.append((partition, offset))
        if len(sought) == 1:  # what aiokafka raises for a partition no longer assigned
            raise IllegalStateError(f"No current assignment for partition {partition}")

    consumer.seek = seek
    before = offset_safety.rewinds["messages"]
    await offset_safety.rewind(consumer, lambda topic: False)
    assert sought == [(tp, 100)] and consumer._scrm_rewinding == {}
    assert offset_safety.rewinds["messages"] == before  # no seek back happened
    await offset_safety.rewind(consumer, lambda topic: False)  # still lost, and assigned again: sought back
    assert consumer._scrm_rewinding == {tp: 100} and offset_safety.rewinds["messages"] == before + 1


def test_compacted_topics_keep_fausts_holes():
    consumer, _ = _reading()
    assert offset_safety.lost_offsets(consumer, lambda topic: topic == "messages") == {}


def test_a_record_dropped_from_the_buffers_or_acked_without_counting_is_lost():
    consumer, tp = _reading(inflight=(100,))
    consumer.kept[0].acked = True  # an ack that may not count (an earlier generation, a shutdown)
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {tp: 100}
    consumer.kept.clear()  # dropped without an ack: nothing refers to it any more
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {tp: 100}
    assert not consumer._scrm_delivered


def test_without_a_committed_offset_the_reset_point_stands_in_for_it():
    consumer, tp = _reading(committed=None)
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {}
    consumer._scrm_start = {tp: 0}  # sought to the beginning at the assignment; records 0.. never acked
    assert offset_safety.lost_offsets(consumer, lambda topic: False) == {tp: 0}
    consumer._acked[tp] = [24, 25]
    assert Consumer._new_offset(consumer, tp) is None  # Faust alone would commit 26
    consumer._acked[tp] = [0, 1]
    assert Consumer._new_offset(consumer, tp) == 2


class _Seeking(SimpleNamespace):
    """What ``in_order`` uses of Faust's consumer: its seek is the guarded one (it moves ``_scrm_next``)."""

    async def seek(self, tp: _TP, offset: int) -> None:
        if tp in self.revoked:
            raise IllegalStateError(f"No current assignment for partition {tp}")
        self.sought.append((tp, offset))
        self._scrm_next[tp] = offset

    async def earliest_offsets(self, *tps: _TP) -> dict[_TP, int]:
        return {tp: self.log_start for tp in tps}


def _fetching(*, acks: bool = True) -> tuple[_Seeking, _TP, _TP]:
    a, b = _TP(topic="messages", partition=0), _TP(topic="messages", partition=1)
    consumer = _Seeking(app=SimpleNamespace(topics=SimpleNamespace(acks_enabled_for=lambda topic: acks)),
                        _read_offset=defaultdict(lambda: None), sought=[], revoked=set(), log_start=0)
    consumer._scrm_next = {a: 100, b: 7}  # sought to the committed offsets
    return consumer, a, b


async def _batch(consumer: _Seeking, records: list[tuple[_TP, int]], *,
                 compacted: bool = False) -> list[tuple[_TP, int]]:
    async def fetched():
        for tp, offset in records:
            yield tp, _Message(tp=tp, offset=offset, acked=False)

    return [(tp, m.offset) async for tp, m in offset_safety.in_order(consumer, fetched(), lambda topic: compacted)]


async def test_records_that_follow_on_are_handed_on_and_tracked():
    consumer, a, b = _fetching()
    assert await _batch(consumer, [(a, 100), (b, 7), (a, 101), (b, 8)]) == [(a, 100), (b, 7), (a, 101), (b, 8)]
    assert consumer._scrm_next == {a: 102, b: 9} and consumer.sought == []


async def test_a_record_past_the_next_offset_is_not_handed_on_and_the_partition_is_read_again_from_it():
    consumer, a, b = _fetching()
    before = offset_safety.rewinds["messages"]
    handed = await _batch(consumer, [(a, 100), (a, 105), (b, 7), (a, 106), (b, 8)])
    assert handed == [(a, 100), (b, 7), (b, 8)]  # a's records past the hole wait; b goes on
    assert consumer.sought == [(a, 101)] and offset_safety.rewinds["messages"] == before + 1
    # the next batch starts where the seek put it, in order, and Faust's read offset follows the seek
    assert await _batch(consumer, [(a, 101), (a, 102)]) == [(a, 101), (a, 102)]
    assert consumer._read_offset[a] == 101 and consumer._scrm_rewinding == {}


async def test_records_really_gone_are_sought_once_then_read_on():
    consumer, a, _ = _fetching()
    consumer.log_start = 150  # retention deleted 100..149: the seek back lands at 150
    assert await _batch(consumer, [(a, 150)]) == []
    assert await _batch(consumer, [(a, 150), (a, 151)]) == [(a, 150), (a, 151)]
    assert consumer.sought == [(a, 100)] and consumer._scrm_next[a] == 152


async def test_a_stale_fetch_after_the_seek_back_is_sought_again_but_not_for_ever():
    consumer, a, _ = _fetching()  # the log still has offset 100
    for _ in range(offset_safety.MAX_SEEKS_BACK):
        assert await _batch(consumer, [(a, 150)]) == []
    assert consumer.sought == [(a, 100)] * offset_safety.MAX_SEEKS_BACK
    assert await _batch(consumer, [(a, 150)]) == [(a, 150)]  # the commit guard still holds offset 100 back


async def test_records_of_a_partition_not_sought_since_its_assignment_wait_for_the_seek():
    consumer, a, b = _fetching()
    del consumer._scrm_next[a]  # assigned; Faust seeks it to its committed offset when its recovery is done
    assert await _batch(consumer, [(a, 40), (b, 7), (a, 41)]) == [(b, 7)]
    assert consumer.sought == [] and a not in consumer._scrm_next


async def test_a_duplicate_below_the_next_offset_is_left_to_faust():
    consumer, a, _ = _fetching()
    assert await _batch(consumer, [(a, 99), (a, 100)]) == [(a, 99), (a, 100)]  # Faust drops what it read already
    assert consumer._scrm_next[a] == 101 and consumer.sought == []


@pytest.mark.parametrize(("compacted", "acks"), [(True, True), (False, False)])
async def test_holes_are_normal_on_compacted_topics_and_not_checked_where_faust_does_not_commit(compacted, acks):
    consumer, a, _ = _fetching(acks=acks)
    assert await _batch(consumer, [(a, 120)], compacted=compacted) == [(a, 120)]
    assert consumer.sought == []


async def test_a_partition_revoked_before_its_seek_back_is_left_to_its_next_owner():
    consumer, a, b = _fetching()
    consumer.revoked.add(a)
    assert await _batch(consumer, [(a, 103), (b, 7)]) == [(b, 7)]
    assert consumer._scrm_rewinding == {}
