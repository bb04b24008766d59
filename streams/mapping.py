"""Domain dataclasses <-> Avro record dicts. Wire types stop here."""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any, TypeVar

from processors.events import Direction, Envelope, MessageEvent, SenderKind, StatusKind
from sinks.clickhouse.rows import epoch_ms

T = TypeVar("T")
_ENUMS: dict[str, type[Enum]] = {"direction": Direction, "sender_kind": SenderKind, "status": StatusKind}
_TIMES = ("timestamp_ms", "received_at_ms", "conversation_expires_ms", "occurred_at_ms")


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def to_avro(event: Any) -> dict[str, Any]:
    """A domain event as an Avro record dict (enums as their symbols, tuples as lists).

    Shallow on purpose: events hold no nested dataclasses, and ``dataclasses.asdict`` (recursive,
    deep-copying) was a third of the per-event CPU on the hot path."""
    rec = {name: getattr(event, name) for name in _names(type(event))}
    for key, value in rec.items():
        if isinstance(value, Enum):
            rec[key] = value.value
        elif isinstance(value, tuple):
            rec[key] = list(value)
    return rec


def from_avro(cls: type[T], rec: dict[str, Any]) -> T:
    """An Avro record (any catalogued version, read into the newest) as a domain event."""
    values = {k: rec[k] for k in _names(cls) if k in rec}
    for key, enum in _ENUMS.items():
        if key in values:
            values[key] = enum(values[key])
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    for key in _TIMES:
        if values.get(key) is not None:
            values[key] = epoch_ms(values[key])
    return cls(**values)


def envelope_from_avro(rec: dict[str, Any]) -> Envelope:
    return from_avro(Envelope, rec)


def message_from_avro(rec: dict[str, Any]) -> MessageEvent:
    return from_avro(MessageEvent, rec)

