"""Pure row shaping for ClickHouse (JSONEachRow dicts). No I/O."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from processors.events import MessageEvent


@dataclass(frozen=True, slots=True)
class SourcePosition:
    topic: str
    partition: int
    offset: int


def ch_datetime64(ms: int) -> str:
    """Epoch milliseconds -> ClickHouse DateTime64(3) text in UTC."""
    return _second(ms // 1000) + f"{ms % 1000:03d}"


@lru_cache(maxsize=4096)
def _second(s: int) -> str:
    """The text of a whole second (a sink batch's rows mostly share a few): strftime is 3.8 µs a call."""
    return datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%d %H:%M:%S.")


def message_row(event: MessageEvent, src: SourcePosition) -> dict[str, Any]:
    return {
        "wamid": event.wamid,
        "direction": event.direction.value,
        "sender_kind": event.sender_kind.value,
        "agent_id": event.agent_id,
        "phone_number_id": event.phone_number_id,
        "display_phone_number": event.display_phone_number,
        "waba_id": event.waba_id,
        "contact_key": event.contact_key,
        "wa_id": event.wa_id,
        "user_id": event.user_id,
        "phone_e164": event.phone_e164,
        "profile_name": event.profile_name,
        "message_type": event.message_type,
        "text": event.text,
        "payload_json": event.payload_json,
        "context_wamid": event.context_wamid,
        "ts": ch_datetime64(event.timestamp_ms),
        "received_at": ch_datetime64(event.received_at_ms),
        "envelope_sha256": event.envelope_sha256,
        "src_topic": src.topic,
        "src_partition": src.partition,
        "src_offset": src.offset,
    }


def dead_letter_row(record: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    key = record.get("original_key")
    return {
        "dlq_partition": src.partition,
        "dlq_offset": src.offset,
        "topic": record["topic"],
        "partition": record["partition"],
        "offset": record["offset"],
        "stage": record["stage"],
        "error_class": record["error_class"],
        "error_message": record["error_message"],
        "attempts": record["attempts"],
        "first_failure": ch_datetime64(epoch_ms(record["first_failure_ms"])),
        "last_failure": ch_datetime64(epoch_ms(record["last_failure_ms"])),
        "original_key_b64": base64.b64encode(key).decode() if key is not None else None,
        "original_value_b64": base64.b64encode(record["original_value"]).decode(),
    }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def epoch_ms(value: int | datetime) -> int:
    """fastavro decodes timestamp-millis to aware datetimes; back to exact integer milliseconds
    (``dt.timestamp() * 1000`` can be one millisecond off through float rounding)."""
    if isinstance(value, datetime):
        return (value - _EPOCH) // _ONE_MS
    return int(value)


def _dt(ms: int | datetime | None) -> str | None:
    return None if ms is None else ch_datetime64(epoch_ms(ms))


def status_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A StatusEvent record (as decoded from Avro) -> ``statuses``."""
    names = ("wamid", "status", "status_raw", "phone_number_id", "contact_key", "wa_id", "user_id", "recipient_type",
             "error_code", "error_title", "errors_json", "conversation_id", "conversation_category",
             "pricing_billable", "pricing_model", "pricing_category", "callback_data", "envelope_sha256")
    return {**{n: rec.get(n) for n in names},
            "conversation_expires": _dt(rec.get("conversation_expires_ms")),
            "ts": _dt(rec["timestamp_ms"]), "received_at": _dt(rec["received_at_ms"]),
            "src_topic": src.topic, "src_partition": src.partition, "src_offset": src.offset}


_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 5}


def message_state_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A MessageState record -> ``message_state``."""
    return {"wamid": rec["wamid"], "contact_key": rec["contact_key"], "state": rec["state"],
            "state_rank": _RANK.get(rec["state"], 0), "updated": _dt(rec["updated_ms"]),
            **{n: _dt(rec.get(f"{n}_ms")) for n in ("sent", "delivered", "read", "played", "failed", "deleted")},
            "error_code": rec.get("error_code"), "error_title": rec.get("error_title"),
            "regressions_prevented": rec["regressions_prevented"], "version": rec["version"],
            "src_partition": src.partition, "src_offset": src.offset}


_CONVERSATION_TIMES = ("started", "last_activity", "first_inbound", "last_inbound", "last_outbound",
                       "window_expires", "first_bot_reply", "first_human_reply", "awaiting_since", "closed")
_CONVERSATION_VALUES = ("conversation_id", "contact_key", "phone_number_id", "initiated_by", "status",
                        "reopened_from", "last_reply_kind", "last_agent_id", "bot_frt_ms", "human_frt_ms",
                        "responses", "response_ms_total", "inbound", "outbound_bot", "outbound_human",
                        "near_duplicates", "inbound_by_hour", "inbound_by_weekday", "version")


def conversation_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A Conversation record -> ``conversations``."""
    return {**{n: rec.get(n) for n in _CONVERSATION_VALUES},
            **{n: _dt(rec.get(f"{n}_ms")) for n in _CONVERSATION_TIMES},
            "src_partition": src.partition, "src_offset": src.offset}


def tag_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A TagEvent record -> ``tags``."""
    names = ("contact_key", "wamid", "phone_number_id", "tag", "rule_id", "pack", "rule_version", "department",
             "reason", "conversation_id")
    return {**{n: rec.get(n) for n in names}, "ts": _dt(rec["timestamp_ms"]),
            "src_partition": src.partition, "src_offset": src.offset}


def decision_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """An AutomationDecision record -> ``automation_decisions``."""
    names = ("decision_id", "action_id", "rule_id", "contact_key", "phone_number_id", "outcome", "reason", "detail",
             "kind", "category", "trigger", "template", "language", "promotion", "automations_version")
    return {**{n: rec.get(n) for n in names}, "decided_at": _dt(rec["decided_at_ms"]),
            "defer_until": _dt(rec.get("defer_until_ms")), "src_partition": src.partition, "src_offset": src.offset}


def churn_score_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A ChurnScore record -> ``churn_scores``."""
    names = ("contact_key", "phone_number_id", "score", "segment", "previous_segment", "reason")
    return {**{n: rec.get(n) for n in names}, "factors": rec["factors_json"], "scored_at": _dt(rec["scored_at_ms"]),
            "src_partition": src.partition, "src_offset": src.offset}


def contact_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A ContactProfile record -> ``contacts``."""
    names = ("contact_id", "records", "contact_keys", "phones", "emails", "name", "name_source", "merged_into")
    return {**{n: rec.get(n) for n in names}, "first_seen": _dt(rec["first_seen_ms"]),
            "updated_at": _dt(rec["updated_ms"]), "src_partition": src.partition, "src_offset": src.offset}


def contact_merge_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A ContactMerge record -> ``contact_merges``."""
    names = ("merge_id", "into", "absorbed", "evidence_kind", "evidence_detail", "confidence", "undone", "undone_by")
    return {**{n: rec.get(n) for n in names}, "left_records": rec["left"], "right_records": rec["right"],
            "merged_at": _dt(rec["merged_at_ms"]), "undone_at": _dt(rec.get("undone_at_ms")),
            "src_partition": src.partition, "src_offset": src.offset}


def contact_conflict_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A ContactConflict record -> ``contact_conflicts``."""
    values = [{"value": v["value"], "source": v["source"], "ts": _dt(v["ts_ms"])} for v in rec["values"]]
    return {"conflict_id": rec["conflict_id"], "contact_id": rec["contact_id"], "field": rec["field"],
            "chosen": rec["chosen"], "open": rec["open"], "values": values, "detected_at": _dt(rec["detected_at_ms"]),
            "src_partition": src.partition, "src_offset": src.offset}


def outbound_send_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A SendResult record -> ``outbound_sends``."""
    names = ("action_id", "contact_key", "phone_number_id", "wa_id", "rule_id", "kind", "category", "template",
             "language", "state", "mode", "wamid", "attempts", "error_code", "error_title", "error_class", "detail")
    return {**{n: rec.get(n) for n in names}, "decided_at": _dt(rec["decided_at_ms"]),
            "recorded_at": _dt(rec["recorded_at_ms"]), "completed_at": _dt(rec["completed_at_ms"]),
            "src_partition": src.partition, "src_offset": src.offset}


def crm_write_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A CrmWriteResult record -> ``crm_writes``."""
    names = ("write_id", "contact_key", "kind", "crm", "state", "wa_id", "attempts", "attempt_log", "http_status",
             "crm_object_id", "error", "request_json")
    return {**{n: rec.get(n) for n in names}, "decided_at": _dt(rec["decided_at_ms"]),
            "completed_at": _dt(rec["completed_at_ms"]), "src_partition": src.partition, "src_offset": src.offset}


def raw_webhook_row(rec: dict[str, Any], src: SourcePosition) -> dict[str, Any]:
    """A WebhookEnvelope record (a raw topic) -> ``raw_webhooks``."""
    body: bytes = rec["body"]
    try:
        text, encoding = body.decode("utf-8"), "utf8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode(), "base64"
    headers = {k.lower(): v for k, v in (rec.get("headers") or {}).items()}
    return {"request_id": rec["request_id"], "source": rec["source"], "received_at": _dt(rec["received_at_ms"]),
            "signature_verified": rec["signature_verified"], "content_type": headers.get("content-type"),
            "user_agent": headers.get("user-agent"), "body_sha256": rec["body_sha256"], "body_bytes": len(body),
            "body_encoding": encoding, "body": text, "src_topic": src.topic, "src_partition": src.partition,
            "src_offset": src.offset}
