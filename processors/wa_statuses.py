"""Items of ``statuses`` -> StatusEvent and of ``user_preferences`` -> PreferenceEvent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processors.contact_key import contact_key
from processors.errors import InvalidEvent
from processors.events import PreferenceEvent, StatusEvent, StatusKind
from processors.phones import wa_id_to_e164
from processors.timestamps import epoch_seconds_to_ms
from processors.values import dumps, first_error, obj, opt_str
from processors.wa_context import ChangeContext

_KINDS = {k.value: k for k in StatusKind}


def status_event(raw: Mapping[str, Any], ctx: ChangeContext) -> StatusEvent:
    wamid = opt_str(raw.get("id"))
    if not wamid:
        raise InvalidEvent("no_message_id", "a status has no message id")
    status_raw = opt_str(raw.get("status"))
    if not status_raw:
        raise InvalidEvent("no_status", "a status has no status value")
    # Newer payloads may carry only the business-scoped recipient_user_id (no recipient_id).
    wa_id, user_id, _ = ctx.identify(opt_str(raw.get("recipient_id")), opt_str(raw.get("recipient_user_id")))
    conversation = obj(raw.get("conversation"))
    pricing = obj(raw.get("pricing"))
    expires = conversation.get("expiration_timestamp")
    error_code, error_title = first_error(raw.get("errors"))
    billable = pricing.get("billable")
    return StatusEvent(
        wamid=wamid,
        status=_KINDS.get(status_raw.lower(), StatusKind.UNKNOWN),
        status_raw=status_raw,
        phone_number_id=ctx.phone_number_id,
        contact_key=contact_key(ctx.phone_number_id, wa_id, user_id),
        timestamp_ms=epoch_seconds_to_ms(raw.get("timestamp")),
        received_at_ms=ctx.received_at_ms,
        envelope_sha256=ctx.envelope_sha256,
        wa_id=wa_id,
        user_id=user_id,
        phone_e164=wa_id_to_e164(wa_id),
        recipient_type=opt_str(raw.get("recipient_type")),
        error_code=error_code,
        error_title=error_title,
        errors_json=dumps(raw.get("errors")),
        conversation_id=opt_str(conversation.get("id")),
        conversation_category=opt_str(obj(conversation.get("origin")).get("type")),
        conversation_expires_ms=None if expires in (None, "") else epoch_seconds_to_ms(expires),
        pricing_billable=billable if isinstance(billable, bool) else None,
        pricing_model=opt_str(pricing.get("pricing_model")),
        pricing_category=opt_str(pricing.get("category")),
        callback_data=opt_str(raw.get("biz_opaque_callback_data")),
        display_phone_number=ctx.display_phone_number,
        waba_id=ctx.waba_id,
    )


def preference_event(raw: Mapping[str, Any], ctx: ChangeContext) -> PreferenceEvent:
    value = opt_str(raw.get("value"))
    if not value:
        raise InvalidEvent("bad_shape", "a user preference has no value")
    wa_id, user_id, _ = ctx.identify(opt_str(raw.get("wa_id")), opt_str(raw.get("user_id")))
    return PreferenceEvent(
        phone_number_id=ctx.phone_number_id,
        contact_key=contact_key(ctx.phone_number_id, wa_id, user_id),
        category=opt_str(raw.get("category")) or "marketing_messages",
        value=value.lower(),
        timestamp_ms=epoch_seconds_to_ms(raw.get("timestamp")),
        received_at_ms=ctx.received_at_ms,
        envelope_sha256=ctx.envelope_sha256,
        wa_id=wa_id,
        user_id=user_id,
        detail=opt_str(raw.get("detail")),
    )
