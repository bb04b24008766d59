"""Automation outputs (processors.engagement) -> Avro record dicts for ``decisions``,
``outbound``, ``crm.writes`` and ``scores``, and the tick record. Wire types stop here."""

from __future__ import annotations

import json
from typing import Any

from processors.engagement import CrmUpdate, Engagement, ScoreChange
from processors.events import SignalKind
from processors.policy import Decision

TICK_KEY = b"__tick__"


def tick_record(at_ms: int) -> dict[str, Any]:
    return {"kind": SignalKind.TICK.value, "event_id": f"tick:{at_ms}", "contact_key": "", "timestamp_ms": at_ms}


def decision_record(d: Decision, state: Engagement, version: str) -> dict[str, Any]:
    a = d.action
    return {"decision_id": d.decision_id, "action_id": a.action_id, "rule_id": a.rule_id, "contact_key": a.contact_key,
            "phone_number_id": state.phone_number_id, "outcome": d.outcome.value, "reason": d.reason,
            "detail": d.detail, "decided_at_ms": d.decided_ms, "defer_until_ms": d.defer_until_ms, "kind": a.kind,
            "category": a.category, "trigger": a.trigger, "template": a.template, "language": a.language,
            "promotion": a.promotion, "automations_version": version}


def outbound_record(d: Decision, state: Engagement) -> dict[str, Any]:
    a = d.action
    return {"action_id": a.action_id, "contact_key": a.contact_key, "phone_number_id": state.phone_number_id,
            "to": state.wa_id, "kind": a.kind, "category": a.category, "template": a.template,
            "language": a.language, "text": a.text, "rule_id": a.rule_id, "trigger": a.trigger,
            "created_at_ms": d.decided_ms, "payload_json": a.payload_json}


def crm_record(u: CrmUpdate, state: Engagement) -> dict[str, Any]:
    return {"write_id": u.write_id, "contact_key": u.contact_key, "kind": u.kind, "wa_id": state.wa_id,
            "phone_e164": state.phone_e164,
            "properties_json": json.dumps(dict(u.properties), ensure_ascii=False) if u.properties else None,
            "title": u.title, "action_id": u.action_id, "created_at_ms": u.at_ms}


def score_record(s: ScoreChange, state: Engagement) -> dict[str, Any]:
    factors = [{"name": f.name, "value": round(f.value, 4), "weight": f.weight, "why": f.why} for f in s.score.factors]
    return {"contact_key": s.contact_key, "phone_number_id": state.phone_number_id, "score": s.score.score,
            "segment": s.score.segment, "previous_segment": s.previous_segment, "reason": s.score.reason,
            "factors_json": json.dumps(factors, ensure_ascii=False), "scored_at_ms": s.at_ms}
