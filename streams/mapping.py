"""Domain dataclasses <-> Avro record dicts. Wire types stop here."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from processors.events import Direction, Envelope, MessageEvent, SenderKind
from sinks.clickhouse.rows import epoch_ms


def envelope_to_avro(env: Envelope) -> dict[str, Any]:
    return asdict(env)


def envelope_from_avro(rec: dict[str, Any]) -> Envelope:
    return Envelope(
        source=rec["source"], received_at_ms=epoch_ms(rec["received_at_ms"]), headers=dict(rec["headers"]),
        body=rec["body"], body_sha256=rec["body_sha256"], signature_verified=rec["signature_verified"],
        request_id=rec["request_id"])


def message_to_avro(msg: MessageEvent) -> dict[str, Any]:
    rec = asdict(msg)
    rec["direction"] = msg.direction.value
    rec["sender_kind"] = msg.sender_kind.value
    return rec


def message_from_avro(rec: dict[str, Any]) -> MessageEvent:
    fields = dict(rec)
    fields["direction"] = Direction(rec["direction"])
    fields["sender_kind"] = SenderKind(rec["sender_kind"])
    fields["timestamp_ms"] = epoch_ms(rec["timestamp_ms"])
    fields["received_at_ms"] = epoch_ms(rec["received_at_ms"])
    return MessageEvent(**fields)
