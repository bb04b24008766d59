"""Embedded ClickHouse (chDB), in-process. One data directory per process: the worker owns it."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import orjson

from sinks.clickhouse.backend import QueryResult, classify, sql_string


class ChdbBackend:
    name = "chdb"

    def __init__(self, path: Path) -> None:
        from chdb import session  # imported here: the server backend does not need chDB loaded

        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._session = session.Session(str(path))
        except RuntimeError as exc:
            raise classify(exc, f"cannot open embedded ClickHouse at {path}: {exc}") from exc

    def execute(self, sql: str) -> None:
        self._run(sql, "Null")

    def query(self, sql: str) -> QueryResult:
        raw = self._run(sql, "JSONCompact")
        if not raw.strip():
            return QueryResult((), (), [])
        doc = json.loads(raw)
        meta = doc.get("meta", [])
        return QueryResult(tuple(m["name"] for m in meta), tuple(m["type"] for m in meta), doc.get("data", []))

    def insert_rows(self, table: str, rows: list[dict[str, Any]], token: str | None) -> None:
        if not rows:
            return
        settings = f" SETTINGS insert_deduplication_token={sql_string(token)}" if token else ""
        body = b"\n".join(orjson.dumps(r, option=orjson.OPT_NON_STR_KEYS) for r in rows).decode()
        self._run(f"INSERT INTO {table}{settings} FORMAT JSONEachRow\n{body}", "Null")

    def close(self) -> None:
        with self._lock:
            self._session.close()

    def _run(self, sql: str, fmt: str) -> str:
        with self._lock:
            try:
                result = self._session.query(sql, fmt)
            except Exception as exc:  # chDB raises ChdbError/RuntimeError; classify decides retry vs data
                raise classify(exc) from exc
        return result.bytes().decode("utf-8") if hasattr(result, "bytes") else str(result)
