"""``scrm clock tick [--at TIME]``: move event time on every partition of ``signals``.

Timers (a contact going silent, a coupon deferred to 08:00, weekly follow-ups) fire when event
time passes them. The running worker's leader ticks every SCRM_CLOCK_TICK_SECONDS; ops use this
after a replay, or with ticks turned off, to advance to a chosen time."""

from __future__ import annotations

import time
from typing import Any

from aiokafka.errors import KafkaError

from streams.app import app, topics
from streams.automation_records import TICK_KEY, tick_record
from streams.commands import kafka_clients
from streams.commands.errors import fail, time_argument
from streams.faust_cli import argument, option


@app.command(
    argument("action", type=str),
    option("--at", "at", type=str, default=None,
           help="the event time to tick to: ISO-8601 with a timezone (2026-12-31T10:00:00+08:00) or epoch ms; "
                "default: now"),
)
async def clock(self: Any, action: str, at: str | None) -> None:
    """`tick`: send an event-time tick to every partition of the signals topic."""
    if action != "tick":
        fail("clock", f"unknown action {action!r}; the only action is `tick` (scrm clock tick --at TIME)")
    at_ms = int(time.time() * 1000) if at is None else time_argument("clock", "--at", at)
    signals = topics["signals"]
    producer = kafka_clients.producer()
    await kafka_clients.start("clock", producer)
    try:
        value = signals.encode(tick_record(at_ms))
        for partition in range(signals.spec.partitions):
            await producer.send_and_wait(signals.name, value, key=TICK_KEY, partition=partition)
    except KafkaError as exc:
        fail("clock", f"sending ticks failed ({type(exc).__name__}: {exc}); nothing to undo, run it again", 1)
    finally:
        await producer.stop()
    print(f"ticked {signals.spec.partitions} partitions of {signals.name} to {at_ms} ms")

