"""Webhook lines for ``scrm ingest`` (the JSONL format of streams/samples/sample.jsonl). Bodies come
from the generator's builders (``streams.generator.webhooks``) for the first business."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from streams.generator import webhooks
from streams.generator.simulate import BUSINESSES

BUSINESS = BUSINESSES[0]
PNID = BUSINESS.phone_number_id
T0 = 1795136000  # 2026-11-20T00:53:20Z, epoch seconds


def inbound(wa_id: str, wamid: str, ts: int, text: str, name: str = "客戶") -> dict:
    return {"source": "whatsapp", "body": webhooks.inbound_text(BUSINESS, wa_id, name, wamid, ts, text)}


def status(wa_id: str, wamid: str, ts: int, kind: str, error: tuple[int, str] | None = None) -> dict:
    item: dict = {"id": wamid, "status": kind, "timestamp": str(ts), "recipient_id": wa_id}
    if error:
        item["errors"] = [{"code": error[0], "title": error[1]}]
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "85230001234", "phone_number_id": PNID}, "statuses": [item]}
    return _whatsapp(value)


def preference(wa_id: str, ts: int, value: str) -> dict:
    return {"source": "whatsapp", "body": webhooks.preference(BUSINESS, wa_id, ts, value)}


def reply(wa_id: str, message_id: str, ts: int, text: str, kind: str = "agent", agent_id: str = "agent-7") -> dict:
    return {"source": "agent_inbox", "body": {"message_id": message_id, "phone_number_id": PNID, "wa_id": wa_id,
                                              "agent_id": agent_id, "sender_kind": kind, "text": text,
                                              "timestamp": ts}}


def cdc(event_id: str, entity: str, object_id: str, at_s: int, **data) -> dict:
    """A generic CDC change (a contact upsert or an order create) from the shop's CRM."""
    op = "upsert" if entity == "contact" else "create"
    return {"source": "cdc", "body": webhooks.cdc(event_id, entity, object_id, at_s, op, **data)}


PREFIXES = ("8529", "8869", "8190", "55119", "52155")  # HK, TW, JP, BR, MX (with the old mobile 1)
TEXTS = ("有折扣嗎？", "運費多少？", "注文した商品はいつ届きますか？", "¿Tienen talla M?", "Quanto custa o frete?",
         "我要投诉，质量太差", "thanks!")


def past_t0(days: int = 4) -> int:
    """T0 moved back by whole days (same hours and minutes) to at least ``days`` before now.

    For traffic that must end before the wall clock: event time ahead of the wall clock does not
    move the automation stage's clock (SCRM_MAX_CLOCK_SKEW_SECONDS), so with traffic straddling
    now, a later replay lets the clock move on and fire timers that were due, new decisions."""
    return T0 + 86_400 * math.floor((time.time() - days * 86_400 - T0) / 86_400)


def mixed(contacts: int, exchanges: int, first: int = 0, t0: int = T0) -> tuple[list[dict], dict[str, int]]:
    """Per contact a CDC contact (every other one also a signup and an order), then per exchange an
    inbound text in one of five languages, an agent reply, and its receipts (delivered, then read
    two times in three; the last reply of every tenth contact fails with 131026). Returns the lines
    and the counts they decide."""
    lines: list[dict] = []
    statuses: set[tuple[str, str]] = set()
    for c in range(first, first + contacts):
        wa_id = f"{PREFIXES[c % 5]}{c:07d}"
        lines.append(cdc(f"ct-{c}", "contact", f"C-{c}", t0 + c, phone=f"+{wa_id}", name=f"客戶 {c}"))
        if c % 2 == 0:
            lines.append(preference(wa_id, t0 + c, "signup"))
            lines.append(cdc(f"or-{c}", "order", f"O-{c}", t0 + 3600 + c, contact_id=f"C-{c}",
                             items=[{"sku": f"SKU-{c % 7}"}]))
        for j in range(exchanges):
            at = t0 + c * 37 + j * 5 * 3600
            lines.append(inbound(wa_id, f"wamid.wh.{c}.{j}", at, TEXTS[(c + j) % len(TEXTS)]))
            out = f"inbox.wh.{c}.{j}"
            lines.append(reply(wa_id, out, at + 60 + (c % 9) * 60, "收到，請稍等", agent_id=f"agent-{c % 4}"))
            if j == exchanges - 1 and c % 10 == 0:
                lines.append(status(wa_id, out, at + 700, "failed", (131026, "Message undeliverable")))
                statuses.add((out, "failed"))
                continue
            lines.append(status(wa_id, out, at + 720, "delivered"))
            statuses.add((out, "delivered"))
            if j % 3:
                lines.append(status(wa_id, out, at + 900, "read"))
                statuses.add((out, "read"))
    oracle = {"raw_webhooks": len(lines), "messages": 2 * contacts * exchanges, "statuses": len(statuses),
              "message_state": len({w for w, _ in statuses})}
    return lines, oracle


def _whatsapp(value: dict, field: str = "messages") -> dict:
    return {"source": "whatsapp", "body": webhooks.whatsapp(value, field)}


def write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return path


def contact_key(wa_id: str) -> str:
    return f"{PNID}:{wa_id}"
