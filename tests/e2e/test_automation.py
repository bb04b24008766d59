"""Automation against the real broker and embedded ClickHouse: the scripted month of one contact
(tests/month_script.py) through webhooks, a worker, and an event-time tick, ends in the expected
segments, policy decisions and commands; a second worker with its derived state reset (fresh
tables, consumer group and ClickHouse) replays the topics and produces exactly the same records."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.catalog import load_catalog
from streams.codec import AvroCodec, make_framing
from tests import month_script as month
from tests.e2e.conftest import make_pipeline
from tests.e2e.traffic import inbound, preference, reply, status, write

# event time, not the wall clock, moves timers: no leader ticks, and the script's tick is allowed
# to be ahead of the machine's clock
PIPELINE_ENV = {"SCRM_CLOCK_TICK_SECONDS": "0", "SCRM_MAX_CLOCK_SKEW_SECONDS": str(5 * 365 * 86400)}
RECORDS = {"decisions": "AutomationDecision", "outbound": "OutboundCommand", "crm.writes": "CrmCommand",
           "scores": "ChurnScore"}


def script_lines() -> list[dict]:
    lines = []
    for kind, ts, f in month.SCRIPT:
        if kind == "inbound":
            lines.append(inbound(month.WA_ID, f["id"], ts, f["text"], name="陳小姐"))
        elif kind == "agent":
            lines.append(reply(month.WA_ID, f["id"], ts, f["text"]))
        elif kind == "status":
            lines.append(status(month.WA_ID, f["id"], ts, f["status"], f.get("error")))
        else:
            lines.append(preference(month.WA_ID, ts, f["value"]))
    return lines


def read_topics(bootstrap: str, prefix: str) -> dict[str, list[dict]]:
    catalog = load_catalog()
    framing = make_framing(catalog, None)
    partitions = {t.name: t.partitions for t in catalog.topics}

    async def read(suffix: str, record: str) -> list[dict]:
        name = prefix + suffix
        codec = AvroCodec(framing, record, subject=f"{name}-value")
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            parts = [TopicPartition(name, p) for p in range(partitions[suffix])]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            end = await consumer.end_offsets(parts)
            out: list[dict] = []
            while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
                for batch in (await consumer.getmany(timeout_ms=1000)).values():
                    out += [codec.loads(m.value) for m in batch]
            return out
        finally:
            await consumer.stop()

    async def all_topics() -> dict[str, list[dict]]:
        return {suffix: await read(suffix, record) for suffix, record in RECORDS.items()}

    return asyncio.run(all_topics())


def local(value) -> str:
    ms = value if isinstance(value, int) else int(value.timestamp() * 1000)
    return f"{datetime.fromtimestamp(ms / 1000, month.HK):%m-%d %H:%M}"


def test_scripted_month_ends_in_expected_segments_decisions_and_commands_and_replays_identically(
        pipeline, kafka_bootstrap, tmp_path):
    pipeline.scrm("ingest", str(write(tmp_path / "month.jsonl", script_lines())))
    pipeline.scrm("wait", "--timeout", "120")
    pipeline.scrm("clock", "tick", "--at", str(month.at(month.TICK_DAY, "10:00") * 1000))
    pipeline.scrm("wait", "--timeout", "120")

    decisions = pipeline.sql("SELECT rule_id, outcome, reason, toUnixTimestamp64Milli(decided_at) AS at, "
                             "template, language, action_id FROM scrm.automation_decisions FINAL "
                             "ORDER BY decided_at, rule_id")
    assert [(d["rule_id"], d["outcome"], d["reason"], local(d["at"])) for d in decisions] == month.DECISIONS
    moves = pipeline.sql("SELECT segment, toUnixTimestamp64Milli(scored_at) AS at FROM scrm.churn_scores FINAL "
                         "WHERE segment != previous_segment ORDER BY scored_at")
    day0 = int(month.DAY0.timestamp() * 1000)
    assert [(m["segment"], (m["at"] - day0) // 86_400_000) for m in moves] == month.SEGMENTS

    prefix = pipeline.env["SCRM_TOPIC_PREFIX"]
    first = read_topics(kafka_bootstrap, prefix)
    assert [(c["rule_id"], c["kind"]) for c in first["outbound"]] == month.COMMANDS
    coupon = next(c for c in first["outbound"] if c["rule_id"] == "high_intent_coupon")
    assert (coupon["template"], coupon["language"], coupon["to"]) == ("coupon_10", "zh_HK", month.WA_ID)
    assert local(coupon["created_at_ms"]) == "10-06 08:00"  # deferred out of quiet hours
    tasks = [w["title"] for w in first["crm.writes"] if w["kind"] == "task"]
    assert len(tasks) == 3 and sum("SLA" in t for t in tasks) == 1
    assert first["crm.writes"][-1]["properties_json"] is not None  # segment/score/tags for the CRM
    stats = pipeline.stats()["automation"]
    assert stats["decision.defer.quiet_hours"] == 1 and stats["segment.churned"] == 1

    # reset derived state: a new worker with fresh tables, consumer group and ClickHouse replays
    # the same topics from the beginning
    pipeline.stop_worker()
    again = make_pipeline(kafka_bootstrap, tmp_path / "replay", prefix.rstrip("."), pipeline.env["SCRM_APP_ID"] + "-2",
                          **PIPELINE_ENV)
    again.start_worker()
    try:
        again.scrm("wait", "--timeout", "180")
        second = read_topics(kafka_bootstrap, prefix)
        for suffix in RECORDS:
            counts = Counter(repr(sorted(r.items())) for r in second[suffix])
            assert set(counts.values()) == {2}, suffix  # every record twice: once per run, identical
            assert len(second[suffix]) == 2 * len(first[suffix]), suffix
        replayed = again.sql("SELECT rule_id, outcome, reason, action_id FROM scrm.automation_decisions FINAL "
                             "ORDER BY decided_at, rule_id")
        assert replayed == [{k: d[k] for k in ("rule_id", "outcome", "reason", "action_id")} for d in decisions]
    finally:
        again.stop_worker()
        pipeline.start_worker()  # the module fixture stops it
