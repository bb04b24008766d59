"""WhatsApp Cloud API webhook bodies -> domain events. Pure: bytes and context in, events out.

One body holds entries, each with changes; a change's ``field`` says what it carries. Messages,
echoes of our own outbound messages and statuses (field ``messages`` / ``smb_message_echoes``)
become Message/StatusEvents; ``user_preferences`` become PreferenceEvents (the policy gate obeys
them); every other field, and webhook-level ``errors``, becomes a BusinessEvent that keeps its
payload. Nothing is dropped: an unknown field is a BusinessEvent, an unknown message type an
``unsupported`` message with its raw JSON."""

from __future__ import annotations

from typing import Any

from processors.errors import InvalidEvent
from processors.events import BusinessEvent, IgnoredChange, ParsedWebhook
from processors.timestamps import epoch_seconds_to_ms
from processors.values import dumps, first_error, load_json_any, obj, opt_str
from processors.wa_context import ChangeContext
from processors.wa_messages import message_event
from processors.wa_statuses import preference_event, status_event

WABA_OBJECT = "whatsapp_business_account"
_ITEM_LISTS = ("messages", "message_echoes", "statuses", "user_preferences", "errors")


def load_json_object(body: bytes) -> dict[str, Any]:
    doc = load_json_any(body)
    if not isinstance(doc, dict):
        raise InvalidEvent("bad_json", f"body is a JSON {type(doc).__name__}, not an object")
    return doc


def parse_webhook(body: bytes, *, received_at_ms: int, envelope_sha256: str) -> ParsedWebhook:
    """Every event in every entry and change of one webhook body.

    Raises ``InvalidEvent`` when the body is not a WhatsApp webhook or any item in it is
    malformed: the caller dead-letters the whole envelope with its original bytes, so a fixed
    parser can redrive it and dedup absorbs the siblings that were fine."""
    doc = load_json_object(body)
    if doc.get("object") != WABA_OBJECT:
        raise InvalidEvent("not_whatsapp", f"object is {str(doc.get('object'))[:40]!r}, not {WABA_OBJECT!r}")
    entries = doc.get("entry")
    if not isinstance(entries, list):
        raise InvalidEvent("bad_shape", "entry is not a list")
    out = _Collector()
    for e_index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            raise InvalidEvent("bad_shape", "an entry has no changes list")
        entry_time = entry.get("time")
        for c_index, change in enumerate(entry["changes"]):
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                raise InvalidEvent("bad_shape", "a change has no value object")
            ctx = ChangeContext.of(change["value"], waba_id=opt_str(entry.get("id")),
                                   received_at_ms=received_at_ms, envelope_sha256=envelope_sha256,
                                   position=f"{e_index}.{c_index}",
                                   entry_time_ms=_optional_time(entry_time, received_at_ms))
            out.change(str(change.get("field") or ""), change["value"], ctx)
    return out.result()


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.statuses: list[Any] = []
        self.preferences: list[Any] = []
        self.business: list[BusinessEvent] = []
        self.ignored: list[IgnoredChange] = []

    def change(self, field: str, value: dict[str, Any], ctx: ChangeContext) -> None:
        lists = {k: value[k] for k in _ITEM_LISTS if k in value}
        for key, items in lists.items():
            if not isinstance(items, list):
                raise InvalidEvent("bad_shape", f"{key} is not a list")
            for item in items:
                if not isinstance(item, dict):
                    raise InvalidEvent("bad_shape", f"an item of {key} is not an object")
        for raw in lists.get("messages", ()):
            self.messages.append(message_event(raw, ctx, echo=False))
        for raw in lists.get("message_echoes", ()):
            self.messages.append(message_event(raw, ctx, echo=True))
        for raw in lists.get("statuses", ()):
            self.statuses.append(status_event(raw, ctx))
        for raw in lists.get("user_preferences", ()):
            self.preferences.append(preference_event(raw, ctx))
        for i, raw in enumerate(lists.get("errors", ())):
            code, title = first_error([raw])
            self.business.append(_business(ctx, field or "messages", "error", value, f"e{i}",
                                           error_code=code, error_title=title, payload=raw))
        if not lists:
            if _is_empty(value):
                self.ignored.append(IgnoredChange(field=field, kind="empty"))
            else:
                event = opt_str(value.get("event")) or opt_str(value.get("decision")) or field or "unknown"
                self.business.append(_business(ctx, field or "unknown", event, value, "", payload=value))

    def result(self) -> ParsedWebhook:
        return ParsedWebhook(messages=tuple(self.messages), statuses=tuple(self.statuses),
                             preferences=tuple(self.preferences), business=tuple(self.business),
                             ignored=tuple(self.ignored))


def _business(ctx: ChangeContext, field: str, event: str, value: dict[str, Any], suffix: str, *,
              payload: Any, error_code: int | None = None, error_title: str | None = None) -> BusinessEvent:
    subject = (opt_str(value.get("message_template_name")) or opt_str(value.get("requested_verified_name"))
               or opt_str(value.get("display_phone_number")) or opt_str(obj(value.get("metadata"))
                                                                         .get("display_phone_number")))
    return BusinessEvent(
        event_id=f"{ctx.envelope_sha256}:{ctx.position}{':' + suffix if suffix else ''}",
        field=field, event=event, timestamp_ms=ctx.entry_time_ms, received_at_ms=ctx.received_at_ms,
        envelope_sha256=ctx.envelope_sha256, waba_id=ctx.waba_id, phone_number_id=ctx.phone_number_id or None,
        subject=subject, error_code=error_code, error_title=error_title, payload_json=dumps(payload))


def _is_empty(value: dict[str, Any]) -> bool:
    return not any(v for k, v in value.items() if k not in ("messaging_product", "metadata", "contacts"))


def _optional_time(value: Any, default_ms: int) -> int:
    return default_ms if value in (None, "") else epoch_seconds_to_ms(value)
