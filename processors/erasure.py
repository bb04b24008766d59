"""GDPR erasure (``scrm erase``): who an erasure is about, and which events it keeps out. Pure.

An erasure names its subject by the SHA-256 of every E.164 form the number can take (a Mexican,
Brazilian or Argentine mobile has two), never by the number itself, and holds an
``erased_before`` time. Events of the subject at or before that time are dropped where they enter
the pipeline, so a replay of the raw topics cannot bring the contact back; an event after it (the
customer writes again) starts a new relationship."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

from processors.phones import Phone, from_wa_id

_SEP = "[ .()/-]{0,2}"  # what people type between digits: "+55 (41) 98888-7777"


def subject_hash(e164: str) -> str:
    return hashlib.sha256(e164.encode()).hexdigest()


def subject_keys(phone: Phone) -> list[str]:
    """Every E.164 form of ``phone``: as typed and as a WhatsApp id (they differ in Argentina)."""
    as_wa_id = from_wa_id(phone.wa_digits)
    return sorted(set(phone.keys) | set(as_wa_id.keys if as_wa_id is not None else ()))


def subject_hashes(phone: Phone) -> list[str]:
    return sorted({subject_hash(k) for k in subject_keys(phone)})


def text_pattern(keys: Iterable[str]) -> str:
    """An RE2 pattern (ClickHouse ``match``, Python ``re``) for these E.164 numbers written in a
    text: as a WhatsApp id (``85291234567``), in E.164 or typed with separators, with ``00`` or
    without the country code (``9123 4567``, ``(41) 98888-7777``), never inside a longer number."""
    forms = []
    for key in sorted(set(keys)):
        try:
            parsed = phonenumbers.parse(key, None)
        except phonenumbers.NumberParseException:
            continue
        national = phonenumbers.national_significant_number(parsed)
        spaced = _SEP.join(national)
        forms.append(f"(([+]|00)?{parsed.country_code}{_SEP}|0{_SEP})?{spaced}")
    return f"(^|[^0-9])({'|'.join(forms)})([^0-9]|$)" if forms else r"[^\d\D]"  # no number: matches nothing


def wa_part(contact_key: str) -> str:
    """The WhatsApp id (or user id) of a contact key ``phone_number_id:wa_id``."""
    return contact_key.split(":", 1)[1] if ":" in contact_key else contact_key


@dataclass
class ErasureList:
    """subject hash -> erased before (epoch ms); the latest erasure of a subject wins. Lookups
    hash the key they are given, so they cost a SHA-256 and a dict probe, and nothing when the
    list is empty."""

    before: dict[str, int] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)

    def add(self, erasure_id: str, hashes: Iterable[str], erased_before_ms: int) -> None:
        self.ids.add(erasure_id)
        for h in hashes:
            self.before[h] = max(self.before.get(h, erased_before_ms), erased_before_ms)

    def blocks_keys(self, e164_keys: Iterable[str], event_ms: int) -> bool:
        """Whether an event at ``event_ms`` about a number with these E.164 keys is erased."""
        if not self.before:
            return False
        return any(self._blocks(subject_hash(k), event_ms) for k in e164_keys)

    def blocks_wa_id(self, wa_id: str | None, event_ms: int) -> bool:
        """Whether an event of this WhatsApp id (international digits) at ``event_ms`` is erased."""
        if not self.before or not wa_id:
            return False
        return self._blocks(subject_hash("+" + wa_id), event_ms)

    def _blocks(self, h: str, event_ms: int) -> bool:
        cut_off = self.before.get(h)
        return cut_off is not None and event_ms <= cut_off

    def blocks_contact_key(self, contact_key: str | None, event_ms: int) -> bool:
        return bool(contact_key) and self.blocks_wa_id(wa_part(contact_key or ""), event_ms)

    def names(self, contact_key: str) -> bool:
        """Whether an erasure names this contact key's subject (any time): its stored state goes."""
        return self._blocks(subject_hash("+" + wa_part(contact_key)), -(2**62))
