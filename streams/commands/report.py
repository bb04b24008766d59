"""``scrm report``: the figures a manager asks for, on the terminal and as a self-contained HTML
page (``--html FILE``), from the analytics views (docs/analytics.md)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from streams.app import app, settings
from streams.commands.errors import fail
from streams.commands.sql import run_query
from streams.faust_cli import option
from streams.report.figures import collect
from streams.report.render import html, text

_DAYS = re.compile(r"^(\d{1,4})d$")


@app.command(
    option("--since", type=str, default="30d", show_default=True,
           help="first day: YYYY-MM-DD, or Nd for the N days up to the latest message"),
    option("--tz", type=str, default="Asia/Hong_Kong", show_default=True,
           help="time zone for hours and weekdays (IANA name)"),
    option("--html", "html_file", type=str, default=None, help="also write a self-contained HTML report here"),
    option("--json", "json_file", type=str, default=None, help="also write every figure as JSON here"),
)
async def report(self: Any, since: str, tz: str, html_file: str | None, json_file: str | None) -> None:
    """Summarize conversations, response times, receipts, templates, segments and decisions.

    \b
    Examples:
      scrm report
      scrm report --since 2026-11-01 --html report.html
      scrm report --since 7d --tz America/Sao_Paulo
    """
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        fail("report", f"--tz {tz!r} is not a time zone name; use one like Asia/Hong_Kong or America/Mexico_City")
    db = settings.clickhouse_database
    first_day = await _since(since, db)

    async def run(sql: str) -> Any:
        return await run_query(sql, command="report")

    figures = await collect(run, db, first_day, tz)
    print(text(figures))
    if html_file:
        Path(html_file).write_text(html(figures), encoding="utf-8")
        print(f"\nHTML report: {html_file} (opens offline in any browser)")
    if json_file:
        Path(json_file).write_text(json.dumps(figures.data, default=str, ensure_ascii=False, indent=1))


async def _since(value: str, db: str) -> str:
    if m := _DAYS.match(value):
        result = await run_query(f"SELECT toString(max(toDate(ts))) FROM {db}.messages", command="report")
        latest = result.rows[0][0] if result.rows else None
        end = date.fromisoformat(latest) if latest and latest != "1970-01-01" else date.today()
        return (end - timedelta(days=int(m.group(1)) - 1)).isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        fail("report", f"--since {value!r} is neither a date (YYYY-MM-DD) nor a number of days (e.g. 30d)")
