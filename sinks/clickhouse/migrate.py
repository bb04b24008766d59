"""Ordered SQL migrations (``migrations/NNNN_name.sql``), applied once each, idempotent.

Applied versions are recorded in ``<db>.schema_migrations`` with a checksum; editing a migration
that was already applied is an error (write a new one instead)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from sinks.clickhouse.backend import Backend
from sinks.errors import MigrationError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
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
    """Apply pending migrations; return the names applied (empty when up to date)."""
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
    return done
