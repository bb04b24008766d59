"""Stall watchdog: exit a worker that is ready, has lag, and commits nothing.

After a crash, a worker whose tables must read their changelog can become ready and then never
commit again (Faust's recovery race, faust-streaming/faust#596-like: events dropped from the
agents' queues leave a gap in the acked offsets, so the committed offset never moves). Restarting
clears it: recovery has already brought the local tables up to date. So every
``SCRM_STALL_SECONDS`` (0 = off) of no committed progress while the app's own consumer group
has lag, outside recovery and rebalancing, the worker logs an error and exits with code 70 for
its supervisor (Kubernetes, docker compose ``restart:``, systemd) to start it again. Every
effect is idempotent, so whatever was in flight is simply processed again.

Beside it, the worker samples its event loop's lag (``streams.loop_lag``) for ``/metrics``."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from faust.types import TP

from streams import loop_lag, offset_safety
from streams.app import app, consumed_topics, metrics, settings, stats
from streams.kafka_admin import BrokerUnavailable, group_lag

logger = logging.getLogger(__name__)
EXIT_STALLED = 70
CHECK_SECONDS = 10.0
_progress: dict[str, Any] = {"committed": None, "since": None}


@app.timer(CHECK_SECONDS, name="scrm.watchdog")  # type: ignore[untyped-decorator]
async def stall_watchdog() -> None:
    if settings.stall_seconds <= 0:
        return
    now = time.monotonic()
    if app.rebalancing or app.in_recovery or not app.consumer.assignment():
        _progress.update(committed=None, since=now)
        return
    names = consumed_topics()
    try:
        lag = await group_lag(settings, settings.app_id, names)
    except BrokerUnavailable:
        _progress.update(committed=None, since=now)  # the broker is away: not a stall of ours
        return
    committed = tuple(sorted((p.topic, p.partition, p.committed) for p in lag))
    behind = sum(p.lag for p in lag)
    if behind == 0 or committed != _progress["committed"]:
        _progress.update(committed=committed, since=now)
        return
    stalled_for = now - (_progress["since"] or now)
    if stalled_for >= settings.stall_seconds:
        stats.add("watchdog", "stalls")
        logger.error("worker stalled: %d events of lag and no offset committed for %.0f s (Faust recovery race, "
                     "faust#596); exiting with code %d so the supervisor restarts it; behind: %s", behind,
                     stalled_for, EXIT_STALLED, _behind(lag))
        logging.shutdown()
        os._exit(EXIT_STALLED)


def _behind(lag: list[Any]) -> str:
    """The lagging partitions as this worker's consumer sees them (``offset_safety.describe``), and
    the partitions aiokafka holds fetched records for. Offsets only."""
    try:
        parts = [f"{offset_safety.describe(app.consumer, TP(p.topic, p.partition))} end={p.end}"
                 for p in lag if p.lag > 0]
        parts.append(offset_safety.fetch_state(app.consumer))
    except Exception as exc:  # noqa: BLE001 - private Faust/aiokafka state; the report must not keep the worker from exiting
        return f"(not available: {type(exc).__name__})"
    return "; ".join(parts)


@app.task  # type: ignore[untyped-decorator]
async def event_loop_lag() -> None:
    await loop_lag.sample(metrics.loop_lag.observe)
