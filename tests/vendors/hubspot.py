"""A local HubSpot CRM v3 that enforces the documented contract for what the CRM writer calls:

* ``POST /crm/v3/objects/contacts/batch/upsert``: ``inputs`` (at most 100) of ``{idProperty, id,
  properties}`` (``id`` and ``properties`` required); ``idProperty`` must be a unique property
  (400 "Unable to perform update/upsert by non-unique ..." otherwise); the same id twice in one
  batch is refused; properties must exist (400 ``VALIDATION_ERROR``). Ids in ``refuse_ids`` come
  back as per-input errors in a 207 (``BatchResponseSimplePublicUpsertObjectWithErrors``).
* ``POST /crm/v3/objects/{tasks,notes}/batch/create``: ``properties`` required, ``hs_timestamp``
  required, ``associations[].to.id`` must be an existing contact, ``types[]`` with
  ``associationCategory`` and ``associationTypeId``.
* ``POST /crm/v3/objects/contacts/gdpr-delete``: ``{objectId, idProperty?}`` (``objectId``
  required; ``idProperty`` only ``email``, else the object id); 204 with no body, 404
  ``OBJECT_NOT_FOUND`` for an unknown id. The contact, its unique values and its engagements go.
* A bearer token (401 otherwise); the rolling 10-second limit (429 ``TEN_SECONDLY_ROLLING`` with
  the ``X-HubSpot-RateLimit-*`` headers); scripted phases of 429 with ``Retry-After`` or 5xx.

Nothing is applied by a request that is answered 429 or 5xx, so "applied exactly once" can be
read from ``applied``."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.vendors.http_server import ThreadedServer

# required_not_none of the models the writer sends (hubspot-api-python's generated models)
REQUIRED = {"BatchInputSimplePublicObjectBatchInputUpsert": ["inputs"],
            "SimplePublicObjectBatchInputUpsert": ["id", "properties"],
            "SimplePublicObjectInputForCreate": ["properties"],
            "PublicAssociationsForObject": ["to", "types"],
            "AssociationSpec": ["association_category", "association_type_id"]}
ASSOCIATION_CATEGORIES = {"HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"}
CONTACT_PROPERTIES = {"whatsapp_id", "whatsapp_segment", "whatsapp_churn_score", "whatsapp_tags", "whatsapp_opt_in",
                      "whatsapp_last_inbound", "whatsapp_last_outbound", "email", "firstname", "lastname", "phone"}
UNIQUE_PROPERTIES = {"whatsapp_id", "email"}
ENGAGEMENT_PROPERTIES = {"tasks": {"hs_timestamp", "hs_task_subject", "hs_task_body", "hs_task_status",
                                   "hs_task_type", "hs_task_priority", "scrm_write_id"},
                         "notes": {"hs_timestamp", "hs_note_body", "scrm_write_id"}}


@dataclass
class Phase:
    until: float  # time.monotonic()
    status: int
    retry_after: str | None = None


@dataclass
class HubSpotState:
    token: str = "hs-token"
    per_10s: int = 100
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)  # hubspot id -> properties
    engagements: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"tasks": [], "notes": []})
    applied: list[tuple[str, str]] = field(default_factory=list)  # (kind, id value or write id) per applied input
    log: list[tuple[float, str, int]] = field(default_factory=list)  # (monotonic, path, status)
    phases: list[Phase] = field(default_factory=list)
    refuse_ids: set[str] = field(default_factory=set)
    _unique: dict[tuple[str, str], str] = field(default_factory=dict)  # (unique property, value) -> id
    _window: list[float] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1001))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, seconds: float, status: int, retry_after: str | None = None) -> None:
        """After the phases already scripted, answer ``status`` for ``seconds``."""
        with self.lock:
            start = self.phases[-1].until if self.phases else time.monotonic()
            self.phases.append(Phase(start + seconds, status, retry_after))

    def by_unique(self, prop: str, value: str) -> str | None:
        return self._unique.get((prop, value))


def _error(status: int, category: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"status": "error", "message": message, "category": category,
                              "correlationId": "00000000-0000-4000-8000-000000000000", **extra}, status=status)


def _missing(obj: Any, model: str) -> str | None:
    if not isinstance(obj, dict):
        return f"{model} must be an object"
    camel = {"association_category": "associationCategory", "association_type_id": "associationTypeId"}
    for name in REQUIRED[model]:
        if obj.get(camel.get(name, name)) is None:
            return f"{model}: {camel.get(name, name)} is required"
    return None


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def make_app(state: HubSpotState) -> web.Application:
    def gate(request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {state.token}":
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        now = time.monotonic()
        while state.phases and state.phases[0].until <= now:
            state.phases.pop(0)
        if state.phases:
            phase = state.phases[0]
            if phase.status == 429:
                response = _error(429, "RATE_LIMITS", "You have reached your ten_secondly_rolling limit.",
                                  errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING")
                if phase.retry_after:
                    response.headers["Retry-After"] = phase.retry_after
                return response
            return _error(phase.status, "INTERNAL_ERROR", "internal error")
        state._window = [t for t in state._window if now - t < 10.0]
        if len(state._window) >= state.per_10s:
            response = _error(429, "RATE_LIMITS", "You have reached your ten_secondly_rolling limit.",
                              errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING")
            response.headers.update({"X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                                     "X-HubSpot-RateLimit-Max": str(state.per_10s),
                                     "X-HubSpot-RateLimit-Remaining": "0"})
            return response
        state._window.append(now)
        return None

    def endpoint(apply: Callable[[web.Request, Any], web.Response]) -> Callable[[web.Request], Any]:
        """Gate (token, rate limit, scripted phases), then apply; every answer is logged."""
        async def handle(request: web.Request) -> web.Response:
            body = await request.json()
            with state.lock:
                response = gate(request) or apply(request, body)
                state.log.append((time.monotonic(), request.path, response.status))
                return response
        return handle

    app = web.Application()
    app.router.add_post("/crm/v3/objects/contacts/gdpr-delete", endpoint(lambda r, body: _gdpr_delete(state, body)))
    app.router.add_post("/crm/v3/objects/contacts/batch/upsert", endpoint(lambda r, body: _upsert(state, body)))
    app.router.add_post("/crm/v3/objects/{object_type:tasks|notes}/batch/create",
                        endpoint(lambda r, body: _create(state, r.match_info["object_type"], body)))
    return app


def _upsert(state: HubSpotState, body: Any) -> web.Response:
    problem = _missing(body, "BatchInputSimplePublicObjectBatchInputUpsert")
    if problem is None and not isinstance(body["inputs"], list):
        problem = "inputs must be a list"
    if problem:
        return _error(400, "VALIDATION_ERROR", problem)
    inputs = body["inputs"]
    if len(inputs) > 100:
        return _error(400, "VALIDATION_ERROR", f"Batch of {len(inputs)} inputs exceeds the limit of 100")
    seen: set[str] = set()
    for i in inputs:
        problem = _missing(i, "SimplePublicObjectBatchInputUpsert")
        if problem:
            return _error(400, "VALIDATION_ERROR", problem)
        prop = i.get("idProperty") or "hs_object_id"
        if prop not in UNIQUE_PROPERTIES:
            return _error(400, "VALIDATION_ERROR", f"Unable to perform update/upsert by non-unique 0-1 property {prop}")
        if i["id"] in seen:
            return _error(400, "VALIDATION_ERROR", f"Duplicate IDs found in batch input: [{i['id']}]")
        seen.add(i["id"])
        unknown = set(i["properties"]) - CONTACT_PROPERTIES
        if unknown:
            return _error(400, "VALIDATION_ERROR", "Property values were not valid",
                          errors=[{"message": f"Property \"{p}\" does not exist", "code": "PROPERTY_DOESNT_EXIST"}
                                  for p in sorted(unknown)])
    results, errors = [], []
    for i in inputs:
        prop = i.get("idProperty") or "hs_object_id"
        if i["id"] in state.refuse_ids:
            errors.append({"status": "error", "category": "VALIDATION_ERROR", "message": "Invalid input value",
                           "context": {"ids": [i["id"]]}, "errors": [], "links": {}})
            continue
        cid = state.by_unique(prop, i["id"])
        new = cid is None
        if cid is None:
            cid = str(next(state._ids))
            state.contacts[cid] = {prop: i["id"]}
            state._unique[(prop, i["id"])] = cid
        state.contacts[cid].update({k: str(v) for k, v in i["properties"].items()})
        state._unique.update({(k, str(v)): cid for k, v in i["properties"].items() if k in UNIQUE_PROPERTIES})
        state.applied.append(("contact", i["id"]))
        results.append({"id": cid, "properties": dict(state.contacts[cid]), "createdAt": _now_iso(),
                        "updatedAt": _now_iso(), "archived": False, "new": new})
    doc: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": _now_iso(),
                           "completedAt": _now_iso()}
    if errors:
        doc.update(numErrors=len(errors), errors=errors)
    return web.json_response(doc, status=207 if errors else 200)


def _create(state: HubSpotState, object_type: str, body: Any) -> web.Response:
    problem = _missing(body, "BatchInputSimplePublicObjectBatchInputUpsert")  # same {"inputs": [...]} shape
    if problem:
        return _error(400, "VALIDATION_ERROR", problem)
    for i in body["inputs"]:
        problem = _missing(i, "SimplePublicObjectInputForCreate")
        if problem:
            return _error(400, "VALIDATION_ERROR", problem)
        if "hs_timestamp" not in i["properties"]:
            return _error(400, "VALIDATION_ERROR", "hs_timestamp is required")
        unknown = set(i["properties"]) - ENGAGEMENT_PROPERTIES[object_type]
        if unknown:
            return _error(400, "VALIDATION_ERROR", f"Property \"{sorted(unknown)[0]}\" does not exist")
        for a in i.get("associations") or []:
            problem = _missing(a, "PublicAssociationsForObject")
            if problem:
                return _error(400, "VALIDATION_ERROR", problem)
            for t in a["types"]:
                problem = _missing(t, "AssociationSpec")
                if problem or t["associationCategory"] not in ASSOCIATION_CATEGORIES:
                    return _error(400, "VALIDATION_ERROR", problem or "associationCategory is not valid")
            if str(a["to"].get("id")) not in state.contacts:
                return _error(400, "VALIDATION_ERROR", f"Object {a['to'].get('id')} does not exist")
    results = []
    for i in body["inputs"]:
        oid = str(next(state._ids))
        record = {"id": oid, "properties": dict(i["properties"]), "associations": i.get("associations") or []}
        state.engagements[object_type].append(record)
        state.applied.append((object_type, str(i["properties"].get("scrm_write_id"))))
        results.append({"id": oid, "properties": dict(i["properties"]), "createdAt": _now_iso(),
                        "updatedAt": _now_iso(), "archived": False})
    return web.json_response({"status": "COMPLETE", "results": results, "startedAt": _now_iso(),
                              "completedAt": _now_iso()}, status=201)


def _gdpr_delete(state: HubSpotState, body: Any) -> web.Response:
    if not isinstance(body, dict) or not body.get("objectId"):
        return _error(400, "VALIDATION_ERROR", "objectId is required")
    prop = body.get("idProperty")
    if prop not in (None, "email", "hs_object_id"):
        return _error(400, "VALIDATION_ERROR", f"idProperty must be email, got {prop}")
    cid = state.by_unique("email", str(body["objectId"])) if prop == "email" else str(body["objectId"])
    if cid is None or cid not in state.contacts:
        return _error(404, "OBJECT_NOT_FOUND", "resource not found")
    del state.contacts[cid]
    state._unique = {k: v for k, v in state._unique.items() if v != cid}
    for kind, records in state.engagements.items():
        state.engagements[kind] = [r for r in records if not any(str(a["to"].get("id")) == cid
                                                                  for a in r["associations"])]
    state.applied.append(("gdpr_delete", cid))
    return web.Response(status=204)


class HubSpotServer(ThreadedServer):
    def __init__(self, state: HubSpotState | None = None) -> None:
        self.state = state or HubSpotState()
        super().__init__(lambda: make_app(self.state))
