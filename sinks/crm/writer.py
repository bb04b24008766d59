"""The CRM writer: CRM commands -> CRM API calls, each ``write_id`` applied once, every write
audited (``crm_writes``).

* Contact property writes are upserts by a unique property: applying one twice changes nothing,
  so they are retried freely (5xx, timeouts) and a replay is stopped by the audit.
* Tasks and notes are creates: each is marked ``attempting`` (durable) before the request. A
  worker that stops during the request finds ``attempting`` and records ``in_doubt`` instead of
  creating a second task; a create that timed out is ``in_doubt`` as well.
* GDPR deletes (``gdpr_delete``, queued by ``scrm erase``) name the CRM's object id; deleting
  is idempotent, and an object already gone (404) counts as deleted.
* 4xx (other than 429) and retries exhausted are ``failed``; the agent dead-letters them with the
  response body.

Adapters: ``HubSpot`` (CRM v3 batch upsert + batch create with associations), ``GenericHttp``
(one JSON POST per write with an ``Idempotency-Key`` header), and ``dry_run`` (no adapter: the
audit records what would be written)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from processors.crm_write import (
    MAX_BATCH,
    OBJECT_TYPE,
    CrmWrite,
    UpsertInput,
    engagement_body,
    read_create,
    read_upsert,
    upsert_body,
    upsert_inputs,
)
from sinks.crm.http import Call, CrmHttp
from sinks.effect_log import EffectLog

GDPR_DELETE = "gdpr_delete"


class WriteState(StrEnum):
    ATTEMPTING = "attempting"
    WRITTEN = "written"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"
    DRY_RUN = "dry_run"
    SKIPPED = "skipped"


FINAL = frozenset({WriteState.WRITTEN, WriteState.FAILED, WriteState.IN_DOUBT, WriteState.DRY_RUN,
                   WriteState.SKIPPED})
# results no request produced: computing one again after a crash gives the same result, so it
# needs no audit entry before it is published
NO_EFFECT = frozenset({WriteState.DRY_RUN, WriteState.SKIPPED})


@dataclass(frozen=True, slots=True)
class WriteResult:
    write_id: str
    state: WriteState
    crm: str
    attempts: int = 0
    attempt_log: str = ""  # e.g. "429,429,500,200"
    http_status: int | None = None
    crm_object_id: str | None = None
    error: str | None = None
    reported: bool = False

    @classmethod
    def loads(cls, doc: dict[str, Any]) -> WriteResult:
        return cls(**{**doc, "state": WriteState(doc["state"])})


def _dump(r: WriteResult) -> dict[str, Any]:
    return {f: getattr(r, f) for f in r.__slots__ if getattr(r, f) is not None}


class Adapter(Protocol):
    name: str

    async def apply(self, writes: list[CrmWrite],
                    before_create: Callable[[list[CrmWrite]], Awaitable[None]]) -> dict[str, WriteResult]: ...


def _result(w: CrmWrite, crm: str, call: Call, state: WriteState, *, object_id: str | None = None,
            error: str | None = None) -> WriteResult:
    return WriteResult(w.write_id, state, crm, attempts=len(call.log), attempt_log=",".join(call.log),
                       http_status=call.status, crm_object_id=object_id, error=error)


def _failure(call: Call) -> str:
    if call.ambiguous:
        return "timed out after the request was sent: the CRM may have applied it"
    if call.status is None:
        return f"CRM unreachable after {len(call.log)} attempts"
    return f"HTTP {call.status}: {call.body[:1000].decode('utf-8', 'replace')}"


class HubSpot:
    name = "hubspot"

    def __init__(self, http: CrmHttp, *, id_property: str = "whatsapp_id",
                 write_id_property: str = "scrm_write_id") -> None:
        self.http, self.id_property, self.write_id_property = http, id_property, write_id_property

    async def apply(self, writes: list[CrmWrite],
                    before_create: Callable[[list[CrmWrite]], Awaitable[None]]) -> dict[str, WriteResult]:
        out: dict[str, WriteResult] = {}
        for w in writes:
            if w.kind == GDPR_DELETE:
                out[w.write_id] = await self._gdpr_delete(w)
            elif not w.wa_id:
                out[w.write_id] = WriteResult(w.write_id, WriteState.FAILED, self.name,
                                              error=f"no wa_id: cannot upsert by {self.id_property}")
        contact_ids: dict[str, str] = {}
        inputs = upsert_inputs([w for w in writes if w.wa_id], self.id_property)
        by_write = {w.write_id: w for w in writes}
        for chunk in _chunks(inputs, MAX_BATCH):
            await self._upsert(chunk, by_write, contact_ids, out)
        for kind, object_type in OBJECT_TYPE.items():
            todo = [w for w in writes if w.kind == kind and w.write_id not in out and w.wa_id in contact_ids]
            for part in _chunks(todo, MAX_BATCH):
                await before_create(part)
                call = await self.http.post(f"/crm/v3/objects/{object_type}/batch/create",
                                            engagement_body(part, contact_ids, self.write_id_property),
                                            idempotent=False)
                created = read_create(call.body, self.write_id_property) if call.ok else None
                for w in part:
                    object_id = created.ids.get(w.write_id) if created else None
                    if object_id:
                        out[w.write_id] = _result(w, self.name, call, WriteState.WRITTEN, object_id=object_id)
                    elif call.ambiguous:
                        out[w.write_id] = _result(w, self.name, call, WriteState.IN_DOUBT, error=_failure(call))
                    else:
                        error = (created.errors.get(w.write_id) if created else None) or _failure(call)
                        out[w.write_id] = _result(w, self.name, call, WriteState.FAILED, error=error)
        return out

    async def _gdpr_delete(self, w: CrmWrite) -> WriteResult:
        object_id = w.properties.get("objectId")
        if not object_id:
            return WriteResult(w.write_id, WriteState.FAILED, self.name, error="gdpr_delete without an objectId")
        call = await self.http.post("/crm/v3/objects/contacts/gdpr-delete", {"objectId": object_id}, idempotent=True)
        if call.ok or call.status == 404:  # 404: nothing (left) to delete
            return _result(w, self.name, call, WriteState.WRITTEN, object_id=object_id)
        return _result(w, self.name, call, WriteState.FAILED, error=_failure(call))

    async def _upsert(self, chunk: list[UpsertInput], by_write: dict[str, CrmWrite], contact_ids: dict[str, str],
                      out: dict[str, WriteResult], history: tuple[str, ...] = ()) -> None:
        """Upsert ``chunk``; a batch refused as a whole (400: one bad input spoils it) is split in halves
        until the bad inputs stand alone. Upserts are idempotent, so re-sending the good ones is safe."""
        call = await self.http.post("/crm/v3/objects/contacts/batch/upsert", upsert_body(chunk, self.id_property),
                                    idempotent=True)
        call.log = [*history, *call.log]  # the audit keeps every attempt, across splits
        if call.status == 400 and len(chunk) > 1:
            mid = len(chunk) // 2
            await self._upsert(chunk[:mid], by_write, contact_ids, out, tuple(call.log))
            await self._upsert(chunk[mid:], by_write, contact_ids, out, tuple(call.log))
            return
        outcome = read_upsert(call.body, self.id_property) if call.ok else None
        for i in chunk:
            object_id = outcome.ids.get(i.contact_id) if outcome else None
            refused = outcome.errors.get(i.contact_id) if outcome else None
            if object_id:
                contact_ids[i.contact_id] = object_id
            for write_id in i.write_ids:
                w = by_write[write_id]
                if object_id is None:
                    out[write_id] = _result(w, self.name, call, WriteState.FAILED,
                                            error=refused or _failure(call))
                elif w.kind == "properties":
                    out[write_id] = _result(w, self.name, call, WriteState.WRITTEN, object_id=object_id)


class GenericHttp:
    """Any CRM behind a JSON endpoint that treats ``Idempotency-Key`` as the write's identity."""

    name = "generic"

    def __init__(self, http: CrmHttp, path: str = "") -> None:
        self.http, self.path = http, path

    async def apply(self, writes: list[CrmWrite],
                    before_create: Callable[[list[CrmWrite]], Awaitable[None]]) -> dict[str, WriteResult]:
        out = {}
        for w in writes:
            body = {"write_id": w.write_id, "kind": w.kind, "contact_key": w.contact_key, "wa_id": w.wa_id,
                    "phone_e164": w.phone_e164, "properties": w.properties, "title": w.title,
                    "created_at_ms": w.created_at_ms}
            call = await self.http.post(self.path, body, idempotent=True, headers={"Idempotency-Key": w.write_id})
            state = WriteState.WRITTEN if call.ok else WriteState.FAILED
            out[w.write_id] = _result(w, self.name, call, state, error=None if call.ok else _failure(call))
        return out


class CrmWriter:
    def __init__(self, audit: EffectLog, *, adapter: Adapter | None, mode: str,
                 durable: Callable[[], Awaitable[None]],
                 publish: Callable[[list[tuple[CrmWrite, WriteResult]]], Awaitable[None]]) -> None:
        self.audit, self.adapter, self.mode, self.durable, self.publish = audit, adapter, mode, durable, publish
        self.duplicates = 0

    async def write(self, writes: Iterable[CrmWrite]) -> list[tuple[CrmWrite, WriteResult]]:
        fresh: dict[str, CrmWrite] = {}
        done: list[tuple[CrmWrite, WriteResult]] = []
        for w in writes:
            doc = self.audit.get(w.write_id)
            known = WriteResult.loads(doc) if doc else None
            if known is None and w.effects_off:
                done.append((w, WriteResult(w.write_id, WriteState.SKIPPED, "off",
                                            error="replayed without side effects: not written")))
            elif known is None:
                fresh.setdefault(w.write_id, w)
            elif known.state == WriteState.ATTEMPTING:  # stopped during a create: never create twice
                done.append((w, replace(known, state=WriteState.IN_DOUBT,
                                        error="the worker stopped during the request: not created again")))
            elif not known.reported:
                done.append((w, known))
            else:
                self.duplicates += 1
        todo = list(fresh.values())
        if todo:
            done += [(w, r) for w, r in zip(todo, await self._apply(todo), strict=True)]
        if not done:
            return []
        # an outcome of a request is durable before it is published (a crash after the publish
        # finds it unreported and publishes it again, never re-applies it); one that no request
        # produced (dry run, off) is written once, after it is published
        effects = [r for _, r in done if r.state not in NO_EFFECT]
        for r in effects:
            self.audit[r.write_id] = _dump(replace(r, reported=False))
        if effects:
            await self.durable()
        await self.publish(done)
        for _, r in done:
            self.audit[r.write_id] = _dump(replace(r, reported=True))
        return done

    async def _apply(self, todo: list[CrmWrite]) -> list[WriteResult]:
        adapter = self.adapter
        if adapter is None:
            state = WriteState.SKIPPED if self.mode == "off" else WriteState.DRY_RUN
            return [WriteResult(w.write_id, state, self.mode) for w in todo]

        async def before_create(part: list[CrmWrite]) -> None:
            for w in part:
                self.audit[w.write_id] = _dump(WriteResult(w.write_id, WriteState.ATTEMPTING, adapter.name))
            await self.durable()

        results = await adapter.apply(todo, before_create)
        return [results[w.write_id] for w in todo]


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def properties_of(properties_json: str | None) -> dict[str, str]:
    if not properties_json:
        return {}
    doc = json.loads(properties_json)
    return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}
