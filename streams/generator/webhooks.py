"""Request bodies as the pipeline's sources send them: WhatsApp Cloud API webhooks (messages,
statuses, marketing preferences), agent-inbox replies and generic CDC changes. A line is the
``scrm ingest`` form: ``{"source", "received_at", "body"}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WABA_ID = "200000000000001"


@dataclass(frozen=True, slots=True)
class Business:
    phone_number_id: str
    display_phone_number: str
    name: str
    profile: str  # activity profile: retail | b2b


def _metadata(b: Business) -> dict[str, str]:
    return {"display_phone_number": b.display_phone_number, "phone_number_id": b.phone_number_id}


def whatsapp(value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{"field": field,
                                                                                          "value": value}]}]}


def inbound_text(b: Business, wa_id: str, name: str, wamid: str, ts: int, text: str,
                 context: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text", "text": {"body": text}}
    if context:
        message["context"] = {"from": b.display_phone_number, "id": context}
    return whatsapp({"messaging_product": "whatsapp", "metadata": _metadata(b),
                     "contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]})


def status(b: Business, wa_id: str, wamid: str, ts: int, kind: str, *, category: str = "service",
           error: tuple[int, str] | None = None, callback: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "status": kind, "timestamp": str(ts), "recipient_id": wa_id}
    if kind in ("sent", "delivered"):
        item["pricing"] = {"billable": category != "service", "pricing_model": "PMP", "category": category}
    if error:
        item["errors"] = [{"code": error[0], "title": error[1], "message": error[1],
                           "error_data": {"details": error[1]}}]
    if callback:
        item["biz_opaque_callback_data"] = callback
    return whatsapp({"messaging_product": "whatsapp", "metadata": _metadata(b), "statuses": [item]})


def preference(b: Business, wa_id: str, ts: int, value: str) -> dict[str, Any]:
    return whatsapp({"messaging_product": "whatsapp", "metadata": _metadata(b),
                     "user_preferences": [{"wa_id": wa_id, "category": "marketing_messages", "value": value,
                                           "detail": f"User requested to {value} marketing messages",
                                           "timestamp": ts}]}, field="user_preferences")


def outbound(b: Business, wa_id: str, message_id: str, ts: int, text: str, *, kind: str,
             agent_id: str | None = None, template: dict[str, str] | None = None) -> dict[str, Any]:
    """An agent-inbox post: a message the business sent (agent, bot, or a campaign's template)."""
    body: dict[str, Any] = {"message_id": message_id, "phone_number_id": b.phone_number_id, "wa_id": wa_id,
                            "sender_kind": kind, "text": text, "timestamp": ts}
    if agent_id:
        body["agent_id"] = agent_id
    if template:
        body["template"] = template
    return body


def cdc(event_id: str, entity: str, object_id: str, at_s: int, op: str, **data: Any) -> dict[str, Any]:
    """A generic CDC change from the shop's CRM (a contact upsert, an order)."""
    return {"event_id": event_id, "source": "shop", "entity": entity, "op": op, "id": object_id,
            "occurred_at": at_s * 1000, "data": data}
