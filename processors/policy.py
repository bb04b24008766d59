"""The WhatsApp policy gate (DESIGN §5): every automated, customer-facing send passes it. Pure.

``decide(action, facts, now_ms, rules, zone)`` answers allow, defer (with when) or deny, with one
reason. ``facts`` are what the contact's stream told us, each with its event time; the gate only
looks at facts timed at or before ``now``, so the answer does not depend on the order facts
arrived in (a late inbound never opens a window it was not part of).

Checks, in order (the first that objects gives the reason):

=================  ==========================================================================
``opted_out``      marketing after the customer's latest preference is an opt-out (a STOP
                   keyword, Meta's marketing preference ``stop``, the CRM)
``no_opt_in``      marketing without a recorded opt-in
``window_closed``  free-form text outside the 24-hour customer-service window (Meta's 131047
                   closes it early: the window Meta saw is the one that counts)
``meta_marketing_limit``  marketing within the back-off after Meta's 131049 for this user (deny)
``pair_rate_limit`` / ``throughput_limit``  after 131056 / 130429: defer until the back-off ends
``human_takeover`` automation paused for 12 h after a human agent replied (templates defer to
                   the end of the pause; free-form replies are denied: the agent has it)
``marketing_cap``  more than 1 marketing message in 24 h
``automated_cap``  more than 3 automated messages in 24 h
``promotion_cap``  more than 1 promotion in 7 days
``content_cap``    the same content more than 5 times in 30 days
``event_spacing``  the same event notification within 6 h
``quiet_hours``    marketing between 22:00 and 08:00 in the contact's local time: defer to 08:00
=================  ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# Meta error codes that change what the gate does next
MARKETING_LIMIT, WINDOW_CLOSED, PAIR_RATE_LIMIT, THROUGHPUT_LIMIT = 131049, 131047, 131056, 130429
BACKOFF_CODES = frozenset({MARKETING_LIMIT, WINDOW_CLOSED, PAIR_RATE_LIMIT, THROUGHPUT_LIMIT})


class Outcome(StrEnum):
    ALLOW = "allow"
    DEFER = "defer"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class PolicyRules:
    window_ms: int = 24 * HOUR_MS
    human_pause_ms: int = 12 * HOUR_MS
    marketing_per_day: int = 1
    automated_per_day: int = 3
    promotion_every_ms: int = 7 * DAY_MS
    content_per_month: int = 5
    event_spacing_ms: int = 6 * HOUR_MS
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    marketing_limit_backoff_ms: int = 72 * HOUR_MS  # after 131049
    pair_backoff_ms: int = 60_000  # after 131056
    throughput_backoff_ms: int = 5_000  # after 130429

    @property
    def horizon_ms(self) -> int:
        """How long a send stays relevant to the caps."""
        return max(31 * DAY_MS, self.promotion_every_ms)


@dataclass(frozen=True, slots=True)
class Action:
    """One automated thing to do for a contact; ``action_id`` is deterministic (rule, contact,
    trigger), so a replayed trigger yields the same id and the sender's outbox sends it once."""

    action_id: str
    rule_id: str
    contact_key: str
    kind: str  # template | text | interactive (customer-facing) | task | alert (for the team)
    trigger: str  # what caused it: an event id, a segment change, a timer
    created_ms: int
    category: str = "utility"  # marketing | utility | service | authentication
    content: str = ""  # template name or content key: the same content at most 5 times a month
    event_key: str | None = None  # notifications about one event: at least 6 h apart
    promotion: bool = False
    template: str | None = None
    language: str | None = None
    text: str | None = None
    title: str | None = None  # tasks and alerts
    payload_json: str | None = None  # template components (a JSON list) or the interactive object

    @property
    def customer_facing(self) -> bool:
        return self.kind in ("template", "text", "interactive")

    @property
    def marketing(self) -> bool:
        return self.category == "marketing"

    @property
    def free_form(self) -> bool:
        """Not a template: allowed only inside the 24-hour customer-service window."""
        return self.kind in ("text", "interactive")


@dataclass(frozen=True, slots=True)
class Send:
    """An automated send the gate allowed (what the caps count)."""

    ts_ms: int
    action_id: str
    category: str
    content: str
    event_key: str | None
    promotion: bool


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """What the gate knows about one contact, each fact with its event time."""

    inbound_ms: tuple[int, ...] = ()  # recent customer messages (sorted)
    human_ms: tuple[int, ...] = ()  # recent human agent replies (sorted)
    consent: tuple[tuple[int, str, str], ...] = ()  # (ts, "in" | "out", source), sorted
    errors: tuple[tuple[int, int], ...] = ()  # (ts, Meta error code) of failed sends, sorted
    sends: tuple[Send, ...] = ()  # allowed automated sends (sorted by time)


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    outcome: Outcome
    reason: str
    decided_ms: int
    defer_until_ms: int | None = None
    detail: str = ""

    @property
    def decision_id(self) -> str:
        return f"{self.action.action_id}@{self.decided_ms}"


KEEP_TIMES = 64  # inbound / human reply times kept per contact: the window needs only the latest


def _add(times: tuple[int, ...], ts: int, keep: int = KEEP_TIMES) -> tuple[int, ...]:
    if ts in times:
        return times
    return tuple(sorted((*times, ts)))[-keep:]


def with_inbound(facts: PolicyFacts, ts: int) -> PolicyFacts:
    return replace(facts, inbound_ms=_add(facts.inbound_ms, ts))


def with_human_reply(facts: PolicyFacts, ts: int) -> PolicyFacts:
    return replace(facts, human_ms=_add(facts.human_ms, ts))


def with_consent(facts: PolicyFacts, ts: int, value: str, source: str) -> PolicyFacts:
    if value not in ("in", "out"):
        raise ValueError(f"consent is 'in' or 'out', not {value!r}")
    entry = (ts, value, source)
    if entry in facts.consent:
        return facts
    return replace(facts, consent=tuple(sorted((*facts.consent, entry)))[-KEEP_TIMES:])


def with_error(facts: PolicyFacts, ts: int, code: int) -> PolicyFacts:
    if code not in BACKOFF_CODES or (ts, code) in facts.errors:
        return facts
    return replace(facts, errors=tuple(sorted((*facts.errors, (ts, code))))[-KEEP_TIMES:])


def with_send(facts: PolicyFacts, send: Send, rules: PolicyRules) -> PolicyFacts:
    kept = tuple(s for s in facts.sends if s.ts_ms > send.ts_ms - rules.horizon_ms and s.action_id != send.action_id)
    return replace(facts, sends=tuple(sorted((*kept, send), key=lambda s: (s.ts_ms, s.action_id))))


def consent_at(facts: PolicyFacts, now_ms: int) -> tuple[str, str] | None:
    """The latest (value, source) recorded at or before ``now``; an opt-out wins a tie."""
    known = [c for c in facts.consent if c[0] <= now_ms]
    if not known:
        return None
    latest = max(known, key=lambda c: (c[0], c[1] == "out"))
    return latest[1], latest[2]


def window_open(facts: PolicyFacts, now_ms: int, rules: PolicyRules) -> bool:
    """Inside 24 h of the latest inbound at or before ``now``, unless Meta said (131047) that the
    window had closed after that inbound."""
    last = _last_inbound(facts, now_ms)
    if last is None or now_ms >= last + rules.window_ms:
        return False
    return not any(last <= ts <= now_ms for ts, code in facts.errors if code == WINDOW_CLOSED)


def window_expires_ms(facts: PolicyFacts, now_ms: int, rules: PolicyRules) -> int | None:
    last = _last_inbound(facts, now_ms)
    return None if last is None else last + rules.window_ms


def _last_inbound(facts: PolicyFacts, now_ms: int) -> int | None:
    return max((t for t in facts.inbound_ms if t <= now_ms), default=None)


def decide(action: Action, facts: PolicyFacts, now_ms: int, rules: PolicyRules, zone: ZoneInfo) -> Decision:
    def out(outcome: Outcome, reason: str, until: int | None = None, detail: str = "") -> Decision:
        return Decision(action, outcome, reason, now_ms, until, detail)

    if not action.customer_facing:
        return out(Outcome.ALLOW, "not_customer_facing", detail=f"{action.kind} for the team")
    consent = consent_at(facts, now_ms)
    if action.marketing and consent is not None and consent[0] == "out":
        return out(Outcome.DENY, "opted_out", detail=f"opted out via {consent[1]}")
    if action.marketing and consent is None:
        return out(Outcome.DENY, "no_opt_in", detail="marketing needs a recorded opt-in")
    if action.free_form and not window_open(facts, now_ms, rules):
        expired = window_expires_ms(facts, now_ms, rules)
        detail = "no customer message yet" if expired is None else f"window ended at {expired}"
        return out(Outcome.DENY, "window_closed", detail=detail + "; only templates outside the window")
    errors = [(ts, code) for ts, code in facts.errors if ts <= now_ms]
    if action.marketing:
        backoff = rules.marketing_limit_backoff_ms
        limited = [ts for ts, code in errors if code == MARKETING_LIMIT and now_ms < ts + backoff]
        if limited:
            return out(Outcome.DENY, "meta_marketing_limit",
                       detail=f"Meta refused marketing (131049) at {max(limited)}; backing off")
    for code, backoff, reason in ((PAIR_RATE_LIMIT, rules.pair_backoff_ms, "pair_rate_limit"),
                                  (THROUGHPUT_LIMIT, rules.throughput_backoff_ms, "throughput_limit")):
        until = max((ts + backoff for ts, c in errors if c == code and now_ms < ts + backoff), default=None)
        if until is not None:
            return out(Outcome.DEFER, reason, until, f"Meta error {code}")
    paused_until = max((t + rules.human_pause_ms for t in facts.human_ms if t <= now_ms < t + rules.human_pause_ms),
                       default=None)
    if paused_until is not None:
        if action.free_form:
            return out(Outcome.DENY, "human_takeover", detail="a human agent is handling the conversation")
        return out(Outcome.DEFER, "human_takeover", paused_until, "automation paused after a human reply")
    denied = _cap(action, [s for s in facts.sends if s.ts_ms <= now_ms], now_ms, rules)
    if denied:
        return out(Outcome.DENY, denied[0], detail=denied[1])
    if action.marketing:
        resume = quiet_until(now_ms, zone, rules)
        if resume is not None:
            return out(Outcome.DEFER, "quiet_hours", resume, f"22:00-08:00 in {zone.key}")
    return out(Outcome.ALLOW, "ok")


def _cap(action: Action, sends: list[Send], now_ms: int, rules: PolicyRules) -> tuple[str, str] | None:
    day = [s for s in sends if s.ts_ms > now_ms - DAY_MS]
    if action.marketing and sum(s.category == "marketing" for s in day) >= rules.marketing_per_day:
        return "marketing_cap", f"{rules.marketing_per_day} marketing message(s) per 24 h"
    if len(day) >= rules.automated_per_day:
        return "automated_cap", f"{rules.automated_per_day} automated messages per 24 h"
    if action.promotion and any(s.promotion and s.ts_ms > now_ms - rules.promotion_every_ms for s in sends):
        return "promotion_cap", f"one promotion per {rules.promotion_every_ms // DAY_MS} days"
    if action.content and sum(s.content == action.content and s.ts_ms > now_ms - 30 * DAY_MS
                              for s in sends) >= rules.content_per_month:
        return "content_cap", f"'{action.content}' at most {rules.content_per_month} times in 30 days"
    if action.event_key and any(s.event_key == action.event_key and s.ts_ms > now_ms - rules.event_spacing_ms
                                for s in sends):
        return "event_spacing", f"same event notified less than {rules.event_spacing_ms // HOUR_MS} h ago"
    return None


def quiet_until(now_ms: int, zone: ZoneInfo, rules: PolicyRules) -> int | None:
    """The end of quiet hours (epoch ms) when ``now`` falls inside them in ``zone``, else None."""
    local = datetime.fromtimestamp(now_ms / 1000, zone)
    start, end = rules.quiet_start, rules.quiet_end
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    resume = datetime.combine(day, end, tzinfo=zone)
    return int(resume.timestamp() * 1000)


def record(facts: PolicyFacts, decision: Decision, rules: PolicyRules) -> PolicyFacts:
    """Facts after a decision: an allowed customer-facing send counts toward the caps."""
    a = decision.action
    if decision.outcome is not Outcome.ALLOW or not a.customer_facing:
        return facts
    return with_send(facts, Send(decision.decided_ms, a.action_id, a.category, a.content, a.event_key, a.promotion),
                     rules)
