"""Conversation state: first response times (bot and human), window, resolution, reopen, counts."""

import itertools
import json
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.contact_state import RECENT, apply_message, dumps, loads
from processors.conversations import HOUR_MS, ConversationRules, apply
from processors.events import Direction, MessageEvent, SenderKind
from processors.local_time import zone_for
from processors.tagging import load_pack

T = 1_795_136_000_000  # 2026-11-20T00:53:20Z = Friday 08:53:20 in Hong Kong
HK = ZoneInfo("Asia/Hong_Kong")
RULES = ConversationRules()
PACK = load_pack({"pack": "t", "version": "1", "rules": [
    {"tag": "price_inquiry", "keywords": ["多少錢"]},
    {"tag": "price_sensitive", "count": {"keywords": ["折扣"], "at_least": 3, "within_days": 30}}]})


def msg(wamid: str, at_ms: int, kind: SenderKind = SenderKind.CUSTOMER, text: str | None = "hi",
        agent_id: str | None = None) -> MessageEvent:
    direction = Direction.INBOUND if kind is SenderKind.CUSTOMER else Direction.OUTBOUND
    return MessageEvent(wamid=wamid, direction=direction, sender_kind=kind, phone_number_id="P",
                        contact_key="P:85251234567", message_type="text", timestamp_ms=at_ms, received_at_ms=at_ms,
                        envelope_sha256="h", agent_id=agent_id, text=text, phone_e164="+85251234567")


def run(messages):
    conv, closed = None, []
    for m in messages:
        moved = apply(conv, m, RULES, HK)
        conv = moved.current
        if moved.closed:
            closed.append(moved.closed)
    return conv, closed


def test_agent_reply_after_4m12s_is_a_252_second_human_frt():
    conv, _ = run([msg("in1", T), msg("out1", T + 252_000, SenderKind.AGENT, agent_id="agent-7")])
    assert conv.human_frt_ms == 252_000 and conv.bot_frt_ms is None
    assert (conv.last_reply_kind, conv.last_agent_id, conv.responses, conv.awaiting_since_ms) == \
        ("agent", "agent-7", 1, None)


def test_bot_first_then_human_records_both_first_response_times():
    conv, _ = run([msg("in1", T), msg("bot1", T + 3_000, SenderKind.BOT),
                   msg("in2", T + 20_000), msg("ag1", T + 95_000, SenderKind.AGENT, agent_id="a1")])
    assert (conv.bot_frt_ms, conv.human_frt_ms) == (3_000, 95_000)
    assert (conv.responses, conv.response_ms_total) == (2, 3_000 + 75_000)
    assert (conv.outbound_bot, conv.outbound_human, conv.inbound) == (1, 1, 2)


def test_a_template_counts_as_automated_and_a_business_app_echo_as_human():
    conv, _ = run([msg("in1", T), msg("tpl", T + 60_000, SenderKind.TEMPLATE),
                   msg("echo", T + 120_000, SenderKind.BUSINESS_APP)])
    assert (conv.bot_frt_ms, conv.human_frt_ms, conv.last_reply_kind) == (60_000, 120_000, "business_app")


def test_window_is_24h_after_the_latest_inbound():
    conv, _ = run([msg("in1", T), msg("in2", T + 3 * HOUR_MS)])
    assert conv.window_expires_ms(RULES) == T + 27 * HOUR_MS


def test_silence_closes_a_conversation_and_a_return_reopens_it():
    conv, closed = run([msg("in1", T), msg("out1", T + 60_000, SenderKind.AGENT),
                        msg("in2", T + 30 * HOUR_MS)])
    (first,) = closed
    assert (first.status, first.closed_ms, first.version) == ("resolved", T + 60_000, 3)
    assert conv.reopened_from == first.conversation_id and conv.conversation_id == f"P:85251234567:{T + 30 * HOUR_MS}"
    assert (conv.inbound, conv.first_inbound_ms, conv.status) == (1, T + 30 * HOUR_MS, "open")


def test_an_unanswered_conversation_closes_as_unanswered_and_is_not_reopened():
    conv, closed = run([msg("in1", T), msg("in2", T + 9 * 24 * HOUR_MS)])
    assert closed[0].status == "unanswered" and conv.reopened_from is None


def test_business_initiated_conversation_measures_frt_from_the_customer_reply():
    conv, _ = run([msg("tpl", T, SenderKind.TEMPLATE), msg("in1", T + 600_000),
                   msg("ag", T + 660_000, SenderKind.AGENT)])
    assert conv.initiated_by == "business" and conv.human_frt_ms == 60_000 and conv.bot_frt_ms is None


def test_inbound_counts_use_the_contacts_local_hour_and_weekday():
    conv, _ = run([msg("in1", T - HOUR_MS), msg("in2", T)])  # Thursday 23:53 and Friday 00:53 UTC
    assert conv.inbound_by_hour[7] == 1 and conv.inbound_by_hour[8] == 1 and sum(conv.inbound_by_hour) == 2
    assert conv.inbound_by_weekday == (0, 0, 0, 0, 2, 0, 0)  # both on Friday morning in Hong Kong


def test_zone_comes_from_the_phone_number():
    assert str(zone_for("+5215512345678")) == "UTC"  # MX mobile with the old 1: unknown to libphonenumber
    assert str(zone_for("+525512345678")) == "America/Mexico_City"
    assert str(zone_for("+886912345678")) == "Asia/Taipei"
    assert str(zone_for(None, "Asia/Tokyo")) == "Asia/Tokyo"


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(4)))
def test_first_response_times_do_not_depend_on_arrival_order(order):
    """An agent-inbox post can overtake the webhook of the message it answers."""
    events = [msg("in1", T), msg("bot", T + 5_000, SenderKind.BOT), msg("in2", T + 6_000),
              msg("ag", T + 252_000, SenderKind.AGENT)]
    conv, _ = run([events[i] for i in order])
    assert (conv.bot_frt_ms, conv.human_frt_ms, conv.first_inbound_ms, conv.inbound) == (5_000, 252_000, T, 2)


def step_all(messages, state=None):
    steps = []
    for m in messages:
        step = apply_message(state, m, pack=PACK, rules=RULES, zone=HK)
        state = step.state
        steps.append(step)
    return state, steps


def test_a_message_seen_again_changes_nothing():
    state, steps = step_all([msg("in1", T, text="多少錢"), msg("in1", T, text="多少錢")])
    assert steps[1].duplicate and steps[1].state == steps[0].state
    assert state.conversation.inbound == 1 and state.messages == 1
    # its outputs are given again, unchanged (a crash may have lost them after the state was saved)
    assert steps[1].conversations == steps[0].conversations and steps[1].tags == steps[0].tags


def test_a_message_seen_again_gets_the_tags_it_got_then_not_what_its_count_window_says_now():
    # the 2nd mention of 折扣 was not price_sensitive (3 needed); once the 3rd is in the window, a
    # redelivered or replayed 2nd must not become price_sensitive now (a new row on replay)
    state, steps = step_all([msg(f"d{i}", T + i * HOUR_MS, text="有折扣嗎") for i in range(3)])
    assert [[t.tag for t in s.tags] for s in steps] == [[], [], ["price_sensitive"]]
    again = apply_message(state, msg("d1", T + HOUR_MS, text="有折扣嗎"), pack=PACK, rules=RULES, zone=HK)
    assert again.duplicate and again.tags == ()
    third = apply_message(state, msg("d2", T + 2 * HOUR_MS, text="有折扣嗎"), pack=PACK, rules=RULES, zone=HK)
    assert [t.tag for t in third.tags] == ["price_sensitive"]
    assert loads(dumps(state)) == state  # the rule ids survive the table round trip


def test_same_text_from_the_same_sender_seconds_apart_is_flagged():
    _, steps = step_all([msg("a1", T, SenderKind.AGENT, "Hi, how can I help?", "ag1"),
                         msg("a2", T + 4_000, SenderKind.AGENT, "Hi, how can I help?", "ag1"),
                         msg("a3", T + 60_000, SenderKind.AGENT, "Hi, how can I help?", "ag1"),
                         msg("b1", T + 61_000, SenderKind.AGENT, "Hi, how can I help?", "ag2")])
    flagged = [[t.reason for t in s.tags if t.tag == "near_duplicate"] for s in steps]
    assert flagged == [[], ["same text from the same sender as a1 4s apart"], [], []]
    assert steps[-1].state.conversation.near_duplicates == 1


def test_count_rule_fires_on_the_third_mention_within_30_days_and_survives_serialization():
    day = 24 * HOUR_MS
    state, steps = step_all([msg("m1", T, text="有折扣嗎"), msg("m2", T + day, text="還有折扣嗎？")])
    state = loads(dumps(state))  # as stored in the table between messages
    state, more = step_all([msg("m3", T + 40 * day, text="折扣呢"), msg("m4", T + 41 * day, text="折扣？"),
                            msg("m5", T + 42 * day, text="折扣!!")], state)
    fired = [[t.tag for t in s.tags] for s in [*steps, *more]]
    # m1, m2 fall out of the window before m3; m3, m4, m5 are three within 30 days
    assert fired == [[], [], [], [], ["price_sensitive"]]
    assert "3 in 30 days" in more[-1].tags[0].reason


def test_outbound_text_is_never_tagged():
    _, steps = step_all([msg("o1", T, SenderKind.AGENT, "這件多少錢？HK$899")])
    assert steps[0].tags == ()


def test_contact_state_round_trips():
    state, _ = step_all([msg("in1", T, text="多少錢 折扣"), msg("o1", T + 1_000, SenderKind.BOT)])
    assert loads(dumps(state)) == state


def test_replaying_the_same_messages_gives_the_same_rows():
    events = [msg(f"m{i}", T + i * 37_000, kind, text=f"t{i % 3}")
              for i, kind in zip(range(12), itertools.cycle([SenderKind.CUSTOMER, SenderKind.BOT, SenderKind.AGENT]),
                                 strict=False)]
    first = [s.conversations for s in step_all(events)[1]]
    again = [s.conversations for s in step_all(events)[1]]
    assert first == again


def test_a_replayed_message_that_left_the_window_changes_nothing():
    # a contact with more messages than RECENT: a replay re-sends the oldest, which the window no
    # longer holds; it must not be applied again (counted, tagged, near-duplicate of a later one)
    history = [msg(f"m{i}", T + i * 60_000, text="有折扣嗎" if i % 10 == 0 else "多少錢")
               for i in range(RECENT + 8)]
    state, _ = step_all(history)
    assert state.horizon_ms == history[7].timestamp_ms and len(state.recent) == RECENT
    for old in history[:8]:
        again = apply_message(state, old, pack=PACK, rules=RULES, zone=HK, replayed=True)
        assert again.duplicate and again.state == state and again.tags == ()
    # not a replay (a message arriving late for the first time): applied
    late = apply_message(state, msg("late", T + 30_000, text="多少錢"), pack=PACK, rules=RULES, zone=HK)
    assert not late.duplicate and late.state.messages == state.messages + 1
    # a replayed message newer than the horizon that the window does not hold was never applied
    new = apply_message(state, msg("new", T + 10 * HOUR_MS, text="多少錢"), pack=PACK, rules=RULES, zone=HK,
                        replayed=True)
    assert not new.duplicate and [t.tag for t in new.tags] == ["price_inquiry"]
    assert loads(dumps(state)) == state


def test_a_state_stored_before_the_horizon_existed_gets_one_from_its_window():
    state, _ = step_all([msg(f"m{i}", T + i * 60_000) for i in range(RECENT + 3)])
    stored = json.loads(dumps(state))
    del stored["horizon_ms"]
    assert loads(json.dumps(stored).encode()).horizon_ms == T + 3 * 60_000 - 1
    fresh, _ = step_all([msg("m0", T)])
    assert loads(dumps(fresh)).horizon_ms == 0
