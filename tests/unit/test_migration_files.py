from sinks.clickhouse.migrate import load_migrations

# backfills may run again after a crash mid-migration: only into rollups whose states are sets
ROLLUPS = ("messages_hourly", "receipts_hourly", "conversations_daily", "first_responses")


def test_migrations_are_ordered_and_every_statement_is_idempotent():
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})
    for m in migrations:
        for statement in m.statements({"database": "scrm", "body_ttl_days": "180"}):
            if statement.startswith("INSERT INTO"):
                assert statement.split()[2] in {f"scrm.{r}" for r in ROLLUPS}, statement[:60]
                continue
            assert statement.startswith(("CREATE DATABASE IF NOT EXISTS", "CREATE TABLE IF NOT EXISTS",
                                         "CREATE MATERIALIZED VIEW IF NOT EXISTS", "CREATE VIEW IF NOT EXISTS",
                                         "ALTER TABLE")), statement[:60]
