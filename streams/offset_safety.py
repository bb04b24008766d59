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
(holes are normal there) keep Faust's behaviour."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from faust.transport.consumer import Consumer

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
