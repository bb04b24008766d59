"""CRM write-back, the pure half: HubSpot CRM v3 request bodies from CRM commands, reading batch
responses per input, and the request budget of HubSpot's rolling 10-second window.

Contacts are upserted by a unique property (``whatsapp_id`` by default: HubSpot's phone property
is not unique, so it cannot be an upsert key) in batches of at most 100 inputs, one input per
contact (HubSpot rejects the same id twice in one batch: later writes' properties win). Tasks and
notes are created in batches, associated to the upserted contact."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_BATCH = 100
ASSOCIATION_TYPE = {"task": 204, "note": 202}  # HUBSPOT_DEFINED task->contact, note->contact
OBJECT_TYPE = {"task": "tasks", "note": "notes"}


@dataclass(frozen=True, slots=True)
class CrmWrite:
    write_id: str
    contact_key: str
    kind: str  # properties | task | note | gdpr_delete
    wa_id: str | None
    phone_e164: str | None
    properties: dict[str, str]
    title: str | None
    created_at_ms: int
    effects_off: bool = False  # from a replay run without side effects: recorded as skipped, never written


@dataclass(frozen=True, slots=True)
class UpsertInput:
    contact_id: str  # the unique property's value (the wa_id)
    properties: dict[str, str]
    write_ids: tuple[str, ...]


def upsert_inputs(writes: list[CrmWrite], id_property: str) -> list[UpsertInput]:
    """One input per contact, properties merged in write order (a task's contact gets an input
    with only the id property, so the task can be associated)."""
    merged: dict[str, tuple[dict[str, str], list[str]]] = {}
    for w in writes:
        if not w.wa_id:
            continue
        props, ids = merged.setdefault(w.wa_id, ({id_property: w.wa_id}, []))
        if w.kind == "properties":
            props.update(w.properties)
        ids.append(w.write_id)
    return [UpsertInput(cid, props, tuple(ids)) for cid, (props, ids) in merged.items()]


def upsert_body(inputs: list[UpsertInput], id_property: str) -> dict[str, Any]:
    if len(inputs) > MAX_BATCH:
        raise ValueError(f"a HubSpot batch takes at most {MAX_BATCH} inputs, got {len(inputs)}")
    return {"inputs": [{"idProperty": id_property, "id": i.contact_id, "properties": i.properties} for i in inputs]}


def engagement_body(writes: list[CrmWrite], object_ids: dict[str, str], write_id_property: str) -> dict[str, Any]:
    """batch/create body for tasks or notes; ``object_ids``: wa_id -> HubSpot contact id."""
    inputs = []
    for w in writes:
        at = str(w.created_at_ms)
        if w.kind == "task":
            props = {"hs_timestamp": at, "hs_task_subject": (w.title or "WhatsApp follow-up")[:255],
                     "hs_task_status": "NOT_STARTED", "hs_task_type": "TODO"}
        else:
            props = {"hs_timestamp": at, "hs_note_body": (w.title or "")[:65_536]}
        props[write_id_property] = w.write_id
        inputs.append({"properties": props, "associations": [
            {"to": {"id": object_ids[w.wa_id or ""]},
             "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": ASSOCIATION_TYPE[w.kind]}]}]})
    return {"inputs": inputs}


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    ids: dict[str, str]  # unique value (upsert) or write id (create) -> HubSpot object id
    errors: dict[str, str]  # same keys -> error message, for inputs HubSpot refused


def read_upsert(body: bytes, id_property: str) -> BatchOutcome:
    """200/201/207 ``{"results": [{"id", "properties": {...}}], "errors": [{"message", "context": {"ids"}}]}``."""
    doc = _json(body)
    ids = {}
    for r in doc.get("results") or []:
        props = r.get("properties") or {}
        if props.get(id_property) is not None and r.get("id") is not None:
            ids[str(props[id_property])] = str(r["id"])
    return BatchOutcome(ids, _errors(doc))


def read_create(body: bytes, write_id_property: str) -> BatchOutcome:
    doc = _json(body)
    ids = {str((r.get("properties") or {}).get(write_id_property)): str(r.get("id"))
           for r in doc.get("results") or [] if (r.get("properties") or {}).get(write_id_property)}
    return BatchOutcome(ids, _errors(doc))


def _errors(doc: dict[str, Any]) -> dict[str, str]:
    out = {}
    for e in doc.get("errors") or []:
        message = str(e.get("message") or e.get("category") or "error")[:500]
        for value in (e.get("context") or {}).get("ids") or []:
            out[str(value)] = message
    return out


def _json(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


@dataclass
class WindowBudget:
    """At most ``limit`` requests in any rolling ``window_ms`` (HubSpot: 100 or 190 per 10 s per
    app), and nothing before a server-imposed ``hold_until`` (a 429's Retry-After)."""

    limit: int = 90
    window_ms: int = 10_000
    hold_until_ms: int = 0
    _sent: deque[int] = field(default_factory=deque)

    def wait_ms(self, now_ms: int) -> int:
        while self._sent and self._sent[0] <= now_ms - self.window_ms:
            self._sent.popleft()
        window_wait = 0 if len(self._sent) < self.limit else self._sent[0] + self.window_ms - now_ms
        return max(0, window_wait, self.hold_until_ms - now_ms)

    def record(self, now_ms: int) -> None:
        self._sent.append(now_ms)

    def hold(self, until_ms: int) -> None:
        self.hold_until_ms = max(self.hold_until_ms, until_ms)

    def observe_headers(self, remaining: str | None, interval_ms: str | None, now_ms: int) -> None:
        """``X-HubSpot-RateLimit-Remaining`` = 0: wait out the interval (absent headers: unknown)."""
        if remaining is not None and remaining.strip() == "0":
            try:
                self.hold(now_ms + int(interval_ms or self.window_ms))
            except ValueError:
                self.hold(now_ms + self.window_ms)
