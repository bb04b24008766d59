"""The dead-letter limit: when a stage dead-letters too much of a partition, something is wrong
with the stage or its input (a bad deploy, a schema change, a broken upstream) rather than with
single events, and the worker should stop loudly instead of moving the whole stream to the DLQ.

Counted from the dead letters' source offsets, per (stage, topic, partition): a run of letters at
consecutive offsets is a run of consecutive failures, and letters within the last ``window``
offsets give the ratio. No success signal is needed. Pure: no I/O, no clock."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DlqLimit:
    max_consecutive: int = 100  # 0: no limit
    max_ratio: float = 0.5  # of the last `window` records of a partition; 0: no limit
    window: int = 1000


@dataclass(slots=True)
class _Partition:
    last_offset: int = -2
    run: int = 0
    recent: deque[int] = field(default_factory=deque)


class DlqGuard:
    def __init__(self, limit: DlqLimit) -> None:
        self.limit = limit
        self._parts: dict[tuple[str, str, int], _Partition] = {}

    def observe(self, stage: str, topic: str, partition: int, offset: int) -> str | None:
        """Count one dead letter; return why the limit is exceeded, or None."""
        if offset < 0:  # rejected before reaching a topic (receiver, ingest): not the worker's stream
            return None
        p = self._parts.setdefault((stage, topic, partition), _Partition())
        if offset <= p.last_offset:  # the same records again after a restart: start counting afresh
            p.run, p.recent = 0, deque()
        p.run = p.run + 1 if offset == p.last_offset + 1 else 1
        p.last_offset = offset
        p.recent.append(offset)
        while p.recent and p.recent[0] <= offset - self.limit.window:
            p.recent.popleft()
        where = f"stage {stage} on {topic}[{partition}]"
        if self.limit.max_consecutive and p.run >= self.limit.max_consecutive:
            return f"{where} dead-lettered {p.run} consecutive records (limit {self.limit.max_consecutive})"
        if self.limit.max_ratio and len(p.recent) > self.limit.max_ratio * self.limit.window:
            return (f"{where} dead-lettered {len(p.recent)} of the last {self.limit.window} records "
                    f"(limit {self.limit.max_ratio:.0%})")
        return None
