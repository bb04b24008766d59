"""The worker's ClickHouse: opened lazily on first use, migrated once, shared by sink agents and
the ``/sql`` web view (chDB allows one data directory per process, and the worker owns it)."""

from __future__ import annotations

import asyncio
import logging

from sinks.clickhouse.backend import Backend
from sinks.clickhouse.factory import open_backend
from sinks.clickhouse.migrate import migrate
from sinks.clickhouse.writer import BatchWriter
from sinks.errors import TransientSinkError
from streams.failpoints import FaultyBackend
from streams.settings import Settings

logger = logging.getLogger(__name__)


class Warehouse:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._writer: BatchWriter | None = None
        self._lock = asyncio.Lock()

    @property
    def opened(self) -> bool:
        """ClickHouse was reached and migrated (readiness)."""
        return self._writer is not None

    @property
    def database(self) -> str:
        return self.settings.clickhouse_database

    async def writer(self) -> BatchWriter:
        async with self._lock:
            while self._writer is None:
                try:
                    self._writer = await asyncio.to_thread(self._open)
                except TransientSinkError as exc:
                    logger.error("ClickHouse not available yet, retrying in 2s: %s", exc)
                    await asyncio.sleep(2.0)
            return self._writer

    def _open(self) -> BatchWriter:
        s = self.settings
        backend: Backend = open_backend(s.clickhouse_url, s.clickhouse_path)
        if s.faults_dir:
            backend = FaultyBackend(backend, s.faults_dir)
        applied = migrate(backend, s.clickhouse_database, body_ttl_days=s.body_ttl_days)
        logger.info("ClickHouse %s ready (database %s, migrations applied now: %s)",
                    backend.name, s.clickhouse_database, ", ".join(applied) or "none")
        return BatchWriter(backend)

    def table(self, name: str) -> str:
        return f"{self.database}.{name}"
