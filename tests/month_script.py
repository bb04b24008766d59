"""A scripted month of one Hong Kong contact's WhatsApp conversation with a shop, and what the
automation stage must make of it. Used at the processor level (tests/unit/test_engagement.py)
and against the real broker (tests/e2e/test_automation.py).

Day 0 is Thursday 2026-10-01, Hong Kong time (UTC+8). The customer signs up for marketing,
asks about prices three times in five days (high intent: coupon, deferred out of quiet hours),
keeps a steady 3 interactions a week, asks about shipping (FAQ auto-reply) and an order (order
status reply, denied while a human agent has the conversation), gets a marketing template that
Meta refuses (131049), then after a quiet week complains: the rate fell from 3/week to 1/week
with a complaint and negative sentiment (at risk: retention offer). Then silence: event time,
advanced by a tick, moves the contact on without any new message until it has churned."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

HK = ZoneInfo("Asia/Hong_Kong")
WA_ID = "85291230000"
PNID = "109876543210001"
CONTACT = f"{PNID}:{WA_ID}"
DAY0 = datetime(2026, 10, 1, tzinfo=HK)


def at(day: int, hhmm: str) -> int:
    """Epoch seconds of day ``day`` at ``hhmm`` Hong Kong time."""
    h, m = (int(x) for x in hhmm.split(":"))
    return int(DAY0.timestamp()) + day * 86400 + h * 3600 + m * 60


# (kind, seconds, fields): kind in inbound | agent | preference | status
SCRIPT: list[tuple[str, int, dict]] = [
    ("preference", at(0, "09:00"), {"value": "signup"}),
    ("inbound", at(0, "10:05"), {"id": "wamid.m01", "text": "你好，這件羊毛外套多少錢？"}),
    ("agent", at(0, "10:09"), {"id": "inbox.m01", "text": "您好！這件是 HK$899，會員九折。"}),
    ("inbound", at(2, "15:20"), {"id": "wamid.m02", "text": "有折扣嗎？兩件一起買幾多錢？"}),
    ("inbound", at(4, "23:30"), {"id": "wamid.m03", "text": "運費幾多？黑色 M 碼價錢一樣嗎？"}),
    ("inbound", at(7, "12:00"), {"id": "wamid.m04", "text": "我想問下門市地址"}),
    ("agent", at(7, "12:03"), {"id": "inbox.m04", "text": "我哋喺銅鑼灣記利佐治街 1 號。"}),
    ("inbound", at(7, "14:00"), {"id": "wamid.m05", "text": "我的訂單 884213 出貨了嗎？"}),
    ("inbound", at(9, "11:00"), {"id": "wamid.m06", "text": "收到，謝謝！"}),
    ("status", at(10, "10:00"), {"id": "wamid.promo1", "status": "failed",
                                 "error": (131049, "This message was not delivered to maintain healthy ecosystem "
                                                   "engagement.")}),
    ("inbound", at(11, "16:00"), {"id": "wamid.m07", "text": "外套收到了，很好看"}),
    ("inbound", at(14, "10:00"), {"id": "wamid.m08", "text": "想買 10 件送同事，可以報價嗎？"}),
    ("agent", at(14, "10:30"), {"id": "inbox.m08", "text": "10 件可以八五折，稍後發報價單給您。"}),
    ("inbound", at(16, "10:00"), {"id": "wamid.m09", "text": "朋友都話好正"}),
    ("inbound", at(18, "10:00"), {"id": "wamid.m10", "text": "請問下星期有新貨嗎"}),
    ("inbound", at(26, "20:00"), {"id": "wamid.m11", "text": "新買的外套甩線，好失望，我要投訴"}),
]
TICK_DAY = 92  # a tick at day 92 (10:00) moves event time on: silence alone ends in `churned`

# What must come out. Segments in order, with the day they were entered; silence alone makes the
# last four moves (timers at event time: the tick at day 92 fires them).
SEGMENTS = [("potential", 0), ("high_intent", 4), ("engaged", 7), ("at_risk", 23), ("potential", 54),
            ("dormant", 56), ("churned", 86)]
# every decision: (rule, outcome, reason, Hong Kong local time of the decision), by time and rule
DECISIONS = [
    ("potential_follow_up", "allow", "not_customer_facing", "10-01 10:05"),  # a CRM task for an agent
    ("high_intent_coupon", "defer", "quiet_hours", "10-05 23:30"),  # 3rd price inquiry late at night
    ("shipping_faq", "allow", "ok", "10-05 23:30"),  # free-form, inside the 24-hour window
    ("high_intent_coupon", "allow", "ok", "10-06 08:00"),  # the deferred coupon at 08:00 local time
    ("order_status_reply", "deny", "human_takeover", "10-08 14:00"),  # an agent replied 2 hours before
    ("sla_alert", "allow", "not_customer_facing", "10-15 10:05"),  # quote request unanswered for 5 minutes
    ("at_risk_retention_offer", "allow", "ok", "10-24 10:00"),  # 3/week -> 1/week and a failed delivery
    ("potential_follow_up", "allow", "not_customer_facing", "11-24 20:00"),
]
# customer-facing commands the sender gets: (rule, template or text kind)
COMMANDS = [("shipping_faq", "text"), ("high_intent_coupon", "template"), ("at_risk_retention_offer", "template")]


def signals():  # -> list[Signal]
    from processors.events import Signal, SignalKind

    out = []
    for kind, ts, f in SCRIPT:
        ms = ts * 1000
        if kind == "inbound":
            out.append(Signal(SignalKind.MESSAGE, f["id"], CONTACT, ms, PNID, wamid=f["id"], wa_id=WA_ID,
                              phone_e164="+" + WA_ID, profile_name="陳小姐", direction="inbound",
                              sender_kind="customer", message_type="text", text=f["text"]))
        elif kind == "agent":
            out.append(Signal(SignalKind.MESSAGE, f["id"], CONTACT, ms, PNID, wamid=f["id"], wa_id=WA_ID,
                              phone_e164="+" + WA_ID, direction="outbound", sender_kind="agent", agent_id="agent-7",
                              message_type="text", text=f["text"]))
        elif kind == "status":
            out.append(Signal(SignalKind.STATUS, f"{f['id']}|{f['status']}", CONTACT, ms, PNID, wamid=f["id"],
                              wa_id=WA_ID, phone_e164="+" + WA_ID, status=f["status"],
                              error_code=f["error"][0] if f.get("error") else None))
        else:
            out.append(Signal(SignalKind.PREFERENCE, f"pref|{CONTACT}|marketing_messages|{f['value']}|{ms}", CONTACT,
                              ms, PNID, wa_id=WA_ID, category="marketing_messages", value=f["value"]))
    out.append(Signal(SignalKind.TICK, "tick", "", at(TICK_DAY, "10:00") * 1000))
    return out
