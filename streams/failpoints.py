"""Failpoints: named places where a test makes the worker crash the hard way (SIGKILL to itself),
to prove what survives. Off unless ``SCRM_FAILPOINTS`` names them (comma-separated); each fires
once per process. ``FaultyBackend`` makes ClickHouse inserts fail while a file exists."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sinks.errors import TransientSinkError

logger = logging.getLogger(__name__)


def failpoints(names: str | None) -> Callable[[str], None]:
    armed = {n.strip() for n in (names or "").split(",") if n.strip()}
    if armed:
        logger.warning("failpoints armed (test setting SCRM_FAILPOINTS): %s", ", ".join(sorted(armed)))

    def hit(name: str) -> None:
        if name in armed:
            armed.discard(name)
            logger.warning("failpoint %s: killing this worker (SIGKILL)", name)
            os.kill(os.getpid(), signal.SIGKILL)

    return hit


class FaultyBackend:
    """A ClickHouse backend whose inserts fail (transiently) while ``<faults_dir>/clickhouse``
    exists: how the reliability suite takes the embedded engine away for a while. Test-only
    (``SCRM_FAULTS_DIR``); everything else passes through."""

    def __init__(self, backend: Any, faults_dir: str) -> None:
        self._backend, self._flag = backend, Path(faults_dir) / "clickhouse"
        self.name = backend.name
        logger.warning("fault injection armed (test setting SCRM_FAULTS_DIR): inserts fail while %s exists",
                       self._flag)

    def insert_rows(self, table: str, rows: list[dict[str, Any]], token: str | None) -> None:
        if self._flag.exists():
            raise TransientSinkError(f"fault injected: {self._flag} exists")
        self._backend.insert_rows(table, rows, token)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)
