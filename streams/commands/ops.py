"""Operational commands: ``migrate``, ``topics``, ``wait``."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, TextIO

import click

from sinks.clickhouse.factory import open_backend
from sinks.clickhouse.migrate import migrate as apply_migrations
from sinks.errors import SinkError
from streams.app import app, catalog, consumed_topics, settings
from streams.commands.errors import fail
from streams.commands.output import table
from streams.faust_cli import argument, option
from streams.kafka_admin import BrokerUnavailable, create_topics, wait_for_zero_lag


@app.command()
async def migrate(self: Any) -> None:
    """Apply pending ClickHouse migrations and the body TTL (SCRM_BODY_TTL_DAYS); idempotent.
    A running worker does this on start."""
    try:
        backend = await asyncio.to_thread(open_backend, settings.clickhouse_url, settings.clickhouse_path)
        applied = await asyncio.to_thread(apply_migrations, backend, settings.clickhouse_database,
                                          body_ttl_days=settings.body_ttl_days)
        backend.close()
    except SinkError as exc:
        fail("migrate", f"{exc}. If a worker is running it owns embedded ClickHouse and has migrated on start.", 1)
    where = (settings.clickhouse_url and "server") or f"embedded ClickHouse at {settings.clickhouse_path}"
    if applied:
        print(f"{where}, database {settings.clickhouse_database}: applied {', '.join(applied)}")
    else:
        print(f"{where}: database {settings.clickhouse_database} is up to date")


@app.command(argument("action", type=click.Choice(["create", "list"])))
async def topics(self: Any, action: str) -> None:
    """create: create every catalog topic that does not exist (idempotent); list: show the catalog."""
    if action == "list":
        rows = [[settings.topic(t.name), t.partitions, t.value, t.cleanup, t.retention_ms, t.key]
                for t in catalog.topics]
        print(table(["topic", "partitions", "value", "cleanup", "retention_ms", "key"], rows))
        return
    try:
        results = await create_topics(settings, catalog)
    except BrokerUnavailable as exc:
        fail("topics", str(exc), 1)
    print(table(["topic", "partitions", "status"], [[r.name, r.partitions, r.status] for r in results]))
    if any(r.status.startswith("error") for r in results):
        raise SystemExit(1)


@app.command(
    option("--timeout", type=float, default=120.0, help="give up after this many seconds (exit 1)"),
    option("--group", type=str, default=None, help="consumer group (default: the app id)"),
    option("--settle", type=float, default=2.0, help="lag must stay zero this long (seconds)"),
)
async def wait(self: Any, timeout: float, group: str | None, settle: float) -> None:
    """Block until the app's consumer group has zero lag on every topic its agents read."""
    group = group or settings.app_id
    progress = LagProgress(sys.stderr)
    try:
        done, lag = await wait_for_zero_lag(settings, group, consumed_topics(), timeout=timeout, settle=settle,
                                            on_lag=progress.update)
        progress.close()
    except BrokerUnavailable as exc:
        fail("wait", str(exc), 1)
    if done:
        print(f"group {group}: caught up (0 lag on {len(lag)} partitions)")
        return
    behind = [f"{p.topic}[{p.partition}]={p.lag}" for p in lag if p.lag]
    fail("wait", f"group {group} still lags after {timeout:.0f}s: {', '.join(behind) or 'unknown'}. "
                 "Is a worker running (`scrm worker`)?", 1)


class LagProgress:
    """Records still to process while `scrm wait` waits: one updating line on a terminal, else a
    plain line every 10 seconds."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.tty, self.started, self.last = out, out.isatty(), time.monotonic(), 0.0
        self.peak = 0

    def update(self, lag: int) -> None:
        now = time.monotonic()
        self.peak = max(self.peak, lag)
        done = 1 - lag / self.peak if self.peak else 1.0
        line = f"processing: {lag:,} records behind ({done:.0%} of the backlog done, {now - self.started:,.0f}s)"
        if self.tty:
            self.out.write(f"\r{line}\033[K")
            self.out.flush()
        elif now - self.last >= 10:
            self.last = now
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()
