"""Worker web views: ``/sql/`` (the worker owns embedded ClickHouse, so ``scrm sql`` asks it),
``/healthz/`` (alive), ``/readyz/`` (recovered and ClickHouse migrated), ``/stats/`` and
``/metrics`` (Prometheus), ``/erasures/`` (the erasure list this worker holds; POST drops a
subject from its local stores, for ``scrm erase``). Bound to SCRM_WEB_HOST (loopback by default)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from faust import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sinks.clickhouse.backend import is_read_only
from sinks.errors import SinkError
from streams import erasures
from streams.app import app, metrics, settings, stats, warehouse


def _json(view: web.View, doc: Any, status: int = 200) -> web.Response:
    body = json.dumps(doc, ensure_ascii=False, default=str).encode()
    return view.bytes(body, content_type="application/json", status=status)


@app.page("/sql/")
class SqlView(web.View):
    async def post(self, request: web.Request) -> web.Response:
        try:
            doc = await request.json()
        except ValueError:
            return _json(self, {"error": "send a JSON object {\"sql\": \"SELECT ...\"}"}, 400)
        sql = str(doc.get("sql", ""))
        if not is_read_only(sql) and not doc.get("write"):
            return _json(self, {"error": "only SELECT/WITH/SHOW/DESCRIBE/EXPLAIN run by default; "
                                         "pass --write to run other statements"}, 400)
        writer = await warehouse.writer()
        try:
            result = await writer.run(writer.backend.query, sql)
        except SinkError as exc:
            return _json(self, {"error": str(exc)}, 400)
        return _json(self, {"columns": result.columns, "types": result.types, "rows": result.rows})


@app.page("/healthz/")
class HealthView(web.View):
    async def get(self, request: web.Request) -> web.Response:
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]  # uvloop | asyncio (SCRM_EVENT_LOOP)
        return _json(self, {"status": "ok", "app": app.conf.id, "event_loop": loop,
                            "stages": list(settings.stage_names)})


@app.page("/stats/")
class StatsView(web.View):
    async def get(self, request: web.Request) -> web.Response:
        return _json(self, stats.snapshot())


@app.page("/readyz/")
class ReadyView(web.View):
    async def get(self, request: web.Request) -> web.Response:
        waiting = [why for why, on in (("rebalancing", app.rebalancing), ("recovering tables", app.in_recovery),
                                       ("opening ClickHouse", not warehouse.opened),
                                       ("loading the erasure list", not erasures.status()["loaded"])) if on]
        return _json(self, {"ready": not waiting, "waiting_for": waiting}, 503 if waiting else 200)


@app.page("/metrics")
class MetricsView(web.View):
    async def get(self, request: web.Request) -> web.Response:
        return self.bytes(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])


@app.task  # type: ignore[untyped-decorator]
async def open_warehouse() -> None:
    """Reach and migrate ClickHouse at start, not at the first batch (readiness waits for it)."""
    await warehouse.writer()


@app.page("/erasures/")
class ErasuresView(web.View):
    async def get(self, request: web.Request) -> web.Response:
        return _json(self, erasures.status())

    async def post(self, request: web.Request) -> web.Response:
        try:
            hashes = [str(h) for h in (await request.json())["subject_hashes"]]
        except (ValueError, KeyError, TypeError):
            return _json(self, {"error": "send a JSON object {\"subject_hashes\": [...]}"}, 400)
        return _json(self, {**erasures.status(), "local_keys_purged": erasures.purge_local(hashes)})
