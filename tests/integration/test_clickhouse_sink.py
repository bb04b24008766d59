"""Migrations, insert dedup tokens and the batch writer against the real ClickHouse engine (chDB)."""

import pytest

from sinks.clickhouse.migrate import Migration, migrate
from sinks.clickhouse.writer import BatchWriter
from sinks.errors import MigrationError, TransientSinkError

pytestmark = pytest.mark.clickhouse


def row(wamid, ts="2026-11-20 00:53:20.000", text="運費多少？"):
    return {"wamid": wamid, "direction": "inbound", "sender_kind": "customer", "phone_number_id": "PN",
            "contact_key": "PN:85251234567", "message_type": "text", "text": text, "ts": ts,
            "received_at": ts, "envelope_sha256": "e", "src_topic": "t", "src_partition": 0, "src_offset": 0}


def count(backend, sql):
    return backend.query(sql).rows[0][0]


def test_migrate_is_idempotent_and_detects_edited_migrations(chdb_backend, database, monkeypatch):
    first = migrate(chdb_backend, database)
    assert first and migrate(chdb_backend, database) == []
    tables = {r[0] for r in chdb_backend.query(f"SHOW TABLES FROM {database}").rows}
    assert {"messages", "dead_letters", "schema_migrations"} <= tables

    from sinks.clickhouse import migrate as module

    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in module.load_migrations()]
    monkeypatch.setattr(module, "load_migrations", lambda: edited)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(chdb_backend, database)


def test_same_dedup_token_inserts_once_and_final_collapses_redeliveries(chdb_backend, database):
    migrate(chdb_backend, database)
    table = f"{database}.messages"
    chdb_backend.insert_rows(table, [row("w1"), row("w2")], "t-0-0-1")
    chdb_backend.insert_rows(table, [row("w1"), row("w2")], "t-0-0-1")  # retried batch: dropped by token
    assert count(chdb_backend, f"SELECT count() FROM {table}") == 2
    chdb_backend.insert_rows(table, [row("w1")], "t-0-7-7")  # redelivery at a new offset
    assert count(chdb_backend, f"SELECT count() FROM {table} FINAL") == 2
    assert chdb_backend.query(f"SELECT text FROM {table} FINAL WHERE wamid = 'w1'").rows == [["運費多少？"]]


class FailingFirst:
    """Wraps the real backend; its first N inserts fail as if the engine were unavailable."""

    name = "failing"

    def __init__(self, real, failures):
        self.real, self.failures, self.calls = real, failures, 0

    def insert_rows(self, table, rows, token):
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientSinkError("Code: 210. connection refused (injected)")
        self.real.insert_rows(table, rows, token)


async def test_writer_retries_transient_failures_until_the_insert_lands(chdb_backend, database):
    migrate(chdb_backend, database)
    sleeps = []

    async def no_sleep(seconds):
        sleeps.append(seconds)

    writer = BatchWriter(FailingFirst(chdb_backend, 3), sleep=no_sleep)
    assert await writer.write(f"{database}.messages", [row("w1")], "t-0-0-0") == []
    assert len(sleeps) == 3 and sleeps == sorted(sleeps) and writer.stats.transient_failures == 3
    assert count(chdb_backend, f"SELECT count() FROM {database}.messages") == 1
    writer.close()


async def test_writer_isolates_rows_clickhouse_refuses(chdb_backend, database):
    migrate(chdb_backend, database)
    writer = BatchWriter(chdb_backend)
    rows = [row(f"w{i}") for i in range(8)]
    rows[5] = row("bad", ts="not a time")
    rejected = await writer.write(f"{database}.messages", rows, "t-0-0-7")
    assert [r.index for r in rejected] == [5] and "Code:" in str(rejected[0].error)
    assert count(chdb_backend, f"SELECT count() FROM {database}.messages") == 7
    writer.close()
