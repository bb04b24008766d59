"""Rollups (migration 0008) and the body TTL on the real ClickHouse engine (chDB): a replay that
re-inserts every row (new offsets, new dedup tokens) changes no rollup figure; first response
times keep the agent who replied first; a shorter body TTL clears old bodies and keeps rollups."""

from datetime import UTC, datetime, timedelta

import pytest

from sinks.clickhouse.migrate import migrate

pytestmark = pytest.mark.clickhouse

PN = "PN1"


def message(wamid, ts, direction="inbound", kind="customer", text="運費多少？"):
    return {"wamid": wamid, "direction": direction, "sender_kind": kind, "phone_number_id": PN,
            "contact_key": f"{PN}:{wamid[-1]}", "message_type": "text", "text": text, "ts": ts, "received_at": ts,
            "envelope_sha256": "e", "src_topic": "t", "src_partition": 0, "src_offset": 0}


def receipt(wamid, status, ts):
    return {"wamid": wamid, "status": status, "status_raw": status, "phone_number_id": PN, "contact_key": f"{PN}:x",
            "ts": ts, "received_at": ts, "envelope_sha256": "e", "src_topic": "t", "src_partition": 0, "src_offset": 0}


def conversation(cid, version, *, agent=None, human_ms=None, bot_ms=None, inbound=1, status="open",
                 started="2026-11-20 02:00:00.000", initiated_by="customer"):
    return {"conversation_id": cid, "contact_key": f"{PN}:{cid}", "phone_number_id": PN, "started": started,
            "initiated_by": initiated_by, "status": status, "last_activity": started,
            "first_inbound": started if inbound else None, "last_agent_id": agent,
            "first_human_reply": started if human_ms is not None else None,
            "first_bot_reply": started if bot_ms is not None else None,
            "human_frt_ms": human_ms, "bot_frt_ms": bot_ms, "inbound": inbound, "responses": 0,
            "response_ms_total": 0, "outbound_bot": 0, "outbound_human": 0, "near_duplicates": 0,
            "inbound_by_hour": [0] * 24, "inbound_by_weekday": [0] * 7, "version": version,
            "src_partition": 0, "src_offset": version}


MESSAGES = [message("w1", "2026-11-20 02:10:00.000"), message("w2", "2026-11-20 02:50:00.000"),
            message("o3", "2026-11-20 03:05:00.000", "outbound", "agent")]
RECEIPTS = [receipt("o1", "sent", "2026-11-20 02:00:00.000"), receipt("o1", "read", "2026-11-20 02:30:00.000"),
            receipt("o2", "read", "2026-11-20 02:05:00.000"),  # read without a delivered webhook: delivered too
            receipt("o3", "delivered", "2026-11-20 02:06:00.000"),
            receipt("o4", "failed", "2026-11-20 02:07:00.000")]
CONVERSATIONS = [conversation("c1", 1, bot_ms=4_000),
                 conversation("c1", 2, agent="agent-a", human_ms=90_000, bot_ms=4_000),
                 conversation("c1", 3, agent="agent-b", human_ms=90_000, bot_ms=4_000, status="resolved"),
                 conversation("c2", 1, agent="agent-b", human_ms=30_000),
                 conversation("c3", 1, inbound=0, initiated_by="business"),
                 conversation("c3", 2, inbound=1, initiated_by="business")]


def insert_all(backend, db, token):
    for table, rows in (("messages", MESSAGES), ("statuses", RECEIPTS), ("conversations", CONVERSATIONS)):
        backend.insert_rows(f"{db}.{table}", rows, f"{table}-{token}")


def figures(backend, db):
    q = lambda sql: backend.query(sql.format(db=db)).rows  # noqa: E731
    return {
        "messages": q("SELECT hour, direction, messages, contacts FROM (SELECT toString(hour) AS hour, direction, "
                      "uniqExactMerge(messages) AS messages, uniqExactMerge(contacts) AS contacts "
                      "FROM {db}.messages_hourly GROUP BY hour, direction) ORDER BY hour, direction"),
        "daily": q("SELECT toString(day), direction, messages FROM {db}.messages_daily ORDER BY direction"),
        "receipts": q("SELECT messages, delivered, read, failed, delivery_rate, read_rate FROM {db}.receipts_daily"),
        "conversations": q("SELECT initiated_by, conversations, customer_replied, answered, answered_by_human, "
                           "resolved FROM {db}.conversations_rates_daily ORDER BY initiated_by"),
        "frt": q("SELECT conversation_id, agent_id, human_frt_s, bot_frt_s FROM {db}.first_response_times "
                 "ORDER BY conversation_id"),
        "frt_daily": q("SELECT responder, agent_id, conversations, median_s FROM {db}.frt_daily "
                       "ORDER BY responder, agent_id"),
    }


def test_rollups_count_each_natural_id_once_however_often_rows_are_inserted(chdb_backend, database):
    migrate(chdb_backend, database)
    insert_all(chdb_backend, database, "first")
    before = figures(chdb_backend, database)
    assert before == {
        "messages": [["2026-11-20 02:00:00", "inbound", 2, 2], ["2026-11-20 03:00:00", "outbound", 1, 1]],
        "daily": [["2026-11-20", "inbound", 2], ["2026-11-20", "outbound", 1]],
        "receipts": [[4, 3, 2, 1, 0.75, 0.5]],
        "conversations": [["business", 1, 1, 0, 0, 0], ["customer", 2, 2, 2, 2, 1]],
        "frt": [["c1", "agent-a", 90.0, 4.0], ["c2", "agent-b", 30.0, None]],  # agent-a replied first in c1
        "frt_daily": [["bot", "bot", 1, 4.0], ["human", "agent-a", 1, 90.0], ["human", "agent-b", 1, 30.0]],
    }
    insert_all(chdb_backend, database, "replay")  # a replay: same rows, other offsets and tokens
    chdb_backend.execute(f"OPTIMIZE TABLE {database}.messages_hourly FINAL")
    assert figures(chdb_backend, database) == before


def test_rollups_backfill_rows_stored_before_the_migration(chdb_backend, database):
    from sinks.clickhouse import migrate as module

    early = [m for m in module.load_migrations() if m.version < 8]
    for m in early:
        for statement in m.statements({"database": database, "body_ttl_days": "180"}):
            chdb_backend.execute(statement)
    insert_all(chdb_backend, database, "old")
    later = [m for m in module.load_migrations() if m.version == 8]
    for statement in later[0].statements({"database": database, "body_ttl_days": "180"}):
        chdb_backend.execute(statement)
    got = figures(chdb_backend, database)
    assert got["receipts"] == [[4, 3, 2, 1, 0.75, 0.5]]
    # merged base rows keep only the latest version: the backfill knows c1's last agent, not its first
    assert got["frt"] == [["c1", "agent-b", 90.0, 4.0], ["c2", "agent-b", 30.0, None]]


def test_a_shorter_body_ttl_clears_old_bodies_and_keeps_rows_and_rollups(chdb_backend, database):
    assert "body TTL" not in " ".join(migrate(chdb_backend, database))  # fresh: created with 180 days
    old = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S.000")
    new = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.000")
    chdb_backend.insert_rows(f"{database}.messages", [message("w1", old), message("w2", new)], "m-1")
    assert migrate(chdb_backend, database, body_ttl_days=30) == ["body TTL 180 -> 30 days"]
    assert migrate(chdb_backend, database, body_ttl_days=30) == []
    chdb_backend.execute(f"OPTIMIZE TABLE {database}.messages FINAL")
    rows = chdb_backend.query(f"SELECT wamid, text FROM {database}.messages ORDER BY wamid").rows
    assert rows == [["w1", None], ["w2", "運費多少？"]]
    kept = chdb_backend.query(f"SELECT sum(messages) FROM {database}.messages_daily").rows
    assert kept == [[2]]
    create = chdb_backend.query(f"SHOW CREATE TABLE {database}.raw_webhooks").rows[0][0]
    assert "toIntervalDay(30)" in create
