"""Ordered SQL migrations (``migrations/NNNN_name.sql``), applied once each, idempotent.

Applied versions are recorded in ``<db>.schema_migrations`` with a checksum; editing a migration
that was already applied is an error (write a new one instead). The message-body TTL is a setting,
not a migration: ``migrate`` alters the body columns when ``body_ttl_days`` changed, and records
the value in ``<db>.schema_settings``."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from sinks.clickhouse.backend import Backend
from sinks.errors import MigrationError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# columns holding message text, payloads or raw bodies (phone numbers included): (table, column, time)
BODY_COLUMNS = (("messages", "text", "ts"), ("messages", "payload_json", "ts"),
                ("raw_webhooks", "body", "received_at"))
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]

    def statements(self, params: dict[str, str]) -> list[str]:
        text = Template(self.sql).substitute(params)
        text = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))
        return [s.strip() for s in text.split(";") if s.strip()]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migrations are named NNNN_lower_snake.sql")
        found.append(Migration(int(match.group(1)), path.stem, path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migrations share a version number")
    return found


def migrate(backend: Backend, database: str, *, body_ttl_days: int = 180) -> list[str]:
    """Apply pending migrations and the body TTL; return what changed (empty when up to date)."""
    if body_ttl_days < 1:
        raise MigrationError(f"body TTL must be at least 1 day, got {body_ttl_days}")
    params = {"database": database, "body_ttl_days": str(body_ttl_days)}
    backend.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    backend.execute(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
        "(version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version")
    applied = {int(r[0]): (r[1], r[2]) for r in backend.query(
        f"SELECT version, name, checksum FROM {database}.schema_migrations FINAL").rows}
    done = []
    for m in load_migrations():
        if m.version in applied:
            if applied[m.version][1] != m.checksum:
                raise MigrationError(
                    f"migration {m.name} was changed after it was applied; add a new migration instead")
            continue
        for statement in m.statements(params):
            backend.execute(statement)
        backend.insert_rows(f"{database}.schema_migrations",
                            [{"version": m.version, "name": m.name, "checksum": m.checksum}], None)
        done.append(m.name)
    return done + _body_ttl(backend, database, body_ttl_days, fresh=bool(done) and not applied)


def _body_ttl(backend: Backend, database: str, days: int, *, fresh: bool) -> list[str]:
    """Alter the body columns' TTL when the setting changed since the last run (ClickHouse then
    drops expired bodies in the background; rows, rollups and other columns stay)."""
    backend.execute(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_settings "
        "(name String, value String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree(applied_at) ORDER BY name")
    rows = backend.query(f"SELECT value FROM {database}.schema_settings FINAL WHERE name = 'body_ttl_days'").rows
    before = rows[0][0] if rows else None
    if before == str(days):
        return []
    if not fresh:  # created by the migrations above with this TTL already
        for table, column, time_column in BODY_COLUMNS:
            backend.execute(f"ALTER TABLE {database}.{table} MODIFY COLUMN {column} "
                            f"TTL toDateTime({time_column}) + INTERVAL {days} DAY")
    backend.insert_rows(f"{database}.schema_settings", [{"name": "body_ttl_days", "value": str(days)}], None)
    return [] if fresh else [f"body TTL {before or 'unrecorded'} -> {days} days"]
