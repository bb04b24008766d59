"""Replies typed by human agents in an inbox/CRM, posted to the receiver by that integration
(DESIGN §3), -> outbound MessageEvents with ``sender_kind=agent`` (or ``bot``). Pure.

Body: one object or a list of them::

    {"message_id": "wamid.… or the inbox's id", "phone_number_id": "1098…", "wa_id": "8525…"
     (or "user_id": "US.…"), "agent_id": "agent-7", "text": "…", "timestamp": 1795136000
     (epoch seconds, or ISO-8601), "sender_kind": "agent" | "bot" | "template" (default agent),
     "message_type": "text" (default), "template": {"name": "weekly_promo", "language": "zh_HK"}}

A ``template`` (a campaign or marketing tool's send) makes the message a ``template`` message whose
``payload_json`` keeps the template's name and language, so rates can be reported per template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processors.contact_key import contact_key
from processors.errors import InvalidEvent
from processors.events import Direction, MessageEvent, ParsedWebhook, SenderKind
from processors.phones import wa_id_to_e164
from processors.timestamps import epoch_seconds_to_ms, iso8601_to_ms
from processors.values import dumps, load_json_any, opt_str

_KINDS = {"agent": SenderKind.AGENT, "bot": SenderKind.BOT, "template": SenderKind.TEMPLATE}


def parse_agent_replies(body: bytes, *, received_at_ms: int, envelope_sha256: str) -> ParsedWebhook:
    doc = load_json_any(body)
    items = doc if isinstance(doc, list) else [doc]
    if not items or not all(isinstance(i, dict) for i in items):
        raise InvalidEvent("bad_shape", "an agent-inbox body is an object or a list of objects")
    return ParsedWebhook(messages=tuple(_reply(i, received_at_ms, envelope_sha256) for i in items))


def _reply(item: Mapping[str, Any], received_at_ms: int, envelope_sha256: str) -> MessageEvent:
    message_id = opt_str(item.get("message_id"))
    if not message_id:
        raise InvalidEvent("no_message_id", "an agent reply has no message_id")
    kind = str(item.get("sender_kind") or "agent")
    if kind not in _KINDS:
        raise InvalidEvent("bad_sender_kind", f"sender_kind must be agent, bot or template, got {kind[:20]!r}")
    pnid = opt_str(item.get("phone_number_id")) or ""
    wa_id, user_id = opt_str(item.get("wa_id")), opt_str(item.get("user_id"))
    template = _template(item.get("template"))
    return MessageEvent(
        wamid=message_id, direction=Direction.OUTBOUND, sender_kind=_KINDS[kind],
        agent_id=opt_str(item.get("agent_id")), phone_number_id=pnid,
        contact_key=contact_key(pnid, wa_id, user_id),
        message_type="template" if template else opt_str(item.get("message_type")) or "text",
        timestamp_ms=_timestamp_ms(item.get("timestamp")), received_at_ms=received_at_ms,
        envelope_sha256=envelope_sha256, wa_id=wa_id, user_id=user_id, phone_e164=wa_id_to_e164(wa_id),
        text=opt_str(item.get("text")), context_wamid=opt_str(item.get("context_message_id")),
        payload_json=dumps({"template": template}) if template else None,
    )


def _template(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    name = opt_str(value.get("name")) if isinstance(value, dict) else None
    if not name:
        raise InvalidEvent("bad_template", "template must be an object with a name (and a language code)")
    language = opt_str(value.get("language"))
    return {"name": name, **({"language": language} if language else {})}


def _timestamp_ms(value: Any) -> int:
    """Epoch seconds (number or digits) or ISO-8601 with a timezone."""
    if isinstance(value, str) and not value.strip().replace(".", "").isdigit():
        try:
            return iso8601_to_ms(value)
        except ValueError as exc:
            raise InvalidEvent("bad_timestamp", f"timestamp {value[:32]!r} {exc} (epoch seconds or ISO-8601 "
                                                "with …Z or +08:00)") from exc
    return epoch_seconds_to_ms(value)
