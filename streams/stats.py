"""Per-stage counters: events in = processed + deduplicated + dead-lettered + ignored (DESIGN §4)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, stage: str, outcome: str, n: int = 1) -> None:
        self.counts[(stage, outcome)] += n

    def snapshot(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (stage, outcome), n in sorted(self.counts.items()):
            out.setdefault(stage, {})[outcome] = n
        return out
