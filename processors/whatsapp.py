"""WhatsApp Cloud API webhook bodies -> domain events. Pure: bytes and context in, events out."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from processors.contact_key import contact_key
from processors.errors import InvalidEvent
from processors.events import (
    Direction,
    IgnoredChange,
    MessageEvent,
    ParsedWebhook,
    SenderKind,
)
from processors.phones import wa_id_to_e164
from processors.timestamps import epoch_seconds_to_ms

WABA_OBJECT = "whatsapp_business_account"


@dataclass(frozen=True, slots=True)
class _Context:
    received_at_ms: int
    envelope_sha256: str
    waba_id: str | None
    phone_number_id: str
    display_phone_number: str | None
    profiles: Mapping[str, Mapping[str, Any]]


def load_json_object(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent("bad_json", f"body is not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(doc, dict):
        raise InvalidEvent("bad_json", f"body is a JSON {type(doc).__name__}, not an object")
    return doc


def parse_webhook(body: bytes, *, received_at_ms: int, envelope_sha256: str) -> ParsedWebhook:
    """Every message in every entry and change of one webhook body.

    Raises ``InvalidEvent`` when the body is not a WhatsApp webhook or any item in it is
    malformed: the caller dead-letters the whole envelope with its original bytes, so a fixed
    parser can redrive it and dedup absorbs the siblings that were fine."""
    doc = load_json_object(body)
    if doc.get("object") != WABA_OBJECT:
        raise InvalidEvent("not_whatsapp", f"object is {str(doc.get('object'))[:40]!r}, not {WABA_OBJECT!r}")
    entries = doc.get("entry")
    if not isinstance(entries, list):
        raise InvalidEvent("bad_shape", "entry is not a list")
    messages: list[MessageEvent] = []
    ignored: list[IgnoredChange] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            raise InvalidEvent("bad_shape", "an entry has no changes list")
        waba_id = _opt_str(entry.get("id"))
        for change in entry["changes"]:
            _parse_change(change, waba_id, received_at_ms, envelope_sha256, messages, ignored)
    return ParsedWebhook(messages=tuple(messages), ignored=tuple(ignored))


def _parse_change(change: Any, waba_id: str | None, received_at_ms: int, envelope_sha256: str,
                  messages: list[MessageEvent], ignored: list[IgnoredChange]) -> None:
    if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
        raise InvalidEvent("bad_shape", "a change has no value object")
    field = str(change.get("field", ""))
    value = change["value"]
    items = [(k, value[k]) for k in ("messages", "message_echoes") if isinstance(value.get(k), list)]
    for kind in ("statuses", "errors"):
        if value.get(kind):
            ignored.append(IgnoredChange(field=field, kind=kind))
    if not items:
        if not any(value.get(k) for k in ("statuses", "errors")):
            ignored.append(IgnoredChange(field=field, kind=field or "unknown"))
        return
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    ctx = _Context(
        received_at_ms=received_at_ms,
        envelope_sha256=envelope_sha256,
        waba_id=waba_id,
        phone_number_id=_opt_str(metadata.get("phone_number_id")) or "",
        display_phone_number=_opt_str(metadata.get("display_phone_number")),
        profiles=dict(_profiles(value.get("contacts"))),
    )
    for key, raw_items in items:
        for raw in raw_items:
            if not isinstance(raw, dict):
                raise InvalidEvent("bad_shape", f"an item of {key} is not an object")
            messages.append(_message(raw, ctx, echo=key == "message_echoes"))


def _profiles(contacts: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(contacts, list):
        return
    for contact in contacts:
        if not isinstance(contact, dict):
            continue
        for ident in (contact.get("wa_id"), contact.get("user_id")):
            if isinstance(ident, str) and ident:
                yield ident, contact


def _message(raw: Mapping[str, Any], ctx: _Context, *, echo: bool) -> MessageEvent:
    wamid = _opt_str(raw.get("id"))
    if not wamid:
        raise InvalidEvent("no_message_id", "a message has no id")
    if echo:
        wa_id, user_id = _opt_str(raw.get("to")), _opt_str(raw.get("to_user_id"))
    else:
        wa_id, user_id = _opt_str(raw.get("from")), _opt_str(raw.get("from_user_id"))
    profile = ctx.profiles.get(wa_id or "") or ctx.profiles.get(user_id or "") or _only(ctx.profiles)
    if profile is not None:
        user_id = user_id or _opt_str(profile.get("user_id"))
        wa_id = wa_id or _opt_str(profile.get("wa_id"))
    msg_type = _opt_str(raw.get("type")) or "unsupported"
    body = raw.get(msg_type)
    context: Mapping[str, Any] = raw["context"] if isinstance(raw.get("context"), dict) else {}
    return MessageEvent(
        wamid=wamid,
        direction=Direction.OUTBOUND if echo else Direction.INBOUND,
        sender_kind=SenderKind.BUSINESS_APP if echo else SenderKind.CUSTOMER,
        phone_number_id=ctx.phone_number_id,
        contact_key=contact_key(ctx.phone_number_id, wa_id, user_id),
        message_type=msg_type,
        timestamp_ms=epoch_seconds_to_ms(raw.get("timestamp")),
        received_at_ms=ctx.received_at_ms,
        envelope_sha256=ctx.envelope_sha256,
        display_phone_number=ctx.display_phone_number,
        waba_id=ctx.waba_id,
        wa_id=wa_id,
        user_id=user_id,
        phone_e164=wa_id_to_e164(wa_id),
        profile_name=_profile_name(profile),
        text=_text_of(msg_type, body),
        context_wamid=_opt_str(context.get("id")),
        payload_json=json.dumps(body, ensure_ascii=False, sort_keys=True) if body is not None else None,
    )


def _only(profiles: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    distinct = {id(p): p for p in profiles.values()}
    return next(iter(distinct.values())) if len(distinct) == 1 else None


def _profile_name(contact: Mapping[str, Any] | None) -> str | None:
    if contact is None or not isinstance(contact.get("profile"), dict):
        return None
    return _opt_str(contact["profile"].get("name"))


def _text_of(msg_type: str, body: Any) -> str | None:
    """The human-readable text of a message: body, caption, chosen reply title, emoji..."""
    if not isinstance(body, dict):
        return None
    if msg_type == "interactive":
        for key in ("button_reply", "list_reply"):
            if isinstance(body.get(key), dict):
                return _opt_str(body[key].get("title"))
        return None
    for key in ("body", "caption", "text", "emoji"):
        text = _opt_str(body.get(key))
        if text:
            return text
    return None


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
