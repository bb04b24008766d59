"""A JSON view of a bytes table for pure code that wants a ``MutableMapping[str, Any]`` (the
identity resolver's store). Writes are buffered until ``commit``, so a stage can flush the records
it produced before the state that produced them is written."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

_DELETED = object()


class TableStore(MutableMapping[str, Any]):
    """The resolver's store over a bytes table: JSON values; writes are kept in ``pending`` until
    ``commit`` (after the outputs are flushed)."""

    def __init__(self, backing: Any) -> None:
        self.backing = backing
        self.pending: dict[str, Any] = {}
        self._read: dict[str, Any] = {}
        self._stored: dict[str, bytes] = {}  # key -> the bytes read from the backing table

    def __getitem__(self, key: str) -> Any:
        if key in self.pending:
            value = self.pending[key]
        elif key in self._read:
            value = self._read[key]
        else:
            raw = self.backing.get(key.encode())
            if raw is not None:
                self._stored[key] = raw
            value = self._read[key] = _DELETED if raw is None else json.loads(raw)
        if value is _DELETED:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.pending[key] = value

    def __delitem__(self, key: str) -> None:
        self[key]  # KeyError when absent, like a dict
        self.pending[key] = _DELETED

    def __iter__(self) -> Iterator[str]:
        keys = {k.decode() for k in self.backing} | set(self.pending)
        return iter(sorted(k for k in keys if self.pending.get(k) is not _DELETED))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def commit(self) -> None:
        """Write the pending values; a value whose bytes equal those read is not written again (no
        changelog record for a key the event did not change). Compared as bytes, not values: the
        caller may have changed a value it read in place."""
        for key, value in self.pending.items():
            if value is _DELETED:
                if self.backing.get(key.encode()) is not None:
                    del self.backing[key.encode()]
                self._stored.pop(key, None)
            else:
                encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
                if self._stored.get(key) != encoded:
                    self.backing[key.encode()] = encoded
                self._stored[key] = encoded
            self._read[key] = value
        self.pending.clear()


class Overlay:
    """A bytes table as a batch's earlier events left it: writes and deletes are kept here until
    ``write_through``, reads look here first. A ``TableStore`` per event over it can be dropped
    when its event fails, while the batch's outputs are flushed once before its state is written."""

    def __init__(self, backing: Any, read: Callable[[bytes], bytes | None] | None = None) -> None:
        self.backing = backing
        self.read: Callable[[bytes], bytes | None] = read or backing.get  # a Faust table: ``tables.lookup``
        self.writes: dict[bytes, bytes | None] = {}  # None: deleted

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self.read(key)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def __delitem__(self, key: bytes) -> None:
        if self.get(key) is None:
            raise KeyError(key)
        self.writes[key] = None

    def __iter__(self) -> Iterator[bytes]:
        keys = {k for k in self.backing if k not in self.writes}
        keys.update(k for k, v in self.writes.items() if v is not None)
        return iter(keys)

    def write_through(self) -> None:
        """Write what the batch changed to the backing table."""
        for key, value in self.writes.items():
            if value is not None:
                self.backing[key] = value
            elif self.backing.get(key) is not None:
                del self.backing[key]
        self.writes.clear()


class JsonTable:
    """A JSON view of a bytes table that writes through (no buffering): every write goes to the
    changelog at once and is durable on the next producer flush. The sender's outbox and the CRM
    writer's audit (``sinks.effect_log.EffectLog``)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.table.get(key.encode())
        return json.loads(raw) if raw is not None else None

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self.table[key.encode()] = json.dumps(value, separators=(",", ":")).encode()


class BatchJsonTable(JsonTable):
    """A ``JsonTable`` for the batches of ``noack_take``: each key is read and written in the
    partition of the event that carries it (``events``, set by the agent per batch), since a taken
    batch has no current event and may span partitions."""

    def __init__(self, table: Any) -> None:
        from streams.tables import write_as  # the worker's app: not imported by the pure stores above

        super().__init__(table)
        self.events: dict[str, Any] = {}
        self.write_as = write_as

    def get(self, key: str) -> dict[str, Any] | None:
        self.write_as(self.events[key])  # RocksDB reads also look in the current event's partition
        return super().get(key)

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self.write_as(self.events[key])
        super().__setitem__(key, value)
