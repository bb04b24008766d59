"""Ground truth of the churn segments: each customer who wrote, placed by the segment rules
(``processors.churn``, the specification) at the end of the generated traffic, from what the
generator decided: when the customer wrote and with which intent, which of our messages failed,
which templates were read and when, who opted out. Nothing comes from the pipeline: not its
tagger (intents stand in for tags), not its receipts, not its timers.

What the generator cannot know is the sentiment the pipeline reads in a text; the truth takes a
complaint as negative (0), thanks as positive (1) and any other message as unscored. That moves a
few contacts across the ``at_risk`` line, so the comparison is within a tolerance."""

from __future__ import annotations

from collections import Counter, defaultdict

from processors.churn import HOUR_MS, ChurnRules, Signals, evaluate
from processors.engagement import INQUIRY_TAGS
from streams.generator.phrases import INTENTS
from streams.generator.simulate import Message, Traffic

INQUIRIES = frozenset(intent for intent, tag in INTENTS.items() if tag in INQUIRY_TAGS)  # price, discount, size, quote
SENTIMENT = {"complaint": 0.0, "thanks": 1.0}


def segment_sizes(traffic: Traffic, rules: ChurnRules | None = None) -> dict[str, int]:
    """Customers per segment at the time of the traffic's last event."""
    rules = rules or ChurnRules()
    by_contact: dict[int, list[Message]] = defaultdict(list)
    for m in traffic.messages:
        by_contact[m.contact].append(m)
    now = last_event_ms(traffic)
    sizes: Counter[str] = Counter()
    for contact, items in by_contact.items():
        if any(m.direction == "inbound" for m in items):
            sizes[evaluate(signals(items, traffic.opted_out.get(contact), now), now, rules).segment] += 1
    return dict(sizes)


def last_event_ms(traffic: Traffic) -> int:
    times = [m.ts for m in traffic.messages] + [m.read_ts for m in traffic.messages if m.read_ts]
    times += list(traffic.opted_out.values())
    return max(times) * 1000


def signals(items: list[Message], opted_out_s: int | None, now: int) -> Signals:
    inbound = sorted((m for m in items if m.direction == "inbound"), key=lambda m: m.ts)
    outbound = [m for m in items if m.direction == "outbound"]
    interactions: list[int] = []
    for m in inbound:  # a burst: a message more than an hour after any interaction's start
        ts = m.ts * 1000
        if not any(ts - HOUR_MS < t <= ts + HOUR_MS for t in interactions):
            interactions.append(ts)
    return Signals(
        interactions=tuple(interactions),
        last_inbound_ms=inbound[-1].ts * 1000 if inbound else None,
        inquiries=tuple(m.ts * 1000 for m in inbound if m.intent in INQUIRIES),
        sentiments=tuple((m.ts * 1000, SENTIMENT[m.intent]) for m in inbound if m.intent in SENTIMENT)[-8:],
        complaints=tuple(m.ts * 1000 for m in inbound if m.intent == "complaint"),
        failed=tuple((m.ts + 1) * 1000 for m in outbound if m.final == "failed"),
        templates=tuple((m.ts * 1000, m.read_ts * 1000 if m.read_ts else None)
                        for m in outbound if m.kind == "template"),
        opted_out=opted_out_s is not None and opted_out_s * 1000 <= now)
