"""Event-loop lag: how late the worker's one event loop wakes a task that asked to sleep.

Every stage, table write and sink batch of a worker runs on one event loop, so anything that holds
it (a large batch worked through without an ``await``, a slow synchronous call) delays every other
stage's records by as long. ``scrm_event_loop_lag_seconds`` (a histogram, sampled every
``INTERVAL_S``) shows such a step. It does not show a worker that is merely busy: one near its
maximum still wakes a sleeper within milliseconds (its callbacks are short), while its records
queue in Kafka -- ``scrm_consumer_lag`` shows that (at 260 events/s, near the bench's live maximum,
85 % of the samples were under 5 ms and all under 250 ms)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

INTERVAL_S = 0.1


async def sample(observe: Callable[[float], None], interval_s: float = INTERVAL_S) -> None:
    """Sleep ``interval_s`` at a time, for ever, and ``observe`` how much later than asked each
    sleep ended (seconds, never below 0)."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time() + interval_s
        await asyncio.sleep(interval_s)
        observe(max(loop.time() - asked, 0.0))
