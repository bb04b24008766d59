"""A ClickHouse server (docker compose, a cluster, ClickHouse Cloud) through clickhouse-connect.

Same DDL, rows and queries as the embedded backend; ``SCRM_CLICKHOUSE_URL`` selects it, e.g.
``http://default:password@localhost:8123``."""

from __future__ import annotations

import json
from typing import Any

from sinks.clickhouse.backend import QueryResult, classify
from sinks.errors import TransientSinkError


class ServerBackend:
    name = "server"

    def __init__(self, url: str) -> None:
        import clickhouse_connect
        from clickhouse_connect.driver.exceptions import OperationalError

        self._operational = OperationalError
        try:
            self._client = clickhouse_connect.get_client(dsn=url, autogenerate_session_id=False)
        except OperationalError as exc:
            raise TransientSinkError(f"ClickHouse server unreachable: {exc}") from exc

    def execute(self, sql: str) -> None:
        self._call(self._client.command, sql)

    def query(self, sql: str) -> QueryResult:
        result = self._call(self._client.query, sql)
        return QueryResult(tuple(result.column_names), tuple(t.name for t in result.column_types),
                           [list(r) for r in result.result_rows])

    def insert_rows(self, table: str, rows: list[dict[str, Any]], token: str | None) -> None:
        if not rows:
            return
        body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
        settings = {"insert_deduplication_token": token} if token else None
        self._call(self._client.raw_insert, table, insert_block=body, settings=settings, fmt="JSONEachRow")

    def close(self) -> None:
        self._client.close()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self._operational as exc:
            raise TransientSinkError(f"ClickHouse server unreachable: {exc}") from exc
        except Exception as exc:  # clickhouse-connect DatabaseError etc.: classify by error code
            raise classify(exc) from exc
