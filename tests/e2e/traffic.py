"""Webhook lines for ``scrm ingest`` (the JSONL format of streams/samples/sample.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

PNID = "109876543210001"
T0 = 1795136000  # 2026-11-20T00:53:20Z, epoch seconds


def inbound(wa_id: str, wamid: str, ts: int, text: str, name: str = "客戶") -> dict:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "85230001234", "phone_number_id": PNID},
             "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
             "messages": [{"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text", "text": {"body": text}}]}
    return _whatsapp(value)


def status(wa_id: str, wamid: str, ts: int, kind: str, error: tuple[int, str] | None = None) -> dict:
    item: dict = {"id": wamid, "status": kind, "timestamp": str(ts), "recipient_id": wa_id}
    if error:
        item["errors"] = [{"code": error[0], "title": error[1]}]
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "85230001234", "phone_number_id": PNID}, "statuses": [item]}
    return _whatsapp(value)


def preference(wa_id: str, ts: int, value: str) -> dict:
    value_ = {"messaging_product": "whatsapp",
              "metadata": {"display_phone_number": "85230001234", "phone_number_id": PNID},
              "user_preferences": [{"wa_id": wa_id, "category": "marketing_messages", "value": value,
                                    "detail": f"User requested to {value} marketing messages", "timestamp": ts}]}
    return _whatsapp(value_, field="user_preferences")


def reply(wa_id: str, message_id: str, ts: int, text: str, kind: str = "agent", agent_id: str = "agent-7") -> dict:
    return {"source": "agent_inbox", "body": {"message_id": message_id, "phone_number_id": PNID, "wa_id": wa_id,
                                              "agent_id": agent_id, "sender_kind": kind, "text": text,
                                              "timestamp": ts}}


def cdc(event_id: str, entity: str, object_id: str, at_s: int, **data) -> dict:
    """A generic CDC change (a contact upsert or an order create) from the shop's CRM."""
    return {"source": "cdc", "body": {"event_id": event_id, "source": "shop", "entity": entity, "op": "upsert"
            if entity == "contact" else "create", "id": object_id, "occurred_at": at_s * 1000, "data": data}}


def _whatsapp(value: dict, field: str = "messages") -> dict:
    return {"source": "whatsapp", "body": {"object": "whatsapp_business_account", "entry": [
        {"id": "200000000000001", "changes": [{"field": field, "value": value}]}]}}


def write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return path


def contact_key(wa_id: str) -> str:
    return f"{PNID}:{wa_id}"
