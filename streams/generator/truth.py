"""Ground truth of generated traffic, computed from what the generator decided (never from the
pipeline's output): the figures `scrm report` shows, for a test to compare within tolerances.

Definitions follow docs/analytics.md: a conversation is a contact's messages without a 24-hour
silence; first response time runs from its first customer message to the first business reply
after it (automated: bot or template; human: an agent); a template is replied when the customer
wrote within 24 hours after it; rates are over all templates sent."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from streams.generator.simulate import Message, Traffic
from streams.generator.truth_segments import INQUIRIES, segment_sizes

IDLE_S = 24 * 3600


def truth(traffic: Traffic, tz: str = "Asia/Hong_Kong") -> dict[str, Any]:
    msgs = traffic.messages
    by_contact: dict[int, list[Message]] = defaultdict(list)
    for m in msgs:
        by_contact[m.contact].append(m)
    bot_frt, human_frt, conversations = [], [], 0
    for items in by_contact.values():
        for conv in _conversations(sorted(items, key=lambda m: m.ts)):
            conversations += 1
            first_in = next((m.ts for m in conv if m.direction == "inbound"), None)
            if first_in is None:
                continue
            bot = next((m.ts for m in conv if m.kind in ("bot", "template") and m.ts > first_in), None)
            human = next((m.ts for m in conv if m.kind == "agent" and m.ts > first_in), None)
            if bot is not None:
                bot_frt.append(bot - first_in)
            if human is not None:
                human_frt.append(human - first_in)
    inbound = [m for m in msgs if m.direction == "inbound"]
    outbound = [m for m in msgs if m.direction == "outbound"]
    zone = ZoneInfo(tz)
    heat = Counter((datetime.fromtimestamp(m.ts, zone).isoweekday(), datetime.fromtimestamp(m.ts, zone).hour)
                   for m in inbound)
    dau: dict[str, set[int]] = defaultdict(set)
    for m in inbound:
        dau[datetime.fromtimestamp(m.ts, UTC).date().isoformat()].add(m.contact)
    return {
        "contacts": len(traffic.customers),
        "posts": len(traffic.posts),
        "retries": sum(p.retry for p in traffic.posts),
        "inbound": len(inbound),
        "outbound": dict(Counter(m.kind for m in outbound)),
        "outbound_final": dict(Counter(m.final for m in outbound)),
        "conversations": conversations,
        "frt_s": {"bot": _summary(bot_frt), "human": _summary(human_frt)},
        "templates": _templates(outbound, by_contact),
        "heatmap": {f"{wd}-{h}": n for (wd, h), n in sorted(heat.items())},
        "dau": {day: len(people) for day, people in sorted(dau.items())},
        "writers": len({m.contact for m in inbound}),
        "orders": len(traffic.orders),
        "crm_records": traffic.crm_records,
        "opt_outs": traffic.opt_outs,
        "regions": dict(Counter(c.region for c in traffic.customers)),
        "languages": dict(Counter(m.language for m in inbound)),
        "personas": dict(Counter(c.persona.value for c in traffic.customers)),
        "intents": dict(Counter(m.intent for m in inbound)),
        "inquiry_bursts": _inquiry_bursts(inbound),
        "segments": segment_sizes(traffic),
    }


def _inquiry_bursts(inbound: list[Message]) -> int:
    """Customers who at some time sent 3+ product or price inquiries within 7 days: an upper bound
    for the ``high_intent`` segment at any later time."""
    times: dict[int, list[int]] = defaultdict(list)
    for m in inbound:
        if m.intent in INQUIRIES:
            times[m.contact].append(m.ts)
    week = 7 * 86400

    def burst(ts: list[int]) -> bool:
        ts = sorted(ts)
        return any(ts[i + 2] - ts[i] <= week for i in range(len(ts) - 2))

    return sum(1 for ts in times.values() if burst(ts))


def _conversations(items: list[Message]) -> list[list[Message]]:
    out: list[list[Message]] = []
    for m in items:
        if out and m.ts <= out[-1][-1].ts + IDLE_S:
            out[-1].append(m)
        else:
            out.append([m])
    return out


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {"n": len(values), "median": float(statistics.median(ordered)),
            "p90": float(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))])}


def _templates(outbound: list[Message], by_contact: dict[int, list[Message]]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for m in outbound:
        if m.template is None:
            continue
        c = out[m.template]
        c["sent"] += 1
        c["delivered"] += m.final in ("delivered", "read")
        c["read"] += m.final == "read"
        c["failed"] += m.final == "failed"
        c["replied"] += any(r.direction == "inbound" and m.ts < r.ts <= m.ts + IDLE_S for r in by_contact[m.contact])
    return {name: dict(c) for name, c in sorted(out.items())}
