from sinks.clickhouse.migrate import load_migrations


def test_migrations_are_ordered_and_every_statement_is_idempotent():
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})
    for m in migrations:
        for statement in m.statements({"database": "scrm", "body_ttl_days": "180"}):
            assert statement.startswith(("CREATE DATABASE IF NOT EXISTS", "CREATE TABLE IF NOT EXISTS",
                                         "CREATE MATERIALIZED VIEW IF NOT EXISTS", "CREATE VIEW IF NOT EXISTS",
                                         "ALTER TABLE")), statement[:60]
