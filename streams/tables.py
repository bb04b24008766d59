"""The worker's Faust tables: raw-bytes keys and values, RocksDB memory capped, optional retention.

key_type/value_type=bytes make Faust use the raw codec for the changelog too (a Schema alone does
not: recovery would decode as JSON, fail, and Faust only logs "Error in recovery" and stalls). A
retention makes the changelog ``compact,delete`` with that ``retention.ms`` and opens RocksDB with
the same TTL (``Settings.table_options``/``changelog_config``)."""

from __future__ import annotations

import weakref
from typing import Any

from streams.app import app, settings


def bytes_table(name: str, *, partitions: int, help: str, retention_days: float | None = None) -> Any:
    extra = settings.changelog_config(retention_days) if retention_days is not None else {}
    return app.Table(name, partitions=partitions, key_type=bytes, value_type=bytes,
                     options=settings.table_options(retention_days=retention_days),
                     extra_topic_configs=extra, help=help)


def write_as(event: Any) -> None:
    """Make ``event`` the current event of this task, so a table write outside ``stream.events()``
    (batches from ``noack_take``) goes to that event's partition. Faust finds the partition of a
    table write (changelog and RocksDB) through this context variable."""
    from faust.streams import _current_event

    _current_event.set(weakref.ref(event))


def lookup(table: Any, key: bytes) -> bytes | None:
    """``table.get(key)`` with one store read: Faust's ``Table.get`` asks the store whether it holds
    the key and then reads it again (two RocksDB reads per hit), and raises and catches a KeyError
    for a miss. Only Faust's table-read sensor is skipped."""
    try:
        value: bytes = table.data[key]
    except KeyError:
        return None
    return value
