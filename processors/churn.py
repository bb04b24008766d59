"""Churn risk and segments (DESIGN §5): deterministic, explainable, computed at an event time. Pure.

``score(signals, now, rules)`` is a weighted sum of factors, each in [0, 1], with weights summing
to 1, so the score is in [0, 1]; every factor's value and weight is kept (the breakdown analysts
see). ``segment(...)`` places the contact, first match wins:

* ``churned``: no customer message for ``churned_days`` (60) or more;
* ``high_intent``: ``high_intent_inquiries`` (3)+ product/price inquiries in ``high_intent_days`` (7);
* ``at_risk``: the interaction rate fell sharply (recent week vs the three weeks before, by at
  least ``rate_drop_at_risk``, e.g. 3/week -> 1/week) with a negative signal (sentiment below 0.3,
  a complaint, a failed delivery, an unread template), or a score of ``score_at_risk`` or more;
* ``potential``: 1-2 interactions in 30 days;
* ``engaged``: 3+ interactions in 30 days; ``dormant``: none in 30 days (not yet churned);
  ``new``: no customer message yet.

An interaction is a burst of customer messages: one starting more than an hour after the
previous message. ``next_change_ms`` says when silence alone could move the contact: the stream
sets an event-time timer there, so a contact who goes quiet changes segment without a message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS


@dataclass(frozen=True, slots=True)
class ChurnRules:
    churned_days: float = 60
    high_intent_inquiries: int = 3
    high_intent_days: float = 7
    potential_max: int = 2
    window_days: float = 30
    rate_drop_at_risk: float = 0.5
    score_at_risk: float = 0.6
    negative_sentiment: float = 0.3
    unread_after_hours: float = 48
    weights: tuple[tuple[str, float], ...] = (
        ("recency", 0.30), ("rate_drop", 0.20), ("sentiment", 0.15), ("complaints", 0.15),
        ("failed_deliveries", 0.08), ("unread_templates", 0.07), ("opted_out", 0.05))

    def __post_init__(self) -> None:
        total = sum(w for _, w in self.weights)
        if abs(total - 1.0) > 1e-9 or any(w < 0 for _, w in self.weights):
            raise ValueError(f"churn weights must be >= 0 and sum to 1, not {total:g}")


@dataclass(frozen=True, slots=True)
class Signals:
    """A contact's history as the score needs it (times are event times, ms)."""

    interactions: tuple[int, ...] = ()  # start of each burst of customer messages
    last_inbound_ms: int | None = None
    inquiries: tuple[int, ...] = ()  # product/price inquiries
    sentiments: tuple[tuple[int, float], ...] = ()  # (ts, 0..1) of recent scored customer messages
    complaints: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()  # failed deliveries of our messages
    templates: tuple[tuple[int, int | None], ...] = ()  # (sent ts, read ts or None)
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class Factor:
    name: str
    value: float  # 0..1
    weight: float
    why: str

    @property
    def contribution(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True, slots=True)
class Score:
    score: float
    segment: str
    factors: tuple[Factor, ...]
    reason: str  # why this segment


def _in(times: Iterable[int], start: int, end: int) -> int:
    return sum(start < t <= end for t in times)


def _clamp(x: float) -> float:
    return 0.0 if x != x else min(1.0, max(0.0, x))  # NaN -> 0


def rates(s: Signals, now: int) -> tuple[float, float]:
    """(interactions in the last 7 days, weekly average over the 3 weeks before)."""
    recent = _in(s.interactions, now - WEEK_MS, now)
    before = _in(s.interactions, now - 4 * WEEK_MS, now - WEEK_MS) / 3
    return float(recent), before


def sentiment_at(s: Signals, now: int, keep: int = 5) -> float | None:
    known = [v for t, v in s.sentiments if t <= now][-keep:]
    return sum(known) / len(known) if known else None


def unread_templates(s: Signals, now: int, rules: ChurnRules) -> int:
    cutoff = now - int(rules.unread_after_hours * HOUR_MS)
    return sum(sent <= cutoff and sent > now - int(rules.window_days * DAY_MS) and (read is None or read > now)
               for sent, read in s.templates)


def factors(s: Signals, now: int, rules: ChurnRules) -> tuple[Factor, ...]:
    month = int(rules.window_days * DAY_MS)
    values: dict[str, tuple[float, str]] = {}
    if s.last_inbound_ms is None or s.last_inbound_ms > now:
        values["recency"] = (0.0, "no customer message yet")
    else:
        days = (now - s.last_inbound_ms) / DAY_MS
        values["recency"] = (_clamp(days / rules.churned_days), f"{days:.1f} days since the last customer message")
    recent, before = rates(s, now)
    drop = _clamp((before - recent) / before) if before > 0 else 0.0
    values["rate_drop"] = (drop, f"{recent:g}/week now vs {before:.2f}/week in the 3 weeks before")
    mood = sentiment_at(s, now)
    values["sentiment"] = ((0.0, "no sentiment yet") if mood is None else
                           (_clamp((0.5 - mood) / 0.5), f"recent sentiment {mood:.2f} (0 negative, 1 positive)"))
    complaints = _in(s.complaints, now - month, now)
    values["complaints"] = (_clamp(complaints / 2), f"{complaints} complaint(s) in {rules.window_days:g} days")
    failed = _in(s.failed, now - month, now)
    values["failed_deliveries"] = (_clamp(failed / 3), f"{failed} failed deliveries in {rules.window_days:g} days")
    unread = unread_templates(s, now, rules)
    values["unread_templates"] = (_clamp(unread / 3), f"{unread} template(s) unread after "
                                                      f"{rules.unread_after_hours:g} h")
    values["opted_out"] = ((1.0, "opted out of marketing") if s.opted_out else (0.0, "opted in or unknown"))
    return tuple(Factor(name, values[name][0], w, values[name][1]) for name, w in rules.weights)


def evaluate(s: Signals, now: int, rules: ChurnRules) -> Score:
    fs = factors(s, now, rules)
    total = _clamp(round(sum(f.contribution for f in fs), 6))
    segment, reason = _segment(s, now, rules, fs, total)
    return Score(total, segment, fs, reason)


def _segment(s: Signals, now: int, rules: ChurnRules, fs: tuple[Factor, ...], total: float) -> tuple[str, str]:
    if s.last_inbound_ms is None or s.last_inbound_ms > now:
        return "new", "no customer message yet"
    silent = (now - s.last_inbound_ms) / DAY_MS
    if silent >= rules.churned_days:
        return "churned", f"no customer message for {silent:.0f} days (>= {rules.churned_days:g})"
    inquiries = _in(s.inquiries, now - int(rules.high_intent_days * DAY_MS), now)
    if inquiries >= rules.high_intent_inquiries:
        return "high_intent", f"{inquiries} product/price inquiries in {rules.high_intent_days:g} days"
    by_name = {f.name: f for f in fs}
    mood = sentiment_at(s, now)
    negative = [name for name, hit in (
        ("sentiment", mood is not None and mood < rules.negative_sentiment),
        ("complaints", by_name["complaints"].value > 0), ("failed_deliveries", by_name["failed_deliveries"].value > 0),
        ("unread_templates", by_name["unread_templates"].value > 0)) if hit]
    if by_name["rate_drop"].value >= rules.rate_drop_at_risk and negative:
        return "at_risk", f"{by_name['rate_drop'].why}; negative: {', '.join(negative)}"
    if total >= rules.score_at_risk:
        return "at_risk", f"churn score {total:.2f} >= {rules.score_at_risk:g}"
    month = _in(s.interactions, now - int(rules.window_days * DAY_MS), now)
    if month == 0:
        return "dormant", f"no interaction in {rules.window_days:g} days"
    if month <= rules.potential_max:
        return "potential", f"{month} interaction(s) in {rules.window_days:g} days"
    return "engaged", f"{month} interactions in {rules.window_days:g} days"


def next_change_ms(s: Signals, now: int, rules: ChurnRules) -> int | None:
    """The earliest time after ``now`` at which the passing of time alone can change the score or
    segment: a signal leaving a window, the churn horizon, a template turning unread."""
    day = DAY_MS
    edges: list[int] = []
    for t in s.interactions:
        edges += [t + WEEK_MS, t + 4 * WEEK_MS, t + int(rules.window_days * day)]
    edges += [t + int(rules.high_intent_days * day) for t in s.inquiries]
    edges += [t + int(rules.window_days * day) for t in (*s.complaints, *s.failed)]
    edges += [sent + int(rules.unread_after_hours * HOUR_MS) for sent, _ in s.templates]
    edges += [sent + int(rules.window_days * day) for sent, _ in s.templates]
    if s.last_inbound_ms is not None:
        churn_at = s.last_inbound_ms + int(rules.churned_days * day)
        edges.append(churn_at)
        if now < churn_at:  # the score's recency factor grows every day: re-score daily until churned
            edges.append(now + day)
    future = [e for e in edges if e > now]
    return min(future) if future else None
