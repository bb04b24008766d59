"""A JSON view of a bytes table for pure code that wants a ``MutableMapping[str, Any]`` (the
identity resolver's store). Writes are buffered until ``commit``, so a stage can flush the records
it produced before the state that produced them is written."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
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
