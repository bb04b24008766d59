"""Domain dataclasses <-> Avro record dicts. Wire types stop here."""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any, TypeVar, get_type_hints

from processors.events import Envelope, MessageEvent
from sinks.clickhouse.rows import epoch_ms

T = TypeVar("T")
_TIMES = ("timestamp_ms", "received_at_ms", "conversation_expires_ms", "occurred_at_ms")


_NAMES: dict[type, tuple[str, ...]] = {}
_ENUMS: dict[type, dict[str, type[Enum]]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _enums(cls: type) -> dict[str, type[Enum]]:
    """Fields declared with an enum type (``direction: Direction``), by name; a plain ``str``
    field of the same name in another record is left alone."""
    enums = _ENUMS.get(cls)
    if enums is None:
        hints = get_type_hints(cls)
        enums = _ENUMS[cls] = {name: hint for name in _names(cls)
                               if isinstance(hint := hints[name], type) and issubclass(hint, Enum)}
    return enums


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
    for key, enum in _enums(cls).items():
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

