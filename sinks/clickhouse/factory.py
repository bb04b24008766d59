"""Pick the backend from settings: a server URL when given, else embedded chDB."""

from __future__ import annotations

from pathlib import Path

from sinks.clickhouse.backend import Backend


def open_backend(url: str | None, path: Path) -> Backend:
    if url:
        from sinks.clickhouse.server_backend import ServerBackend

        return ServerBackend(url)
    from sinks.clickhouse.chdb_backend import ChdbBackend

    return ChdbBackend(path)
