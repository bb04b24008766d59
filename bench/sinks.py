"""Sink throughput: ClickHouse rows/s through the batch writer into embedded chDB (message rows,
batches of 2,000 with dedup tokens, as the sink agent writes them), and the CRM writer against
the local HubSpot contract server over real HTTP (batch upserts of 100 contacts; the request
budget raised so the server, not the 10-second limit, is what is measured).

    .venv/bin/python -m bench sinks
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from processors.crm_write import CrmWrite, WindowBudget
from processors.events import Direction, MessageEvent, SenderKind
from sinks.clickhouse.chdb_backend import ChdbBackend
from sinks.clickhouse.migrate import migrate
from sinks.clickhouse.rows import SourcePosition, message_row
from sinks.clickhouse.writer import BatchWriter
from sinks.crm.http import CrmHttp
from sinks.crm.writer import CrmWriter, HubSpot
from tests.vendors.hubspot import HubSpotServer, HubSpotState

ROWS, BATCH = 100_000, 2_000
CRM_WRITES = 20_000


def _rows(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        wa_id = f"8529{i % 5000:07d}"
        m = MessageEvent(wamid=f"wamid.BENCH{i:09d}", direction=Direction.INBOUND, sender_kind=SenderKind.CUSTOMER,
                         phone_number_id="109876543210001", contact_key=f"109876543210001:{wa_id}",
                         message_type="text", timestamp_ms=1795136000000 + i * 1000,
                         received_at_ms=1795136000500 + i * 1000, envelope_sha256="ab" * 32, wa_id=wa_id,
                         phone_e164=f"+{wa_id}", profile_name="陳大文", text="你好，這件外套多少錢？有折扣嗎？")
        out.append(message_row(m, SourcePosition("scrm.messages", i % 4, i)))
    return out


def clickhouse_rows_per_s() -> float:
    rows = _rows(ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        backend = ChdbBackend(Path(tmp) / "ch")
        migrate(backend, "bench")
        writer = BatchWriter(backend)

        async def go() -> float:
            start = time.perf_counter()
            for i in range(0, ROWS, BATCH):
                await writer.write("bench.messages", rows[i:i + BATCH], f"bench-0-{i}-{i + BATCH - 1}")
            return ROWS / (time.perf_counter() - start)
        try:
            return asyncio.run(go())
        finally:
            writer.close()
            backend.close()


def crm_requests_per_s() -> tuple[float, float]:
    writes = [CrmWrite(f"props:{i}", f"pn:{i}", "properties", f"8529{i:07d}", None,
                       {"whatsapp_segment": "potential", "whatsapp_churn_score": "0.42"}, None, 0)
              for i in range(CRM_WRITES)]
    with HubSpotServer(HubSpotState(token="b", per_10s=1_000_000)) as server:
        async def go() -> tuple[float, float]:
            http = CrmHttp(server.url, {"Authorization": "Bearer b"}, budget=WindowBudget(limit=1_000_000))
            audit: dict[str, dict] = {}

            async def nothing(*_: Any) -> None:
                return None
            writer = CrmWriter(audit, adapter=HubSpot(http), mode="hubspot", durable=nothing, publish=nothing)
            start = time.perf_counter()
            for i in range(0, CRM_WRITES, 100):
                await writer.write(writes[i:i + 100])
            elapsed = time.perf_counter() - start
            await http.aclose()
            return http.requests / elapsed, CRM_WRITES / elapsed
        return asyncio.run(go())


def run() -> dict[str, Any]:
    ch = [clickhouse_rows_per_s() for _ in range(3)]
    crm = [crm_requests_per_s() for _ in range(3)]
    return {"clickhouse_rows_per_s": [round(x) for x in ch],
            "clickhouse_rows_per_s_median": round(statistics.median(ch)),
            "crm_requests_per_s": [round(r, 1) for r, _ in crm],
            "crm_writes_per_s": [round(w) for _, w in crm],
            "crm_requests_per_s_median": round(statistics.median(r for r, _ in crm), 1),
            "crm_writes_per_s_median": round(statistics.median(w for _, w in crm))}
