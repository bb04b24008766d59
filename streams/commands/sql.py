"""``scrm sql "SELECT ..."``: through the running worker (it owns embedded ClickHouse), or directly."""

from __future__ import annotations

import asyncio
from typing import Any

import click
import httpx

from sinks.clickhouse.backend import QueryResult, is_read_only
from sinks.clickhouse.factory import open_backend
from sinks.errors import SinkError
from streams.app import app, settings
from streams.commands.errors import fail
from streams.commands.output import render
from streams.faust_cli import argument, option


@app.command(
    argument("query", type=str),
    option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
           help="table (default), json (one object per row) or csv"),
    option("--write/--read-only", default=False,
           help="allow statements other than SELECT/WITH/SHOW/DESCRIBE/EXPLAIN"),
)
async def sql(self: Any, query: str, fmt: str, write: bool) -> None:
    """Run a ClickHouse QUERY and print the result.

    Goes through the running worker's web endpoint when a worker owns the embedded ClickHouse
    (SCRM_WEB_HOST/SCRM_WEB_PORT), else opens the database directly. Tables live in the
    database named by SCRM_CLICKHOUSE_DATABASE (default scrm), e.g.
    scrm sql "SELECT message_type, count() FROM scrm.messages FINAL GROUP BY message_type"
    """
    if not write and not is_read_only(query):
        fail("sql", "only SELECT/WITH/SHOW/DESCRIBE/EXPLAIN run by default; add --write to run this statement")
    result = await run_query(query, write=write)
    print(render(result.columns, result.rows, fmt))


async def run_query(query: str, *, write: bool = False, command: str = "sql") -> QueryResult:
    """Through the running worker, or directly when none runs (exits with a message on errors)."""
    result = await _via_worker(query, write, command)
    return result if result is not None else await asyncio.to_thread(_direct, query, command)


async def _via_worker(query: str, write: bool, command: str) -> QueryResult | None:
    try:
        async with httpx.AsyncClient(timeout=120) as client:
            response = await client.post(f"{settings.web_url}/sql/", json={"sql": query, "write": write})
    except httpx.ConnectError:
        return None
    except httpx.HTTPError as exc:
        fail(command, f"the worker at {settings.web_url} did not answer ({type(exc).__name__})", 1)
    if response.status_code == 404:
        return None  # something else listens there; not our worker
    doc = response.json()
    if response.status_code != 200:
        fail(command, doc.get("error", response.text[:500]), 1)
    return QueryResult(tuple(doc["columns"]), tuple(doc["types"]), doc["rows"])


def _direct(query: str, command: str) -> QueryResult:
    try:
        backend = open_backend(settings.clickhouse_url, settings.clickhouse_path)
    except SinkError as exc:
        fail(command, f"{exc}. If a worker is running, check SCRM_WEB_PORT points at it.", 1)
    try:
        return backend.query(query)
    except SinkError as exc:
        fail(command, str(exc), 1)
    finally:
        backend.close()
