"""Kafka record headers the pipeline sets and reads.

``scrm-replay: <replay id>`` marks a raw record re-produced by ``scrm replay``: the normalize
stages forward its events even when dedup has seen them (downstream stages are idempotent and
recompute or re-publish the same rows). ``scrm-effects: off`` travels with the events of a replay
run with ``--no-side-effects`` to the sender and the CRM writer, which record those commands as
skipped. ``scrm-redrive: <dead letter id>`` marks a record sent back by ``scrm dlq redrive``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REPLAY = "scrm-replay"
EFFECTS = "scrm-effects"
REDRIVE = "scrm-redrive"
Headers = list[tuple[str, bytes]]


def header(event: Any, name: str) -> str | None:
    """A header of a Faust event's message (Faust gives a list of pairs or a mapping)."""
    raw = event.message.headers or ()
    pairs = raw.items() if isinstance(raw, Mapping) else raw
    for key, value in pairs:
        if key == name:
            return value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else str(value)
    return None


def effects_off(event: Any) -> bool:
    return header(event, EFFECTS) == "off"


def carried(event: Any) -> Headers | None:
    """The headers a stage passes on to what it derives from ``event`` (None when there are none)."""
    out = [(name, value.encode()) for name in (REPLAY, EFFECTS) if (value := header(event, name)) is not None]
    return out or None
