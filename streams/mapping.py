"""Domain dataclasses <-> Avro record dicts. Wire types stop here."""

from __future__ import annotations

from dataclasses import asdict, fields
from enum import Enum
from typing import Any, TypeVar

from processors.events import Direction, Envelope, MessageEvent, SenderKind, StatusKind
from sinks.clickhouse.rows import epoch_ms

T = TypeVar("T")
_ENUMS: dict[str, type[Enum]] = {"direction": Direction, "sender_kind": SenderKind, "status": StatusKind}
_TIMES = ("timestamp_ms", "received_at_ms", "conversation_expires_ms", "occurred_at_ms")


def to_avro(event: Any) -> dict[str, Any]:
    """A domain event as an Avro record dict (enums as their symbols)."""
    rec = asdict(event)
    for key, value in rec.items():
        if isinstance(value, Enum):
            rec[key] = value.value
        elif isinstance(value, tuple):
            rec[key] = list(value)
    return rec


def from_avro(cls: type[T], rec: dict[str, Any]) -> T:
    """An Avro record (any catalogued version, read into the newest) as a domain event."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in rec.items() if k in names}
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


def envelope_to_avro(env: Envelope) -> dict[str, Any]:
    return asdict(env)


def envelope_from_avro(rec: dict[str, Any]) -> Envelope:
    return from_avro(Envelope, rec)


def message_to_avro(msg: MessageEvent) -> dict[str, Any]:
    return to_avro(msg)


def message_from_avro(rec: dict[str, Any]) -> MessageEvent:
    return from_avro(MessageEvent, rec)

