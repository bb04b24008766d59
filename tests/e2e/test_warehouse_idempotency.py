"""Exactly one logical row per natural id in every ClickHouse table, however often events arrive:
10,000+ mixed events (WhatsApp messages in five languages, agent replies, receipts, failures,
preferences, CRM contacts and orders, poison) are ingested, ingested again, and then the raw topics
are replayed from the start by resetting the worker's offsets. After each round every table is
checked with one query (rows under FINAL = distinct natural ids), against counts computed from the
generated input where the input decides them, and every rollup figure must be unchanged."""

from __future__ import annotations

import pytest

from tests.e2e.traffic import PNID, T0, mixed, write

# three passes over 10,620 events (ingest, ingest again, raw replay): 271 s alone on a 2-core machine,
# over the suite's 300 s hang guard under a loaded CI run. The inner `scrm wait` timeouts bound each pass.
pytestmark = pytest.mark.timeout(1200)

# timers move by event time only: no leader ticks (a wall-clock tick lands before or after the first
# snapshot depending on the machine's speed); the test's own tick, 30 days after the traffic, fires
# every contact's churn and automation timers once, and may be ahead of the machine's clock
PIPELINE_ENV = {"SCRM_SINK_BATCH_SECONDS": "0.5", "SCRM_CLOCK_TICK_SECONDS": "0",
                "SCRM_MAX_CLOCK_SKEW_SECONDS": str(5 * 365 * 86400)}
TICK_MS = (T0 + 30 * 86400) * 1000
CONTACTS, EXCHANGES = 200, 14
POISON = 40

# table -> its natural id (dead letters: one per failed record, see docs/analytics.md)
NATURAL_IDS = {
    "raw_webhooks": "request_id",
    "messages": "wamid",
    "statuses": "(wamid, status_raw)",
    "message_state": "wamid",
    "conversations": "conversation_id",
    "tags": "(contact_key, wamid, rule_id)",
    "automation_decisions": "decision_id",
    "churn_scores": "(contact_key, scored_at)",
    "contacts": "contact_id",
    "contact_merges": "merge_id",
    "contact_conflicts": "(contact_id, field)",
    "outbound_sends": "action_id",
    "crm_writes": "write_id",
    "dead_letters_by_source": "(topic, partition, offset, stage)",
}
ROLLUPS = {
    "messages_daily": "SELECT day, direction, sender_kind, sum(messages) AS n, sum(contacts) AS c "
                      "FROM scrm.messages_daily GROUP BY day, direction, sender_kind ORDER BY ALL",
    "receipts_daily": "SELECT * FROM scrm.receipts_daily ORDER BY day",
    "conversations": "SELECT * FROM scrm.conversations_rates_daily ORDER BY day, initiated_by",
    "frt_daily": "SELECT * FROM scrm.frt_daily ORDER BY day, responder, agent_id",
}


def traffic() -> tuple[list[dict], dict[str, int]]:
    lines, oracle = mixed(CONTACTS, EXCHANGES)
    lines = _interleave(lines, [_poison(i) for i in range(POISON)])
    return lines, {**oracle, "raw_webhooks": len(lines), "dead_letters_by_source": POISON}


def _poison(i: int) -> dict:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PNID}}
    bodies = [{"object": "instagram", "entry": [], "n": i},  # not a WhatsApp payload
              {"object": "whatsapp_business_account", "entry": f"broken-{i}"},  # bad shape
              {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                  **value, "messages": [{"from": "85290000000", "timestamp": str(T0 + i), "type": "text",
                                         "text": {"body": f"no id {i}"}}]}}]}]}]  # a message without an id
    return {"source": "whatsapp", "body": bodies[i % len(bodies)]}


def _interleave(lines: list[dict], poison: list[dict]) -> list[dict]:
    step = len(lines) // len(poison)
    out: list[dict] = []
    for i, bad in enumerate(poison):
        out += [*lines[i * step:(i + 1) * step], bad]
    return out + lines[len(poison) * step:]


def snapshot(pipeline) -> dict:
    tables = {}
    for table, natural_id in NATURAL_IDS.items():
        final = "" if table == "dead_letters_by_source" else " FINAL"
        (row,) = pipeline.sql(f"SELECT count() AS rows, uniqExact({natural_id}) AS ids FROM scrm.{table}{final}")
        tables[table] = row
    return {"tables": tables, "rollups": {name: pipeline.sql(sql) for name, sql in ROLLUPS.items()}}


def test_ten_thousand_events_twice_and_a_raw_replay_leave_one_row_per_natural_id(pipeline, tmp_path):
    lines, oracle = traffic()
    assert len(lines) >= 10_000
    path = write(tmp_path / "traffic.jsonl", lines)

    pipeline.scrm("ingest", str(path), timeout=300)
    pipeline.scrm("wait", "--timeout", "600", timeout=660)
    pipeline.scrm("clock", "tick", "--at", str(TICK_MS))
    pipeline.scrm("wait", "--timeout", "600", timeout=660)
    first = snapshot(pipeline)
    for table, got in first["tables"].items():
        assert got["rows"] == got["ids"], f"{table}: {got['rows']} rows for {got['ids']} natural ids"
        assert got["ids"] == oracle.get(table, got["ids"]), f"{table}: {got['ids']} ids, expected {oracle[table]}"
        assert got["ids"] > 0, f"{table} is empty: the traffic should reach every table"

    pipeline.scrm("ingest", str(path), timeout=300)  # the same 10,000 events again
    pipeline.scrm("wait", "--timeout", "600", timeout=660)
    second = snapshot(pipeline)
    poison_twice = {**first["tables"], "dead_letters_by_source": {"rows": 2 * POISON, "ids": 2 * POISON}}
    assert second == {**first, "tables": poison_twice}  # the bad lines were delivered twice: two records each

    pipeline.stop_worker()  # replay the raw topics from the beginning: the worker's group back to earliest
    raw = [pipeline.env["SCRM_TOPIC_PREFIX"] + t for t in ("raw.whatsapp", "raw.crm")]
    pipeline.scrm("offsets", "reset", *[a for t in raw for a in ("--topic", t)], "--to-earliest")
    pipeline.start_worker()
    pipeline.scrm("wait", "--timeout", "600", timeout=660)
    assert snapshot(pipeline) == second
    print(f"\n{'table':<24}{'rows':>8}{'ids':>8}  (FINAL, after 2 ingests of {len(lines)} lines and a raw replay)")
    for table, got in second["tables"].items():
        print(f"{table:<24}{got['rows']:>8}{got['ids']:>8}")
    (again,) = pipeline.sql("SELECT min(times) AS lo, max(times) AS hi FROM scrm.dead_letters_by_source")
    assert again == {"lo": 2, "hi": 2}  # each poison record dead-lettered again, and counted once
