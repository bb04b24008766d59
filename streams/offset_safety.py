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
  again by the partition's next owner; every effect is idempotent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from faust import streams as faust_streams
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

logger = logging.getLogger(__name__)


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
        acked, committed = self._acked[tp], self._committed_offset[tp]
        if acked and committed is not None and not compacted(tp.topic) and min(acked) > committed:
            return None  # offset `committed` (the next to process) has not been acknowledged
        result: int | None = new_offset(self, tp)
        return result

    Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    _seek_uncommitted_to_reset_point()
    _guard_acks()


def _seek_uncommitted_to_reset_point() -> None:
    if getattr(AIOKafkaConsumerThread, "_scrm_seeks_uncommitted", False):
        return

    async def seek_to_committed(self: Any) -> Mapping[Any, int]:
        consumer = self._ensure_consumer()

        async def seek() -> Mapping[Any, int]:
            committed: Mapping[Any, int] = await consumer.seek_to_committed()
            fresh = [tp for tp, offset in committed.items() if not offset]  # None, or 0 (aiokafka skips it too)
            if fresh:
                if self.app.conf.consumer_auto_offset_reset == "latest":
                    await consumer.seek_to_end(*fresh)
                else:
                    await consumer.seek_to_beginning(*fresh)
            return committed

        result: Mapping[Any, int] = await self.call_thread(seek)
        return result

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
