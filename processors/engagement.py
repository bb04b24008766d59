"""A contact's engagement: churn signals, segment, automations and the policy gate, driven by the
contact's ordered signals and by event-time timers. Pure: time is the signal's timestamp or a
timer's due time, never the clock, so a replay of the same signals gives the same decisions.

``apply_signal(state, signal, ctx)`` first fires the contact's timers due at or before the
signal's time (each at its own due time), then applies the signal. ``advance(state, until, ctx)``
fires timers only (the stream calls it when event time passes a contact's ``next_due_ms``).
Timers: a deferred action's retry, a segment's repeat (weekly follow-up), an SLA check, and the
next moment silence alone can change the score or segment (``churn.next_change_ms``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from processors.automations import Automation, Automations, action_for, language_for
from processors.churn import ChurnRules, Score, Signals, evaluate, next_change_ms
from processors.events import Signal, SignalKind
from processors.local_time import zone_for
from processors.policy import (
    Action,
    Decision,
    Outcome,
    PolicyFacts,
    PolicyRules,
    consent_at,
    decide,
    record,
    with_consent,
    with_error,
    with_human_reply,
    with_inbound,
)
from processors.tagging import Match, RulePack, tag_text

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SEEN = 64  # event ids remembered per contact (redelivery guard)
HUMAN = ("agent", "business_app")
MAX_DEFERS = 5  # an action deferred this often is denied (``deferred_too_often``)
INQUIRY_TAGS = ("price_inquiry", "quote_request", "size")  # product/price inquiries (the high_intent segment)


@dataclass(frozen=True, slots=True)
class Context:
    tags: RulePack
    sentiment: RulePack
    automations: Automations
    policy: PolicyRules = field(default_factory=PolicyRules)
    churn: ChurnRules = field(default_factory=ChurnRules)
    default_timezone: str = "UTC"
    inquiry_tags: tuple[str, ...] = INQUIRY_TAGS
    complaint_tags: tuple[str, ...] = ("complaint",)
    opt_out_tags: tuple[str, ...] = ("opt_out",)
    score_step: float = 0.05  # a score change this large is emitted (and written to the CRM)


@dataclass(frozen=True, slots=True)
class Timer:
    due_ms: int
    kind: str  # retry | repeat | sla
    rule_id: str
    trigger: str
    defers: int = 0
    action: Action | None = None  # retry: the deferred action, decided again at due time


@dataclass(frozen=True, slots=True)
class Engagement:
    contact_key: str
    phone_number_id: str = ""
    wa_id: str | None = None
    phone_e164: str | None = None
    profile_name: str | None = None
    facts: PolicyFacts = field(default_factory=PolicyFacts)
    signals: Signals = field(default_factory=Signals)
    templates: tuple[tuple[str, int, int | None], ...] = ()  # (wamid, sent, read) of our templates
    outbound_ms: tuple[int, ...] = ()  # recent business replies of any kind (SLA)
    recent_tags: tuple[tuple[int, str], ...] = ()  # (ts, tag) within a week
    tags: tuple[str, ...] = ()  # every tag the contact ever got (the CRM's tag property)
    seen: tuple[tuple[str, int], ...] = ()  # (event id, event time ms) of the latest signals (redelivery guard)
    seen_horizon_ms: int = 0  # latest event time of a signal no longer in ``seen`` (0: none dropped)
    segment: str = "new"
    segment_since_ms: int = 0
    score: float = 0.0
    scored_ms: int = 0
    timers: tuple[Timer, ...] = ()
    next_eval_ms: int | None = None
    clock_ms: int = 0  # the latest event time applied

    @property
    def next_due_ms(self) -> int | None:
        dues = [t.due_ms for t in self.timers]
        if self.next_eval_ms is not None:
            dues.append(self.next_eval_ms)
        return min(dues) if dues else None


@dataclass(frozen=True, slots=True)
class ScoreChange:
    contact_key: str
    score: Score
    at_ms: int
    previous_segment: str


@dataclass(frozen=True, slots=True)
class CrmUpdate:
    """A CRM write for the contact: properties (segment, score, tags) or a task for the team."""

    write_id: str
    contact_key: str
    kind: str  # properties | task
    at_ms: int
    properties: tuple[tuple[str, str], ...] = ()
    title: str | None = None
    action_id: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    state: Engagement
    duplicate: bool = False
    decisions: tuple[Decision, ...] = ()
    scores: tuple[ScoreChange, ...] = ()
    crm: tuple[CrmUpdate, ...] = ()
    tags: tuple[Match, ...] = ()
    identity_changed: bool = False  # name or number first seen or changed: tell identity resolution


class _Out:
    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.scores: list[ScoreChange] = []
        self.crm: list[CrmUpdate] = []


def zone(state: Engagement, ctx: Context) -> ZoneInfo:
    return zone_for(state.phone_e164, ctx.default_timezone)


def _add(times: tuple[int, ...], ts: int, keep: int) -> tuple[int, ...]:
    return times if ts in times else tuple(sorted((*times, ts)))[-keep:]


def _prune(times: tuple[int, ...], since: int) -> tuple[int, ...]:
    return tuple(t for t in times if t > since)


def apply_signal(state: Engagement | None, sig: Signal, ctx: Context, *, replayed: bool = False) -> Step:
    """``replayed``: the signal comes from ``scrm replay``, which re-sends signals already applied; one
    at or before ``seen_horizon_ms`` that ``seen`` no longer holds was applied then and changes nothing."""
    state = state or Engagement(sig.contact_key)
    if sig.kind is not SignalKind.TICK and (
            any(event_id == sig.event_id for event_id, _ in state.seen)
            or (replayed and sig.timestamp_ms <= state.seen_horizon_ms)):
        return Step(state, duplicate=True)
    out = _Out()
    state = _fire(state, sig.timestamp_ms, ctx, out)
    if sig.kind is SignalKind.TICK:
        return _step(state, out)
    now = sig.timestamp_ms
    at = max(now, state.clock_ms)  # a late signal's facts keep their time; decisions are made now
    before = (state.wa_id, state.phone_e164, state.profile_name)
    seen = (*state.seen, (sig.event_id, sig.timestamp_ms))
    horizon = max((state.seen_horizon_ms, *(t for _, t in seen[:-SEEN])))
    state = replace(state, seen=seen[-SEEN:], seen_horizon_ms=horizon, clock_ms=at,
                    phone_number_id=sig.phone_number_id or state.phone_number_id,
                    wa_id=sig.wa_id or state.wa_id, phone_e164=sig.phone_e164 or state.phone_e164)
    matches: tuple[Match, ...] = ()
    if sig.kind is SignalKind.MESSAGE and sig.direction == "inbound":
        if sig.profile_name:
            state = replace(state, profile_name=sig.profile_name)
        state, matches = _inbound(state, sig, at, ctx, out)
    elif sig.kind is SignalKind.MESSAGE:
        state = _outbound(state, sig)
    elif sig.kind is SignalKind.STATUS:
        state = _status(state, sig)
    elif sig.kind is SignalKind.PREFERENCE and sig.value:
        value = "out" if sig.value.lower() == "stop" else "in" if sig.value.lower() in ("resume", "signup") else None
        if value:
            state = _consent(state, now, value, "meta_preference")
    state = _rescore(state, at, ctx, out)
    step = _step(state, out, matches)
    return replace(step, identity_changed=before != (state.wa_id, state.phone_e164, state.profile_name))


def advance(state: Engagement, until_ms: int, ctx: Context) -> Step:
    """Fire the contact's timers due at or before ``until_ms`` (silence moving the segment,
    deferred actions, follow-ups, SLA checks)."""
    out = _Out()
    return _step(_fire(state, until_ms, ctx, out), out)


def _step(state: Engagement, out: _Out, tags: tuple[Match, ...] = ()) -> Step:
    return Step(state, decisions=tuple(out.decisions), scores=tuple(out.scores), crm=tuple(out.crm), tags=tags)


def _fire(state: Engagement, until: int, ctx: Context, out: _Out) -> Engagement:
    while (due := state.next_due_ms) is not None and due <= until:
        timers = [t for t in state.timers if t.due_ms == due]
        state = replace(state, timers=tuple(t for t in state.timers if t.due_ms != due),
                        clock_ms=max(state.clock_ms, due))
        for timer in sorted(timers, key=lambda t: (t.kind, t.rule_id, t.trigger)):
            state = _timer(state, timer, ctx, out)
        if state.next_eval_ms is not None and state.next_eval_ms <= due:
            state = _rescore(state, due, ctx, out)
    return state


def _timer(state: Engagement, timer: Timer, ctx: Context, out: _Out) -> Engagement:
    now = timer.due_ms
    if timer.kind == "retry" and timer.action is not None:
        return _decide(state, timer.action, now, ctx, out, defers=timer.defers)
    rule = next((r for r in ctx.automations.rules if r.id == timer.rule_id), None)
    if rule is None:  # the rule was removed from the configuration since the timer was set
        return state
    if timer.kind == "repeat" and state.segment == rule.segment:
        nth = int(timer.trigger.rsplit("#", 1)[1]) + 1
        base = timer.trigger.rsplit("#", 1)[0]
        state = _act(state, rule, f"{base}#{nth}", now, ctx, out)
        return replace(state, timers=(*state.timers, Timer(now + (rule.every_ms or DAY_MS), "repeat", rule.id,
                                                           f"{base}#{nth}")))
    if timer.kind == "sla":
        inbound = int(timer.trigger.rsplit("@", 1)[1])
        answered = any(inbound <= t <= now for t in state.outbound_ms)
        if not answered and _high_value(state, rule, now, ctx.policy.window_ms):
            return _act(state, rule, timer.trigger, now, ctx, out)
    return state


def _high_value(state: Engagement, rule: Automation, now: int, window_ms: int) -> bool:
    """In a high-value segment, or a high-value tag in the conversation (the last 24 h)."""
    if state.segment in rule.high_value_segments:
        return True
    return any(tag in rule.high_value_tags and now - window_ms < t <= now for t, tag in state.recent_tags)


def _inbound(state: Engagement, sig: Signal, at: int, ctx: Context,
             out: _Out) -> tuple[Engagement, tuple[Match, ...]]:
    now = sig.timestamp_ms
    s = state.signals
    month = now - int(ctx.churn.churned_days * DAY_MS)
    interactions = s.interactions
    if not any(now - HOUR_MS < t <= now + HOUR_MS for t in interactions):  # else part of that burst
        interactions = _add(_prune(interactions, month), now, 512)
    matches = tag_text(ctx.tags, sig.text, wamid=sig.wamid or sig.event_id, ts_ms=now).matches if sig.text else ()
    tags = {m.tag for m in matches}
    mood = _sentiment(ctx.sentiment, sig.text)
    week = now - 7 * DAY_MS
    s = replace(s, interactions=interactions,
                last_inbound_ms=max(now, s.last_inbound_ms or now),
                inquiries=_add(_prune(s.inquiries, week - DAY_MS), now, 64) if tags & set(ctx.inquiry_tags)
                else s.inquiries,
                complaints=_add(_prune(s.complaints, month), now, 64) if tags & set(ctx.complaint_tags)
                else s.complaints,
                sentiments=tuple(sorted((*s.sentiments, (now, mood))))[-8:] if mood is not None else s.sentiments)
    state = replace(state, signals=s, facts=with_inbound(state.facts, now),
                    recent_tags=tuple((t, g) for t, g in (*state.recent_tags, *((now, g) for g in sorted(tags)))
                                      if t > week),
                    tags=tuple(sorted(set(state.tags) | tags)))
    if tags & set(ctx.opt_out_tags):
        state = _consent(state, now, "out", "keyword")
    for tag in sorted(tags):
        for rule in ctx.automations.on_tag(tag):
            state = _act(state, rule, sig.event_id, at, ctx, out)
    for rule in ctx.automations.sla:
        state = replace(state, timers=(*state.timers, Timer(now + (rule.unanswered_ms or 0), "sla", rule.id,
                                                            f"{sig.event_id}@{now}")))
    return state, matches


def _sentiment(lexicon: RulePack, text: str | None) -> float | None:
    if not text:
        return None
    found = {m.tag for m in tag_text(lexicon, text).matches}
    if not found:
        return None
    positive, negative = "positive" in found, "negative" in found
    return 0.5 if positive and negative else 1.0 if positive else 0.0


def _outbound(state: Engagement, sig: Signal) -> Engagement:
    now = sig.timestamp_ms
    state = replace(state, outbound_ms=_add(state.outbound_ms, now, 64))
    if sig.sender_kind in HUMAN:
        state = replace(state, facts=with_human_reply(state.facts, now))
    template = sig.sender_kind in ("template", "campaign") or sig.message_type == "template"
    if template and sig.wamid and not any(w == sig.wamid for w, _, _ in state.templates):
        kept = tuple(t for t in state.templates if t[1] > now - 31 * DAY_MS)
        state = _templates(replace(state, templates=(*kept, (sig.wamid, now, None))[-64:]))
    return state


def _status(state: Engagement, sig: Signal) -> Engagement:
    now = sig.timestamp_ms
    if sig.status in ("read", "played") and sig.wamid:
        state = _templates(replace(state, templates=tuple(
            (w, sent, min(read or now, now) if w == sig.wamid else read) for w, sent, read in state.templates)))
    if sig.status == "failed":
        s = state.signals
        state = replace(state, signals=replace(s, failed=_add(_prune(s.failed, now - 31 * DAY_MS), now, 64)))
        if sig.error_code is not None:
            state = replace(state, facts=with_error(state.facts, now, sig.error_code))
    return state


def _templates(state: Engagement) -> Engagement:
    return replace(state, signals=replace(state.signals, templates=tuple((sent, read) for _, sent, read
                                                                          in state.templates)))


def _consent(state: Engagement, ts: int, value: str, source: str) -> Engagement:
    facts = with_consent(state.facts, ts, value, source)
    latest = max(facts.consent, key=lambda c: (c[0], c[1] == "out"))
    return replace(state, facts=facts, signals=replace(state.signals, opted_out=latest[1] == "out"))


def _act(state: Engagement, rule: Automation, trigger: str, now: int, ctx: Context, out: _Out) -> Engagement:
    action = action_for(rule, state.contact_key, trigger, now, language_for(state.phone_e164))
    return _decide(state, action, now, ctx, out)


def _decide(state: Engagement, action: Action, now: int, ctx: Context, out: _Out, *, defers: int = 0) -> Engagement:
    decision = decide(action, state.facts, now, ctx.policy, zone(state, ctx))
    if decision.outcome is Outcome.DEFER and defers >= MAX_DEFERS:
        decision = Decision(action, Outcome.DENY, "deferred_too_often", now,
                            detail=f"deferred {defers} times; last: {decision.reason}")
    out.decisions.append(decision)
    if decision.outcome is Outcome.DEFER and decision.defer_until_ms is not None:
        return replace(state, timers=(*state.timers, Timer(decision.defer_until_ms, "retry", action.rule_id,
                                                           action.trigger, defers + 1, action)))
    if decision.outcome is Outcome.ALLOW and not action.customer_facing:
        out.crm.append(CrmUpdate(f"task:{action.action_id}", state.contact_key, "task", now,
                                 title=action.title, action_id=action.action_id))
    if decision.outcome is Outcome.ALLOW and action.free_form:  # an automated answer answers (SLA)
        state = replace(state, outbound_ms=_add(state.outbound_ms, now, 64))
    return replace(state, facts=record(state.facts, decision, ctx.policy))


def _rescore(state: Engagement, now: int, ctx: Context, out: _Out) -> Engagement:
    score = evaluate(state.signals, now, ctx.churn)
    moved = score.segment != state.segment
    if moved or abs(score.score - state.score) >= ctx.score_step:
        out.scores.append(ScoreChange(state.contact_key, score, now, state.segment))
        props = (("whatsapp_segment", score.segment), ("whatsapp_churn_score", f"{score.score:.2f}"),
                 ("whatsapp_tags", ";".join(state.tags)), *_contact_facts(state, now))
        out.crm.append(CrmUpdate(f"props:{state.contact_key}:{now}", state.contact_key, "properties", now,
                                 properties=props))
        state = replace(state, score=score.score, scored_ms=now)
    if moved:
        previous = state.segment
        state = replace(state, segment=score.segment, segment_since_ms=now,
                        timers=tuple(t for t in state.timers if not (t.kind == "repeat" and t.trigger.startswith(
                            f"{previous}@"))))
        for rule in ctx.automations.on_segment(score.segment):
            trigger = f"{score.segment}@{now}"
            if rule.segment is not None:  # repeats while the contact stays in the segment
                trigger += "#0"
                state = replace(state, timers=(*state.timers, Timer(now + (rule.every_ms or DAY_MS), "repeat",
                                                                    rule.id, trigger)))
            state = _act(state, rule, trigger, now, ctx, out)
    return replace(state, next_eval_ms=next_change_ms(state.signals, now, ctx.churn))


def _contact_facts(state: Engagement, now: int) -> tuple[tuple[str, str], ...]:
    """Last inbound / outbound (epoch ms, HubSpot datetime properties) and marketing opt-in."""
    last_in = max((t for t in state.facts.inbound_ms if t <= now), default=None)
    last_out = max((t for t in state.outbound_ms if t <= now), default=None)
    consent = consent_at(state.facts, now)
    out = [("whatsapp_opt_in", "unknown" if consent is None else ("true" if consent[0] == "in" else "false"))]
    if last_in is not None:
        out.append(("whatsapp_last_inbound", str(last_in)))
    if last_out is not None:
        out.append(("whatsapp_last_outbound", str(last_out)))
    return tuple(out)
