"""Batched, idempotent, never-give-up ClickHouse inserts.

* Each insert carries a dedup token (topic-partition-firstOffset-lastOffset), so retrying a batch
  that did land is a no-op.
* Transient failures (engine or server unavailable) are retried with capped jittered backoff for
  as long as it takes; the caller acks nothing until ``write`` returns.
* Data errors (ClickHouse refused a value) are isolated by bisection; only the rows that fail on
  their own are returned as rejected, for the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sinks.clickhouse.backend import Backend
from sinks.errors import RejectedRowsError, TransientSinkError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int
    error: RejectedRowsError


@dataclass
class WriterStats:
    rows: int = 0
    inserts: int = 0
    transient_failures: int = 0
    rejected_rows: int = 0


class BatchWriter:
    def __init__(self, backend: Backend, *, max_backoff_s: float = 30.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 rng: random.Random | None = None) -> None:
        self.backend = backend
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._rng = rng or random.Random()
        # one thread: the backend is synchronous and chDB serialises queries anyway
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
        self.stats = WriterStats()

    async def write(self, table: str, rows: list[dict[str, Any]], token: str) -> list[Rejected]:
        """Insert ``rows``; return the rows ClickHouse refused on their own. Retries transient errors."""
        if not rows:
            return []
        return await self._write(table, rows, token, offset=0)

    async def _write(self, table: str, rows: list[dict[str, Any]], token: str, offset: int) -> list[Rejected]:
        try:
            await self._insert_retrying(table, rows, token)
            return []
        except RejectedRowsError as exc:
            if len(rows) == 1:
                self.stats.rejected_rows += 1
                return [Rejected(offset, exc)]
        mid = len(rows) // 2
        left = await self._write(table, rows[:mid], f"{token}/a", offset)
        right = await self._write(table, rows[mid:], f"{token}/b", offset + mid)
        return left + right

    async def _insert_retrying(self, table: str, rows: list[dict[str, Any]], token: str) -> None:
        attempt = 0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(self._executor, self.backend.insert_rows, table, rows, token)
                self.stats.inserts += 1
                self.stats.rows += len(rows)
                return
            except TransientSinkError as exc:
                attempt += 1
                self.stats.transient_failures += 1
                delay = min(self.max_backoff_s, 0.5 * 2 ** min(attempt, 10)) * (0.5 + self._rng.random() / 2)
                logger.error("insert into %s failed (attempt %d), retrying in %.1fs: %s",
                             table, attempt, delay, exc)
                await self._sleep(delay)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run another backend call on the writer's thread (migrations, queries)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
