"""One contract for both ClickHouse backends: embedded chDB and a server via clickhouse-connect."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from sinks.errors import RejectedRowsError, SinkError, TransientSinkError

# ClickHouse error codes that mean "the data itself is wrong": retrying the same rows cannot
# succeed, so the writer isolates the offending rows instead of retrying forever.
DATA_ERROR_CODES = frozenset({
    6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321, 349, 407,
})
_CODE = re.compile(r"Code:\s*(\d+)")
_READ_ONLY = re.compile(r"^\s*(\(?\s*SELECT|WITH|SHOW|DESC|DESCRIBE|EXPLAIN|EXISTS)\b", re.IGNORECASE)


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: list[list[Any]]


class Backend(Protocol):
    name: str

    def execute(self, sql: str) -> None: ...

    def query(self, sql: str) -> QueryResult: ...

    def insert_rows(self, table: str, rows: list[dict[str, Any]], token: str | None) -> None: ...

    def close(self) -> None: ...


def sql_string(value: str) -> str:
    """``value`` as a ClickHouse string literal, quotes included."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def is_read_only(sql: str) -> bool:
    return bool(_READ_ONLY.match(_strip_comments(sql)))


def _strip_comments(sql: str) -> str:
    return re.sub(r"^(\s*--[^\n]*\n)+", "", sql)


def classify(exc: BaseException, message: str | None = None) -> SinkError:
    """Map a backend exception to a transient error (retry) or a data error (isolate rows)."""
    text = message if message is not None else str(exc)
    match = _CODE.search(text)
    if match and int(match.group(1)) in DATA_ERROR_CODES:
        return RejectedRowsError(text[:500])
    return TransientSinkError(text[:500])
