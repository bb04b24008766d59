"""``scrm ingest`` lines and receiver requests -> envelopes. Pure.

A line is ``{"source": "whatsapp"|"agent_inbox"|"hubspot"|"cdc", "received_at": ISO-8601 or
epoch ms, "headers": {...}, "body": <webhook JSON, or the raw body as a string>}``. ``crm`` is
accepted as an alias of ``hubspot``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from processors.errors import InvalidEvent
from processors.events import Envelope
from processors.timestamps import iso8601_to_ms

RAW_TOPIC = {"whatsapp": "raw.whatsapp", "agent_inbox": "raw.whatsapp", "hubspot": "raw.crm", "cdc": "raw.crm"}
SOURCES = (*RAW_TOPIC, "crm")
_ALIASES = {"crm": "hubspot"}
KEPT_HEADERS = ("content-type", "user-agent", "x-hub-signature-256", "x-hubspot-signature-v3",
                "x-hubspot-request-timestamp", "x-request-id")


def envelope_from_line(line: str, *, now_ms: int) -> Envelope:
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidEvent("bad_json", f"line is not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(doc, dict):
        raise InvalidEvent("bad_line", f"line is a JSON {type(doc).__name__}, expected an object")
    source = str(doc.get("source"))
    if source not in SOURCES:
        raise InvalidEvent("bad_source", f"source must be one of {', '.join(SOURCES)}, got {doc.get('source')!r}")
    if "body" not in doc:
        raise InvalidEvent("no_body", "line has no 'body'")
    body = _body_bytes(doc["body"])
    headers = doc.get("headers") or {}
    if not isinstance(headers, dict):
        raise InvalidEvent("bad_headers", "'headers' must be an object")
    return envelope_of(_ALIASES.get(source, source), body, headers,
                       received_at_ms=_received_at_ms(doc.get("received_at"), now_ms), signature_verified=False)


def envelope_of(source: str, body: bytes, headers: Mapping[str, str], *, received_at_ms: int,
                signature_verified: bool, request_id: str | None = None) -> Envelope:
    """The raw-topic record of one request: the body byte for byte and a subset of headers."""
    digest = hashlib.sha256(body).hexdigest()
    return Envelope(
        source=source,
        received_at_ms=received_at_ms,
        headers={str(k).lower(): str(v) for k, v in headers.items() if str(k).lower() in KEPT_HEADERS},
        body=body,
        body_sha256=digest,
        signature_verified=signature_verified,
        request_id=request_id or f"ingest-{digest[:24]}",
    )


def _body_bytes(body: Any) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, dict | list):
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    raise InvalidEvent("bad_body", f"'body' must be a JSON object or a string, got {type(body).__name__}")


def _received_at_ms(value: Any, now_ms: int) -> int:
    if value is None:
        return now_ms
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            return iso8601_to_ms(value)
        except ValueError as exc:
            detail = "needs a timezone (e.g. 2026-11-20T10:00:00Z)" if "timezone" in str(exc) else "is not ISO-8601"
            raise InvalidEvent("bad_received_at", f"received_at {value[:40]!r} {detail}") from exc
    raise InvalidEvent("bad_received_at", "received_at must be ISO-8601 text or epoch milliseconds")


def raw_key(env: Envelope) -> bytes:
    """Partition key of a raw envelope: the WhatsApp phone_number_id, or the CRM object id.

    Falls back to the body hash, so a body we cannot read still gets a stable partition."""
    try:
        doc = json.loads(env.body)
    except (ValueError, UnicodeDecodeError):
        return env.body_sha256.encode()
    return (key_of(env.source, doc) or env.body_sha256).encode()


def key_of(source: str, doc: Any) -> str | None:
    """The partition key named by an already parsed body (None when it names none)."""
    if source == "whatsapp":
        return _whatsapp_key(doc)
    if source in ("agent_inbox", "sender"):
        return _opt(doc.get("phone_number_id")) if isinstance(doc, dict) else None
    return _crm_key(doc)


def _whatsapp_key(doc: Any) -> str | None:
    try:
        value = doc["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
    except (KeyError, IndexError, TypeError):
        return None
    return str(value) if value else None


def _crm_key(doc: Any) -> str | None:
    first = doc[0] if isinstance(doc, list) and doc else doc
    if not isinstance(first, dict):
        return None
    for field in ("objectId", "object_id", "id"):
        if first.get(field) not in (None, ""):
            return str(first[field])
    return None


def _opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
