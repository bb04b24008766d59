"""How fast this machine runs plain Python right now: a yardstick printed with every bench run.

The VM the figures in bench/RESULTS.md come from changes speed from day to day, not only from
minute to minute: on 2026-12-06 ``bench hot_path`` took 282 µs per event at 892ed1c (2026-11-22)
and 287 µs at today's main, against 81.5 µs in the 2026-11-21 records. Without a yardstick, a slower
day reads as a regression. The gauge is a fixed pure-Python workload (dicts, strings, json,
sorting; none of this project's code, so a code change cannot move it), timed in CPU seconds of
this process, median of five rounds. Figures are comparable across runs only when their gauges
are close.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

ROUNDS = 5


def _workload() -> int:
    total = 0
    for i in range(20_000):
        doc = {"id": f"wamid.{i:08d}", "from": str(85290000000 + i), "text": "多少錢 ¿cuánto cuesta? " * 2,
               "n": i, "tags": sorted({"price", "size", str(i % 7)})}
        text = json.dumps(doc, ensure_ascii=False)
        back = json.loads(text)
        total += len(back["text"].lower().split()) + len(back["tags"]) + (hash(back["id"]) & 1)
    return total


def _steal_ticks() -> int | None:
    """Ticks the hypervisor ran someone else on our vCPUs (``steal`` in /proc/stat), if known."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8])
    except (OSError, IndexError, ValueError):
        return None


def measure(rounds: int = ROUNDS) -> dict[str, Any]:
    """Median CPU and wall milliseconds of the fixed workload, and the steal ticks over the run."""
    cpu, wall = [], []
    steal0 = _steal_ticks()
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        _workload()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    steal1 = _steal_ticks()
    return {"gauge_cpu_ms": round(statistics.median(cpu), 1), "gauge_wall_ms": round(statistics.median(wall), 1),
            "steal_ticks": None if steal0 is None or steal1 is None else steal1 - steal0}


def line(when: str) -> str:
    g = measure()
    return (f"# speed gauge ({when}): {g['gauge_cpu_ms']} ms CPU, {g['gauge_wall_ms']} ms wall, "
            f"steal {g['steal_ticks']} ticks (lower is faster; see bench/gauge.py)")
