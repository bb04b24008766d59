"""Which acknowledgements may count towards a commit (``streams.offset_safety``); the behaviour on a
real broker with workers joining and leaving is ``tests/reliability/test_rebalance.py``."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import faust.streams
import pytest
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
                           _acked_index=defaultdict(set), _n_acked=0, _unacked_messages=set(), _waiting_for_ack=None)


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
