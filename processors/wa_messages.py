"""One item of ``messages`` or ``message_echoes`` -> MessageEvent, for every message type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processors.contact_key import contact_key
from processors.errors import InvalidEvent
from processors.events import Direction, MessageEvent, SenderKind
from processors.phones import wa_id_to_e164
from processors.timestamps import epoch_seconds_to_ms
from processors.values import dumps, first_error, obj, opt_str
from processors.wa_context import ChangeContext

KNOWN_TYPES = frozenset({
    "text", "image", "audio", "voice", "video", "document", "sticker", "location", "contacts",
    "interactive", "button", "reaction", "order", "system", "edit", "revoke", "request_welcome",
})
UNSUPPORTED = "unsupported"


def message_event(raw: Mapping[str, Any], ctx: ChangeContext, *, echo: bool) -> MessageEvent:
    wamid = opt_str(raw.get("id"))
    if not wamid:
        raise InvalidEvent("no_message_id", "a message has no id")
    wa_id, user_id = _customer(raw, ctx, echo=echo)
    wa_id, user_id, profile = ctx.identify(wa_id, user_id)
    declared = opt_str(raw.get("type")) or UNSUPPORTED
    context = obj(raw.get("context"))
    error_code, error_title = first_error(raw.get("errors"))
    if declared in KNOWN_TYPES:
        msg_type, body = declared, raw.get(declared)
        subtype, related, text = _details(msg_type, body)
        payload = body
    else:  # "unsupported", Meta's "unknown", or a type newer than this parser: keep it whole
        msg_type, subtype, related, text = UNSUPPORTED, declared, None, None
        payload = raw.get(UNSUPPORTED) if declared == UNSUPPORTED and raw.get(UNSUPPORTED) else raw
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
        profile_name=opt_str(obj(obj(profile).get("profile")).get("name")),
        text=text,
        context_wamid=opt_str(context.get("id")),
        payload_json=dumps(payload),
        message_subtype=subtype,
        related_wamid=related,
        forwarded=bool(context.get("forwarded") or context.get("frequently_forwarded")),
        referral_json=dumps(raw.get("referral")),
        error_code=error_code,
        error_title=error_title,
    )


def _customer(raw: Mapping[str, Any], ctx: ChangeContext, *, echo: bool) -> tuple[str | None, str | None]:
    """(wa_id, user_id) of the customer: the sender of an inbound message, the recipient of an echo.

    Some echo payloads name the business number as ``to``; then the customer is ``from``."""
    if not echo:
        return opt_str(raw.get("from")), opt_str(raw.get("from_user_id"))
    to, sender = opt_str(raw.get("to")), opt_str(raw.get("from"))
    if to is not None and to == ctx.display_phone_number and sender and sender != to:
        return sender, opt_str(raw.get("from_user_id"))
    return to, opt_str(raw.get("to_user_id"))


def _details(msg_type: str, body: Any) -> tuple[str | None, str | None, str | None]:
    """(subtype, related wamid, human-readable text) of a known message type."""
    b = obj(body)
    if msg_type == "interactive":
        kind = opt_str(b.get("type"))
        reply = obj(b.get(kind)) if kind else {}
        return kind, None, opt_str(reply.get("title")) or opt_str(reply.get("body"))
    if msg_type == "button":
        return None, None, opt_str(b.get("text")) or opt_str(b.get("payload"))
    if msg_type == "reaction":
        emoji = opt_str(b.get("emoji"))
        return (None if emoji else "removed"), opt_str(b.get("message_id")), emoji
    if msg_type == "edit":
        inner = obj(b.get("message"))
        inner_type = opt_str(inner.get("type"))
        _, _, text = _details(inner_type, inner.get(inner_type)) if inner_type else (None, None, None)
        return inner_type, opt_str(b.get("original_message_id")), text
    if msg_type == "revoke":
        return None, opt_str(b.get("original_message_id")), None
    if msg_type == "system":
        return opt_str(b.get("type")), None, opt_str(b.get("body"))
    if msg_type == "location":
        return None, None, opt_str(b.get("name")) or opt_str(b.get("address"))
    for key in ("body", "caption", "text"):
        text = opt_str(b.get(key))
        if text:
            return None, None, text
    return None, None, None
