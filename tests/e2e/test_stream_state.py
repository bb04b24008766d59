"""Stream state against the real broker and embedded ClickHouse: receipts only move forward,
first response times (bot and human separately), tags, and duplicates counted once."""

from tests.e2e.traffic import T0, contact_key, inbound, reply, status, write

A, B = "85260000001", "85260000002"


def _final(pipeline, query: str) -> list[dict]:
    return pipeline.sql(query)


def test_stream_state_lands_in_clickhouse(pipeline, tmp_path):
    lines = [
        inbound(A, "wamid.state.a1", T0, "你好，這件外套多少錢？有折扣嗎？"),
        inbound(A, "wamid.state.a1", T0, "你好，這件外套多少錢？有折扣嗎？"),  # Meta's retry of the same webhook
        reply(A, "inbox.state.a2", T0 + 252, "您好！這件是 HK$899，會員九折。"),
        inbound(B, "wamid.state.b1", T0, "I'd like to return these shoes"),
        reply(B, "inbox.state.b2", T0 + 5, "Thanks! An agent will be with you shortly.", kind="bot", agent_id=""),
        reply(B, "inbox.state.b3", T0 + 90, "Hi, I'm Mei. Could you send your order number?"),
        # receipts for the agent's reply, arriving read first
        status(A, "inbox.state.a2", T0 + 300, "read"),
        status(A, "inbox.state.a2", T0 + 253, "sent"),
        status(A, "inbox.state.a2", T0 + 254, "delivered"),
        status(B, "wamid.state.template", T0 + 10, "sent"),
        status(B, "wamid.state.template", T0 + 11, "failed", (131047, "Re-engagement message")),
    ]
    pipeline.scrm("ingest", str(write(tmp_path / "state.jsonl", lines)))
    pipeline.scrm("wait", "--timeout", "120")

    messages = pipeline.sql("SELECT count() AS n, uniqExact(wamid) AS ids FROM scrm.messages")
    assert messages == [{"n": 5, "ids": 5}]  # physical rows: the retried webhook added nothing

    convs = {r["contact_key"]: r for r in pipeline.sql(
        "SELECT contact_key, status, inbound, human_frt_s, bot_frt_s, last_reply_kind, last_agent_id, responses, "
        "toUnixTimestamp(window_expires) AS window_expires FROM scrm.conversations FINAL")}
    a, b = convs[contact_key(A)], convs[contact_key(B)]
    assert (a["inbound"], a["human_frt_s"], a["bot_frt_s"]) == (1, 252, None)
    assert a["last_reply_kind"] == "agent" and a["last_agent_id"] == "agent-7" and a["responses"] == 1
    assert a["window_expires"] == T0 + 86400 and a["status"] == "open"
    assert (b["bot_frt_s"], b["human_frt_s"]) == (5, 90)

    states = {r["wamid"]: r for r in pipeline.sql(
        "SELECT wamid, state, toUnixTimestamp(sent) AS sent, toUnixTimestamp(delivered) AS delivered, "
        "toUnixTimestamp(read) AS read, error_code, error_title, regressions_prevented FROM scrm.message_state FINAL")}
    assert states["inbox.state.a2"] == {"wamid": "inbox.state.a2", "state": "read", "sent": T0 + 253,
                                        "delivered": T0 + 254, "read": T0 + 300, "error_code": None,
                                        "error_title": None, "regressions_prevented": 2}
    failed = states["wamid.state.template"]
    assert (failed["state"], failed["error_code"], failed["error_title"]) == ("failed", 131047,
                                                                              "Re-engagement message")
    assert pipeline.sql("SELECT count() AS n FROM scrm.statuses") == [{"n": 5}]

    tags = pipeline.sql("SELECT contact_key, tag, department, rule_version FROM scrm.tags FINAL ORDER BY tag")
    assert [(t["contact_key"], t["tag"], t["department"]) for t in tags] == [
        (contact_key(A), "price_inquiry", "sales"), (contact_key(B), "returns", "returns")]
    assert {t["rule_version"] for t in tags} == {"2026.11.1"}

    stats = pipeline.stats()
    assert stats["normalize"]["messages_deduplicated"] == 1
    conv_stats = stats["state.conversations"]
    assert conv_stats["in"] == conv_stats["processed"] == 5  # the retry never reached the state agent
    assert stats["state.receipts"]["regressions_prevented"] == 2


def test_a_near_duplicate_is_flagged_not_dropped(pipeline, tmp_path):
    c = "85260000003"
    lines = [inbound(c, "wamid.near.1", T0 + 1000, "Where is my order? Order number 884213"),
             inbound(c, "wamid.near.2", T0 + 1003, "Where is my order? Order number 884213")]
    pipeline.scrm("ingest", str(write(tmp_path / "near.jsonl", lines)))
    pipeline.scrm("wait", "--timeout", "120")
    rows = pipeline.sql(f"SELECT wamid, tag FROM scrm.tags FINAL WHERE contact_key = '{contact_key(c)}' "
                        "ORDER BY wamid, tag")
    assert [(r["wamid"], r["tag"]) for r in rows] == [
        ("wamid.near.1", "order_status"), ("wamid.near.2", "near_duplicate"), ("wamid.near.2", "order_status")]
    (conv,) = pipeline.sql(f"SELECT inbound, near_duplicates FROM scrm.conversations FINAL "
                           f"WHERE contact_key = '{contact_key(c)}'")
    assert conv == {"inbound": 2, "near_duplicates": 1}
