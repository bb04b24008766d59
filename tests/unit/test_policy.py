"""The WhatsApp policy gate (DESIGN §5): one test per rule, and a property: whatever order the
contact's facts arrive in, a free-form text is never allowed outside the 24-hour window."""

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.policy import (
    DAY_MS,
    HOUR_MS,
    Action,
    Outcome,
    PolicyFacts,
    PolicyRules,
    decide,
    quiet_until,
    record,
    window_open,
    with_consent,
    with_error,
    with_human_reply,
    with_inbound,
)

HK = ZoneInfo("Asia/Hong_Kong")
RULES = PolicyRules()


def hk(text: str) -> int:
    """Epoch ms of a Hong Kong local time, e.g. '2026-11-02 10:00'."""
    return int(datetime.fromisoformat(text).replace(tzinfo=HK).timestamp() * 1000)


NOON = hk("2026-11-02 12:00")


def action(kind="template", category="utility", n=1, **kw) -> Action:
    return Action(action_id=f"a{n}", rule_id=kw.pop("rule_id", "r"), contact_key="pn:85291234567", kind=kind,
                  trigger=f"t{n}", created_ms=0, category=category, content=kw.pop("content", f"c{n}"), **kw)


def opted_in(ts=NOON - 30 * DAY_MS) -> PolicyFacts:
    return with_consent(PolicyFacts(), ts, "in", "meta_preference")


def run(facts, a, now=NOON):
    return decide(a, facts, now, RULES, HK)


def test_free_form_text_inside_the_window_is_allowed():
    facts = with_inbound(PolicyFacts(), NOON - 23 * HOUR_MS)
    assert run(facts, action("text", "service")).outcome is Outcome.ALLOW


def test_window_closed_denies_free_form_with_reason_and_no_command():
    facts = with_inbound(PolicyFacts(), NOON - 24 * HOUR_MS)
    d = run(facts, action("text", "service"))
    assert (d.outcome, d.reason) == (Outcome.DENY, "window_closed")
    assert record(facts, d, RULES) == facts  # nothing counted as sent
    assert run(facts, action("template", "utility")).outcome is Outcome.ALLOW  # templates are fine


def test_meta_131047_closes_the_window_early():
    facts = with_error(with_inbound(PolicyFacts(), NOON - 2 * HOUR_MS), NOON - HOUR_MS, 131047)
    assert run(facts, action("text", "service")).reason == "window_closed"
    reopened = with_inbound(facts, NOON - 30 * 60_000)
    assert run(reopened, action("text", "service")).outcome is Outcome.ALLOW


def test_marketing_needs_a_recorded_opt_in():
    d = run(PolicyFacts(), action("template", "marketing"))
    assert (d.outcome, d.reason) == (Outcome.DENY, "no_opt_in")


def test_opt_out_is_honoured_at_once_and_resume_restores():
    facts = with_consent(opted_in(), NOON - 1, "out", "keyword")
    d = run(facts, action("template", "marketing"))
    assert (d.outcome, d.reason) == (Outcome.DENY, "opted_out")
    assert "keyword" in d.detail
    assert run(with_consent(facts, NOON - 1, "in", "meta_preference"), action("template", "marketing")).reason \
        == "opted_out"  # same instant: the opt-out wins
    assert run(with_consent(facts, NOON, "in", "meta_preference"), action("template", "marketing")).outcome \
        is Outcome.ALLOW
    assert run(facts, action("template", "utility")).outcome is Outcome.ALLOW  # non-marketing still goes


def test_an_opt_out_timed_after_now_does_not_count_yet():
    facts = with_consent(opted_in(), NOON + HOUR_MS, "out", "keyword")
    assert run(facts, action("template", "marketing")).outcome is Outcome.ALLOW


def test_second_marketing_message_within_24h_is_denied():
    facts = opted_in()
    first = run(facts, action("template", "marketing", 1))
    assert first.outcome is Outcome.ALLOW
    facts = record(facts, first, RULES)
    second = run(facts, action("template", "marketing", 2), NOON + 23 * HOUR_MS)
    assert (second.outcome, second.reason) == (Outcome.DENY, "marketing_cap")
    assert run(facts, action("template", "marketing", 3), NOON + 24 * HOUR_MS).outcome is Outcome.ALLOW


def test_fourth_automated_message_in_24h_is_denied():
    facts = with_inbound(PolicyFacts(), NOON)
    for n in range(3):
        d = run(facts, action("text", "service", n), NOON + n * HOUR_MS)
        assert d.outcome is Outcome.ALLOW
        facts = record(facts, d, RULES)
    d = run(facts, action("text", "service", 9), NOON + 3 * HOUR_MS)
    assert (d.outcome, d.reason) == (Outcome.DENY, "automated_cap")


def test_team_tasks_bypass_the_gate_and_do_not_count():
    facts = with_inbound(PolicyFacts(), NOON)
    d = run(facts, action("task"))
    assert (d.outcome, d.reason) == (Outcome.ALLOW, "not_customer_facing")
    assert record(facts, d, RULES) == facts


def test_promotions_at_most_weekly():
    facts = opted_in()
    d = run(facts, action("template", "marketing", 1, promotion=True))
    facts = record(facts, d, RULES)
    later = run(facts, action("template", "marketing", 2, promotion=True), NOON + 3 * DAY_MS)
    assert later.reason == "promotion_cap"
    assert run(facts, action("template", "marketing", 3, promotion=True), NOON + 7 * DAY_MS).outcome is Outcome.ALLOW


def test_same_content_at_most_five_times_a_month():
    facts = PolicyFacts()
    for n in range(5):
        d = run(facts, action("template", "utility", n, content="order_update"), NOON + n * 2 * DAY_MS)
        assert d.outcome is Outcome.ALLOW
        facts = record(facts, d, RULES)
    d = run(facts, action("template", "utility", 7, content="order_update"), NOON + 12 * DAY_MS)
    assert d.reason == "content_cap"


def test_same_event_notification_at_least_6h_apart():
    facts = PolicyFacts()
    d = run(facts, action("template", n=1, event_key="order:42"))
    facts = record(facts, d, RULES)
    assert run(facts, action("template", n=2, event_key="order:42"), NOON + 5 * HOUR_MS).reason == "event_spacing"
    assert run(facts, action("template", n=3, event_key="order:42"), NOON + 6 * HOUR_MS).outcome is Outcome.ALLOW
    assert run(facts, action("template", n=4, event_key="order:43"), NOON + HOUR_MS).outcome is Outcome.ALLOW


def test_quiet_hours_defer_marketing_to_eight_local_time():
    facts = opted_in()
    d = run(facts, action("template", "marketing"), hk("2026-11-02 23:30"))
    assert (d.outcome, d.reason, d.defer_until_ms) == (Outcome.DEFER, "quiet_hours", hk("2026-11-03 08:00"))
    early = run(facts, action("template", "marketing"), hk("2026-11-03 06:59"))
    assert early.defer_until_ms == hk("2026-11-03 08:00")
    assert run(facts, action("template", "marketing"), hk("2026-11-03 08:00")).outcome is Outcome.ALLOW
    assert run(facts, action("template", "utility"), hk("2026-11-02 23:30")).outcome is Outcome.ALLOW


def test_quiet_hours_follow_the_contacts_zone():
    mexico = ZoneInfo("America/Mexico_City")
    at = int(datetime(2026, 11, 2, 23, 0, tzinfo=mexico).timestamp() * 1000)
    assert quiet_until(at, mexico, RULES) == int(datetime(2026, 11, 3, 8, 0, tzinfo=mexico).timestamp() * 1000)
    assert quiet_until(at, HK, RULES) is None  # 13:00 in Hong Kong


def test_human_reply_pauses_automation_for_12h():
    facts = with_human_reply(with_inbound(opted_in(), NOON - HOUR_MS), NOON - 30 * 60_000)
    text = run(facts, action("text", "service"))
    assert (text.outcome, text.reason) == (Outcome.DENY, "human_takeover")
    template = run(facts, action("template", "utility"))
    assert (template.outcome, template.reason) == (Outcome.DEFER, "human_takeover")
    assert template.defer_until_ms == NOON - 30 * 60_000 + 12 * HOUR_MS
    assert run(facts, action("template", "utility"), template.defer_until_ms).outcome is Outcome.ALLOW


def test_meta_marketing_limit_backs_off_marketing_only():
    facts = with_error(opted_in(), NOON - HOUR_MS, 131049)
    assert run(facts, action("template", "marketing")).reason == "meta_marketing_limit"
    assert run(facts, action("template", "utility")).outcome is Outcome.ALLOW
    assert run(facts, action("template", "marketing"), NOON + 3 * DAY_MS).outcome is Outcome.ALLOW


def test_pair_rate_and_throughput_limits_defer():
    facts = with_error(PolicyFacts(), NOON - 10_000, 131056)
    d = run(facts, action("template"))
    assert (d.outcome, d.reason, d.defer_until_ms) == (Outcome.DEFER, "pair_rate_limit", NOON + 50_000)
    t = run(with_error(PolicyFacts(), NOON - 1_000, 130429), action("template"))
    assert (t.outcome, t.reason, t.defer_until_ms) == (Outcome.DEFER, "throughput_limit", NOON + 4_000)
    assert with_error(PolicyFacts(), NOON, 131026) == PolicyFacts()  # other codes do not steer the gate


facts_events = st.lists(st.one_of(
    st.tuples(st.just("inbound"), st.integers(0, 10 * DAY_MS)),
    st.tuples(st.just("human"), st.integers(0, 10 * DAY_MS)),
    st.tuples(st.just("error"), st.integers(0, 10 * DAY_MS), st.sampled_from([131047, 131049, 131056, 130429])),
    st.tuples(st.just("consent"), st.integers(0, 10 * DAY_MS), st.sampled_from(["in", "out"]))), max_size=30)


def build(events) -> PolicyFacts:
    facts = PolicyFacts()
    for e in events:
        if e[0] == "inbound":
            facts = with_inbound(facts, e[1])
        elif e[0] == "human":
            facts = with_human_reply(facts, e[1])
        elif e[0] == "error":
            facts = with_error(facts, e[1], e[2])
        else:
            facts = with_consent(facts, e[1], e[2], "test")
    return facts


@settings(max_examples=300, deadline=None)
@given(facts_events, st.randoms(use_true_random=False), st.integers(0, 11 * DAY_MS))
def test_free_form_is_never_allowed_outside_the_window_whatever_the_order(events, rnd, now):
    shuffled = list(events)
    rnd.shuffle(shuffled)
    a, b = build(events), build(shuffled)
    assert a == b  # the facts do not depend on arrival order
    d = decide(action("text", "service"), b, now, RULES, HK)
    inbound = [e[1] for e in events if e[0] == "inbound" and e[1] <= now]
    if d.outcome is Outcome.ALLOW:
        assert inbound and now - max(inbound) < 24 * HOUR_MS
        assert window_open(b, now, RULES)
