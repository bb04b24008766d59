"""CRM webhooks -> CrmChange events (contact created/updated/merged/deleted, deal stage, order with
SKUs), phones normalized to E.164 with candidate keys. Pure.

HubSpot: the body is an array of subscription events (``contact.creation``,
``contact.propertyChange``, ``contact.merge``, ``contact.deletion``, ``deal.propertyChange`` of
``dealstage``, ...); the change id is HubSpot's ``eventId``.

Generic CDC (any CRM, shop or ERP): one object or a list of them::

    {"event_id": "evt-9", "source": "shopify", "entity": "contact" | "deal" | "order",
     "op": "create" | "update" | "delete" | "merge", "id": "C-1",
     "occurred_at": "2026-11-20T10:00:00Z" (or epoch ms),
     "data": {"phone", "email", "name", "region", "stage", "contact_id", "merged_ids",
              "items": [{"sku", "quantity", "price"}], "total", "currency"}}

A phone that cannot be normalized does not stop the change: it travels with ``phone_error`` set
(the caller also dead-letters the envelope so the bad value is visible)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processors.errors import InvalidEvent
from processors.events import CrmChange
from processors.phones import InvalidPhone, normalize_phone
from processors.timestamps import iso8601_to_ms
from processors.values import dumps, load_json_any, obj, opt_str

PHONE_PROPERTIES = ("phone", "mobilephone", "hs_whatsapp_phone_number", "whatsapp_phone")
NAME_PROPERTIES = ("firstname", "lastname", "name")
_HUBSPOT_CHANGES = {"creation": "created", "deletion": "deleted", "propertyChange": "updated", "merge": "merged",
                    "restore": "restored", "associationChange": "associated", "privacyDeletion": "deleted"}
_CDC_CHANGES = {"create": "created", "insert": "created", "update": "updated", "upsert": "updated",
                "delete": "deleted", "merge": "merged"}


def parse_crm(source: str, body: bytes, *, received_at_ms: int, envelope_sha256: str,
              default_region: str | None) -> tuple[CrmChange, ...]:
    doc = load_json_any(body)
    items = doc if isinstance(doc, list) else [doc]
    if not items or not all(isinstance(i, dict) for i in items):
        raise InvalidEvent("bad_shape", "a CRM body is an object or a non-empty list of objects")
    parse = _hubspot if source == "hubspot" else _cdc
    return tuple(parse(i, received_at_ms, envelope_sha256, default_region) for i in items)


def _hubspot(ev: Mapping[str, Any], received_at_ms: int, sha: str, region: str | None) -> CrmChange:
    event_id, object_id = opt_str(ev.get("eventId")), opt_str(ev.get("objectId"))
    sub = opt_str(ev.get("subscriptionType"))
    if not event_id or not object_id or not sub or "." not in sub:
        raise InvalidEvent("bad_shape", "a HubSpot event needs eventId, objectId and subscriptionType")
    object_type, _, action = sub.partition(".")
    if object_type == "object":  # generic subscriptions name the type by id (0-1 contact, 0-3 deal)
        object_type = {"0-1": "contact", "0-3": "deal", "0-2": "company"}.get(str(ev.get("objectTypeId")), "object")
    change = _HUBSPOT_CHANGES.get(action, action)
    prop, value = opt_str(ev.get("propertyName")), ev.get("propertyValue")
    props = {prop: value} if prop else {}
    if object_type == "deal" and prop == "dealstage":
        change = "stage_changed"
    merged = tuple(str(i) for i in ev.get("mergedObjectIds") or () if opt_str(i))
    if change == "merged":
        object_id = opt_str(ev.get("primaryObjectId")) or opt_str(ev.get("newObjectId")) or object_id
    occurred = ev.get("occurredAt")
    return _change(f"hubspot:{event_id}", "hubspot", object_type, object_id, change,
                   contact_id=object_id if object_type == "contact" else None,
                   occurred_at_ms=_epoch_ms(occurred, received_at_ms), received_at_ms=received_at_ms, sha=sha,
                   props=props, region=region, merged_ids=merged,
                   deal_stage=opt_str(value) if change == "stage_changed" else None)


def _cdc(ev: Mapping[str, Any], received_at_ms: int, sha: str, region: str | None) -> CrmChange:
    event_id, source, entity, object_id = (opt_str(ev.get(k)) for k in ("event_id", "source", "entity", "id"))
    if not event_id or not source or not entity or not object_id:
        raise InvalidEvent("bad_shape", "a CDC event needs event_id, source, entity and id")
    op = (opt_str(ev.get("op")) or "update").lower()
    if op not in _CDC_CHANGES:
        raise InvalidEvent("bad_op", f"op must be one of {', '.join(_CDC_CHANGES)}, got {op[:20]!r}")
    data = dict(obj(ev.get("data")))
    change = _CDC_CHANGES[op]
    if entity == "order" and change == "created":
        change = "order_placed"
    if entity == "deal" and "stage" in data:
        change = "stage_changed"
    items = [i for i in data.get("items") or () if isinstance(i, dict)]
    return _change(f"{source}:{event_id}", source, entity, object_id, change,
                   contact_id=object_id if entity == "contact" else opt_str(data.get("contact_id")),
                   occurred_at_ms=_epoch_ms(ev.get("occurred_at"), received_at_ms), received_at_ms=received_at_ms,
                   sha=sha, props=data, region=opt_str(data.get("region")) or region,
                   merged_ids=tuple(str(i) for i in data.get("merged_ids") or () if opt_str(i)),
                   deal_stage=opt_str(data.get("stage")) if entity == "deal" else None,
                   order_id=object_id if entity == "order" else None,
                   skus=tuple(s for s in (opt_str(i.get("sku")) for i in items) if s),
                   amount=_float(data.get("total")), currency=opt_str(data.get("currency")))


def _change(change_id: str, system: str, object_type: str, object_id: str, change: str, *, contact_id: str | None,
            occurred_at_ms: int, received_at_ms: int, sha: str, props: Mapping[str, Any], region: str | None,
            **fields: Any) -> CrmChange:
    phone_raw = next((opt_str(props[p]) for p in PHONE_PROPERTIES if opt_str(props.get(p))), None)
    phone_e164: str | None = None
    keys: tuple[str, ...] = ()
    error: str | None = None
    if phone_raw:
        try:
            phone = normalize_phone(phone_raw, region)
            phone_e164, keys = phone.e164, phone.keys
        except InvalidPhone as exc:
            error = str(exc)
    email = opt_str(props.get("email"))
    name = " ".join(n for n in (opt_str(props.get(p)) for p in NAME_PROPERTIES) if n) or None
    return CrmChange(
        change_id=change_id, system=system, object_type=object_type, object_id=object_id, change=change,
        key=f"{system}:{contact_id or object_id}", occurred_at_ms=occurred_at_ms, received_at_ms=received_at_ms,
        envelope_sha256=sha, properties_json=dumps(dict(props)) if props else None, phone_raw=phone_raw,
        phone_e164=phone_e164, phone_keys=keys, phone_error=error,
        email=email.strip().lower() if email else None, name=name, contact_id=contact_id, **fields)


def _epoch_ms(value: Any, default: int) -> int:
    """Epoch milliseconds (number or digits) or ISO-8601 with a timezone; absent -> default."""
    if value in (None, ""):
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value) if value.isdigit() else iso8601_to_ms(value)
        except ValueError as exc:
            raise InvalidEvent("bad_timestamp", f"occurred time {value[:32]!r} is neither epoch ms nor ISO-8601 "
                                                "with a timezone") from exc
    raise InvalidEvent("bad_timestamp", f"occurred time has type {type(value).__name__}")


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
