"""The worker's Faust tables: raw-bytes keys and values, RocksDB memory capped, optional retention.

key_type/value_type=bytes make Faust use the raw codec for the changelog too (a Schema alone does
not: recovery would decode as JSON, fail, and Faust only logs "Error in recovery" and stalls). A
retention makes the changelog ``compact,delete`` with that ``retention.ms`` and opens RocksDB with
the same TTL (``Settings.table_options``/``changelog_config``)."""

from __future__ import annotations

from typing import Any

from streams.app import app, settings


def bytes_table(name: str, *, partitions: int, help: str, retention_days: float | None = None) -> Any:
    extra = settings.changelog_config(retention_days) if retention_days is not None else {}
    return app.Table(name, partitions=partitions, key_type=bytes, value_type=bytes,
                     options=settings.table_options(retention_days=retention_days),
                     extra_topic_configs=extra, help=help)
