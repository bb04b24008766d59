"""The CRM writer (DESIGN §5): ``crm.writes`` commands -> the CRM (``sinks.crm.writer``), in
batches of up to 100, each ``write_id`` applied once and audited on ``crm.write.results``
(-> ClickHouse ``crm_writes``). Failed writes (4xx with the CRM's body, retries exhausted) also go
to the dead-letter topic with the original command, for ``scrm dlq redrive`` after a fix.

``SCRM_CRM_MODE``: ``dry_run`` (default: the audit records what would be written), ``hubspot``
(needs ``SCRM_HUBSPOT_TOKEN``), ``generic`` (``SCRM_CRM_GENERIC_URL``), ``off``. Batches are acked
only after their results are durable (``noack_take``)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from processors.crm_write import CrmWrite, WindowBudget
from processors.errors import InvalidEvent, PipelineError
from sinks.clickhouse.rows import epoch_ms
from sinks.crm.http import CrmHttp, RetryPolicy
from sinks.crm.writer import Adapter, CrmWriter, GenericHttp, HubSpot, WriteResult, WriteState, properties_of
from streams.app import app, dead_letters, metrics, settings, stats, topics
from streams.errors import DecodeError
from streams.headers import effects_off
from streams.json_store import BatchJsonTable
from streams.tables import bytes_table

logger = logging.getLogger(__name__)
STAGE = "crm.writer"
source = topics["crm.writes"]
audit_table = bytes_table("crm-write-audit", partitions=source.spec.partitions,
                          help="write_id -> the CRM writer's audit entry (JSON): each write applied once")


class CrmWriteFailed(PipelineError):
    """The CRM refused a write (4xx) or kept failing; the message carries its answer."""


def crm_write(rec: dict[str, Any], *, effects_off: bool = False) -> CrmWrite:
    try:
        props = properties_of(rec.get("properties_json"))
    except ValueError as exc:
        raise InvalidEvent("bad_properties", f"properties_json of {rec.get('write_id')} is not JSON") from exc
    return CrmWrite(write_id=rec["write_id"], contact_key=rec["contact_key"], kind=rec["kind"],
                    wa_id=rec.get("wa_id"), phone_e164=rec.get("phone_e164"), properties=props,
                    title=rec.get("title"), created_at_ms=epoch_ms(rec["created_at_ms"]), effects_off=effects_off)


def result_record(w: CrmWrite, r: WriteResult) -> dict[str, Any]:
    request = json.dumps(w.properties, ensure_ascii=False, sort_keys=True) if w.properties else w.title
    return {"write_id": w.write_id, "contact_key": w.contact_key, "kind": w.kind, "crm": r.crm,
            "state": r.state.value, "wa_id": w.wa_id, "attempts": r.attempts, "attempt_log": r.attempt_log,
            "http_status": r.http_status, "crm_object_id": r.crm_object_id, "error": r.error,
            "request_json": request, "decided_at_ms": w.created_at_ms, "completed_at_ms": int(time.time() * 1000)}


def _adapter() -> Adapter | None:
    policy = RetryPolicy(max_attempts=settings.crm_max_attempts)
    if settings.crm_mode == "hubspot":
        http = CrmHttp(settings.hubspot_api_url, {"Authorization": f"Bearer {settings.hubspot_token}"},
                       budget=WindowBudget(limit=settings.hubspot_requests_per_10s), policy=policy)
        return HubSpot(http, id_property=settings.hubspot_id_property)
    if settings.crm_mode == "generic":
        headers = {"Authorization": f"Bearer {settings.crm_generic_token}"} if settings.crm_generic_token else {}
        return GenericHttp(CrmHttp(settings.crm_generic_url or "", headers, policy=policy))
    return None


async def _publish(done: list[tuple[CrmWrite, WriteResult]]) -> None:
    for w, r in done:
        await topics["crm.write.results"].send(w.contact_key, result_record(w, r))
    await app.producer.flush()


async def _durable() -> None:
    await app.producer.flush()


_writer: CrmWriter | None = None
_audit = BatchJsonTable(audit_table)


def writer_for_worker() -> CrmWriter:
    global _writer
    if _writer is None:
        _writer = CrmWriter(_audit, adapter=_adapter(), mode=settings.crm_mode, durable=_durable,
                            publish=_publish)
        logger.info("CRM writer mode: %s", settings.crm_mode)
    return _writer


@app.agent(source.topic, name="scrm.crm.writer")
async def crm_writer(stream):  # type: ignore[no-untyped-def]
    async for events in stream.noack_take(100, 1.0):
        stats.add(STAGE, "in", len(events))
        writer = writer_for_worker()
        by_id: dict[str, Any] = {}
        writes = []
        for event in events:
            try:
                w = crm_write(source.decode(event.message.value), effects_off=effects_off(event))
            except (DecodeError, InvalidEvent, KeyError, TypeError, ValueError) as exc:
                await dead_letters.reject(event, STAGE, exc)
                continue
            by_id.setdefault(w.write_id, event)
            writes.append(w)
        _audit.events = by_id
        before = writer.duplicates
        for w, r in await writer.write(writes):
            stats.add(STAGE, r.state.value)
            metrics.crm_attempts(r.attempt_log)
            if r.state == WriteState.FAILED:
                await dead_letters.reject(by_id[w.write_id], STAGE, CrmWriteFailed(r.error or "failed"))
        stats.add(STAGE, "duplicates", writer.duplicates - before)
        await app.producer.flush()  # dead letters are durable before the batch is acked
        for event in events:
            await stream.ack(event)
