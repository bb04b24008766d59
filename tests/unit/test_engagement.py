"""Churn scoring, segments, automations and the policy gate together, driven by a contact's signals
and event-time timers (processors/engagement.py), on the scripted month of tests/month_script.py."""

import json
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.automations import AutomationError, action_id, language_for, load_automations
from processors.churn import DAY_MS, ChurnRules, Signals, evaluate, next_change_ms
from processors.engagement import SEEN, Context, Engagement, advance, apply_signal
from processors.engagement_codec import dumps, loads
from processors.events import Signal, SignalKind
from streams.automation_records import tick_record
from streams.catalog import load_catalog
from streams.codec import AvroCodec, make_framing
from streams.mapping import from_avro, to_avro
from streams.rules import read_automations, read_lexicon, read_pack
from tests import month_script as month


def context() -> Context:
    config = read_automations(None)
    return Context(tags=read_pack(None), sentiment=read_lexicon(None), automations=config.automations,
                   policy=config.policy, churn=config.churn)


CTX = context()


def local(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, month.HK):%m-%d %H:%M}"


def run(signals, *, roundtrip: bool = False):
    state: Engagement | None = None
    steps = []
    for sig in signals:
        step = advance(state, sig.timestamp_ms, CTX) if sig.kind is SignalKind.TICK else apply_signal(state, sig, CTX)
        steps.append(step)
        state = loads(dumps(step.state)) if roundtrip else step.state
    return state, steps


def test_the_scripted_month_ends_in_the_expected_segments_decisions_and_commands():
    state, steps = run(month.signals())
    moves = [(s.score.segment, (s.at_ms - int(month.DAY0.timestamp() * 1000)) // DAY_MS)
             for step in steps for s in step.scores if s.score.segment != s.previous_segment]
    assert moves == month.SEGMENTS
    decisions = sorted((d for step in steps for d in step.decisions), key=lambda d: (d.decided_ms, d.action.rule_id))
    assert [(d.action.rule_id, d.outcome.value, d.reason, local(d.decided_ms)) for d in decisions] == month.DECISIONS
    sends = [(d.action.rule_id, d.action.kind) for d in decisions if d.outcome.value == "allow"
             and d.action.customer_facing]
    assert sends == month.COMMANDS
    coupon = [d for d in decisions if d.action.rule_id == "high_intent_coupon"]
    assert coupon[0].action.action_id == coupon[1].action.action_id  # the deferred action keeps its id
    assert coupon[1].action.language == "zh_HK" and coupon[1].action.template == "coupon_10"
    assert state.segment == "churned" and state.timers == () and state.next_due_ms is None


def test_replaying_the_month_gives_identical_outputs_also_through_stored_state():
    _, first = run(month.signals())
    _, second = run(month.signals(), roundtrip=True)
    assert [(s.decisions, s.scores, s.crm) for s in first] == [(s.decisions, s.scores, s.crm) for s in second]


def test_a_redelivered_signal_changes_nothing():
    signals = month.signals()
    state, _ = run(signals[:4])
    again = apply_signal(state, signals[3], CTX)
    assert again.duplicate and again.state == state and again.decisions == ()


def test_a_tick_in_the_middle_of_silence_fires_timers_at_their_own_time():
    signals = month.signals()
    quiet = [s for s in signals if s.kind is not SignalKind.TICK]
    state, _ = run(quiet)
    early = advance(state, month.at(40, "00:00") * 1000, CTX)
    late = advance(early.state, month.at(92, "10:00") * 1000, CTX)
    once = advance(state, month.at(92, "10:00") * 1000, CTX)
    assert early.scores + late.scores == once.scores and early.decisions + late.decisions == once.decisions


def test_opt_out_keyword_blocks_marketing_at_once():
    signals = month.signals()[:4]  # signup, two inquiries and an agent reply
    state, _ = run(signals)
    stop = signals[1].__class__(SignalKind.MESSAGE, "wamid.stop", month.CONTACT, month.at(1, "09:00") * 1000,
                                month.PNID, wamid="wamid.stop", wa_id=month.WA_ID, phone_e164="+" + month.WA_ID,
                                direction="inbound", sender_kind="customer", message_type="text", text="STOP")
    state = apply_signal(state, stop, CTX).state
    assert state.signals.opted_out
    third = signals[3].__class__(SignalKind.MESSAGE, "wamid.q3", month.CONTACT, month.at(3, "12:00") * 1000,
                                 month.PNID, wamid="wamid.q3", wa_id=month.WA_ID, phone_e164="+" + month.WA_ID,
                                 direction="inbound", sender_kind="customer", message_type="text", text="幾多錢？")
    step = apply_signal(state, third, CTX)
    coupon = [d for d in step.decisions if d.action.rule_id == "high_intent_coupon"]
    assert [(d.outcome.value, d.reason) for d in coupon] == [("deny", "opted_out")]


signal_times = st.lists(st.integers(0, 120 * DAY_MS), max_size=25)


@settings(max_examples=300, deadline=None)
@given(signal_times, signal_times, signal_times, signal_times,
       st.lists(st.tuples(st.integers(0, 120 * DAY_MS), st.floats(0, 1)), max_size=10),
       st.lists(st.tuples(st.integers(0, 120 * DAY_MS), st.one_of(st.none(), st.integers(0, 120 * DAY_MS))),
                max_size=10),
       st.booleans(), st.integers(0, 130 * DAY_MS))
def test_scores_stay_in_0_1_and_timers_move_forward(interactions, inquiries, complaints, failed, moods, templates,
                                                    opted_out, now):
    s = Signals(interactions=tuple(sorted(interactions)), last_inbound_ms=max(interactions, default=None),
                inquiries=tuple(inquiries), sentiments=tuple(sorted(moods)), complaints=tuple(complaints),
                failed=tuple(failed), templates=tuple(templates), opted_out=opted_out)
    score = evaluate(s, now, ChurnRules())
    assert 0.0 <= score.score <= 1.0
    assert all(0.0 <= f.value <= 1.0 for f in score.factors)
    assert abs(sum(f.contribution for f in score.factors) - score.score) < 1e-5
    nxt = next_change_ms(s, now, ChurnRules())
    assert nxt is None or nxt > now


def test_churn_weights_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        ChurnRules(weights=(("recency", 0.5),))


def test_action_ids_are_deterministic_and_distinct():
    assert action_id("r", "c", "t") == action_id("r", "c", "t") != action_id("r", "c", "t2")


@pytest.mark.parametrize(("phone", "language"), [("+85291234567", "zh_HK"), ("+886912345678", "zh_TW"),
                                                 ("+8613812345678", "zh_CN"), ("+819012345678", "ja"),
                                                 ("+5215512345678", "es"), ("+5511987654321", "pt_BR"),
                                                 ("+14155550123", "en"), (None, "en")])
def test_language_follows_the_phone_number(phone, language):
    assert language_for(phone) == language


@pytest.mark.parametrize(("doc", "message"), [
    ({"version": "1"}, "non-empty 'automations'"),
    ({"version": "1", "automations": [{"id": "a", "when": {"tag": "x"}, "do": {"kind": "email"}}]}, "do.kind"),
    ({"version": "1", "automations": [{"id": "a", "when": {}, "do": {"kind": "task"}}]}, "exactly one of"),
    ({"version": "1", "automations": [{"id": "a", "when": {"segment": "potential"}, "do": {"kind": "task"}}]},
     "every_days"),
    ({"version": "1", "automations": [{"id": "a", "when": {"tag": "x"}, "do": {"kind": "template"}}]},
     "do.template"),
    ({"version": "1", "automations": [{"id": "a", "when": {"tag": "x"}, "do": {"kind": "text", "text": {"fr": "x"}}}]},
     "do.text"),
    ({"version": "1", "automations": [{"id": "a", "when": {"tag": "x"}, "do": {
        "kind": "template", "template": "t", "components": [{"parameters": []}]}}]}, "each with a type"),
    ({"version": "1", "automations": [{"id": "a", "when": {"tag": "x"}, "do": {
        "kind": "text", "text": "hi", "components": []}}]}, "belongs to a template"),
    ({"version": "1", "automations": [{"id": "a", "when": {"tag": "x"}, "do": {
        "kind": "interactive", "interactive": {"type": "carousel", "action": {}}}}]}, "do.interactive with a type"),
])
def test_bad_automation_files_say_what_is_wrong(doc, message):
    with pytest.raises(AutomationError, match=message):
        load_automations(doc)


def test_template_components_and_interactive_objects_reach_the_send_request():
    from processors.automations import action_for
    from processors.wa_send import SendCommand, request_body

    buttons = {"type": "button", "body": {"text": "需要尺碼建議嗎？"},
               "action": {"buttons": [{"type": "reply", "reply": {"id": "size_chart", "title": "尺碼表"}}]}}
    rules = load_automations({"version": "1", "automations": [
        {"id": "size_help", "when": {"tag": "size"}, "do": {"kind": "interactive", "interactive": buttons}}]})
    coupon = next(r for r in read_automations(None).automations.rules if r.id == "high_intent_coupon")
    for rule, language in ((coupon, "zh_HK"), (rules.rules[0], None)):
        action = action_for(rule, "PN:85291230000", "t1", 0, language or "en")
        assert action.customer_facing and action.free_form == (rule.kind == "interactive")
        body = request_body(SendCommand(
            action_id=action.action_id, contact_key=action.contact_key, phone_number_id="PN", to="85291230000",
            kind=action.kind, category=action.category, rule_id=action.rule_id, created_at_ms=0,
            template=action.template, language=action.language, text=action.text, payload_json=action.payload_json))
        if rule.kind == "template":
            assert body["template"]["components"][0]["parameters"] == [{"type": "coupon_code",
                                                                         "coupon_code": "WELCOME10"}]
        else:
            assert body["type"] == "interactive" and body["interactive"] == buttons


def test_signals_round_trip_through_avro():
    codec = AvroCodec(make_framing(load_catalog(), None), "Signal", subject="signals-value")
    for sig in month.signals()[:-1]:
        assert from_avro(Signal, codec.loads(codec.dumps(to_avro(sig)))) == sig
    tick = from_avro(Signal, codec.loads(codec.dumps(tick_record(123))))
    assert (tick.kind, tick.timestamp_ms, tick.contact_key) == (SignalKind.TICK, 123, "")


def test_a_replayed_signal_that_left_the_seen_window_changes_nothing():
    inbound = next(s for s in month.signals() if s.kind is SignalKind.MESSAGE and s.direction == "inbound")
    signals = [replace(inbound, event_id=f"wamid.long.{i}", timestamp_ms=inbound.timestamp_ms + i * 3_600_000)
               for i in range(SEEN + 20)]  # more signals than a contact's window holds
    state, steps = run(signals)
    assert any(step.scores or step.decisions for step in steps)
    dropped = signals[:len(signals) - SEEN]
    assert state.seen_horizon_ms == max(s.timestamp_ms for s in dropped)
    for sig in dropped:
        again = apply_signal(state, sig, CTX, replayed=True)
        assert again.duplicate and again.state == state and again.decisions == () and again.crm == ()
    assert not apply_signal(state, dropped[0], CTX).duplicate  # without the replay mark: a late signal, applied
    assert loads(dumps(state)) == state


def test_an_engagement_stored_before_signals_had_times_loads():
    state, _ = run(month.signals()[:5])
    stored = json.loads(dumps(state))
    stored["seen"] = [event_id for event_id, _ in stored["seen"]]
    del stored["seen_horizon_ms"]
    old = loads(json.dumps(stored).encode())
    assert old.seen == tuple((event_id, 0) for event_id, _ in state.seen) and old.seen_horizon_ms == 0
    assert apply_signal(old, month.signals()[1], CTX).duplicate
