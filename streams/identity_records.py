"""Identity resolution's wire records: IdentityObservation in, ContactProfile, ContactMerge and
ContactConflict out (``processors.identity`` types <-> Avro record dicts)."""

from __future__ import annotations

from typing import Any

from processors.identity import Conflict, Merge, Observation, Profile
from sinks.clickhouse.rows import epoch_ms

OBSERVE, UNMERGE, ERASE = "observe", "unmerge", "erase"


def observation_record(o: Observation) -> dict[str, Any]:
    return {"kind": OBSERVE, "record_id": o.record_id, "source": o.source, "ts_ms": o.ts_ms,
            "phone_keys": list(o.phone_keys), "phone_e164": o.phone_e164, "email": o.email, "name": o.name,
            "purchases": [{"sku": sku, "ts_ms": ts} for sku, ts in o.purchases], "contact_key": o.contact_key,
            "merge_id": None, "requested_by": None}


def unmerge_record(merge_id: str, at_ms: int, requested_by: str | None) -> dict[str, Any]:
    return {"kind": UNMERGE, "record_id": "", "source": "", "ts_ms": at_ms, "phone_keys": [], "phone_e164": None,
            "email": None, "name": None, "purchases": [], "contact_key": None, "merge_id": merge_id,
            "requested_by": requested_by}


def erase_record(erasure_id: str, subject_hashes: list[str], at_ms: int, requested_by: str) -> dict[str, Any]:
    """``scrm erase`` -> the resolver: forget every contact holding the subject's numbers. The
    numbers travel as their SHA-256 hashes (``processors.erasure``), never in clear."""
    return {"kind": ERASE, "record_id": erasure_id, "source": "", "ts_ms": at_ms, "phone_keys": subject_hashes,
            "phone_e164": None, "email": None, "name": None, "purchases": [], "contact_key": None,
            "merge_id": None, "requested_by": requested_by}


def observation_from_record(rec: dict[str, Any]) -> Observation:
    """A decoded record (timestamps as fastavro gives them: datetimes) -> Observation."""
    if not rec["record_id"]:
        raise ValueError("an observation needs a record_id")
    return Observation(rec["record_id"], rec["source"], epoch_ms(rec["ts_ms"]), phone_keys=tuple(rec["phone_keys"]),
                       phone_e164=rec.get("phone_e164"), email=rec.get("email"), name=rec.get("name"),
                       purchases=tuple((p["sku"], epoch_ms(p["ts_ms"])) for p in rec.get("purchases") or ()),
                       contact_key=rec.get("contact_key"))


def profile_record(p: Profile) -> dict[str, Any]:
    return {"contact_id": p.contact_id, "records": list(p.records), "contact_keys": list(p.contact_keys),
            "phones": list(p.phones), "emails": list(p.emails), "name": p.name, "name_source": p.name_source,
            "first_seen_ms": p.first_seen_ms, "updated_ms": p.updated_ms, "merged_into": p.merged_into}


def merge_record(m: Merge, *, undone_at_ms: int | None = None, undone_by: str | None = None) -> dict[str, Any]:
    return {"merge_id": m.merge_id, "into": m.into, "absorbed": m.absorbed, "left": list(m.left),
            "right": list(m.right), "evidence_kind": m.evidence.kind, "evidence_detail": m.evidence.detail,
            "confidence": m.evidence.confidence, "merged_at_ms": m.at_ms, "undone": m.undone,
            "undone_at_ms": undone_at_ms if m.undone else None, "undone_by": undone_by if m.undone else None}


def conflict_record(c: Conflict, detected_at_ms: int) -> dict[str, Any]:
    return {"conflict_id": c.conflict_id, "contact_id": c.contact_id, "field": c.field, "chosen": c.chosen,
            "values": [{"value": v, "source": s, "ts_ms": ts} for v, s, ts in c.values], "open": True,
            "detected_at_ms": detected_at_ms}


def closed_conflict_record(conflict_id: str, p: Profile, field: str, at_ms: int) -> dict[str, Any]:
    """The conflict ``conflict_id`` on ``p`` is gone (its records agree, or it was absorbed)."""
    return {"conflict_id": conflict_id, "contact_id": p.contact_id, "field": field, "chosen": p.name or "",
            "values": [], "open": False, "detected_at_ms": at_ms}
