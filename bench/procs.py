"""Process figures the benchmarks read: RSS and CPU time from /proc, a worker's /stats/ page."""

from __future__ import annotations

import json
import os
import resource
import urllib.request
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def worker_counter(web: str, name: str) -> float:
    """A counter's total over its labels on a worker's ``GET /metrics``; ``name`` without ``_total``."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{web}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(s.value for family in text_string_to_metric_families(text) if family.name == name
               for s in family.samples if s.name == f"{name}_total")


def worker_stats(web: str) -> dict[str, Any]:
    """A worker's counters (``GET /stats/``); ``web`` is its base URL."""
    with urllib.request.urlopen(f"{web}/stats/", timeout=5) as r:
        result: dict[str, Any] = json.loads(r.read())
        return result
