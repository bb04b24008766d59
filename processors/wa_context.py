"""What every item of one webhook change shares: the business number, the WABA, the profiles."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from processors.values import obj, opt_str


@dataclass(frozen=True, slots=True)
class ChangeContext:
    received_at_ms: int
    envelope_sha256: str
    position: str  # "<entry index>.<change index>" inside the body
    entry_time_ms: int
    waba_id: str | None
    phone_number_id: str
    display_phone_number: str | None
    profiles: Mapping[str, Mapping[str, Any]]  # wa_id and user_id -> contacts[] item

    @classmethod
    def of(cls, value: Mapping[str, Any], *, waba_id: str | None, received_at_ms: int, envelope_sha256: str,
           position: str, entry_time_ms: int) -> ChangeContext:
        metadata = obj(value.get("metadata"))
        return cls(received_at_ms=received_at_ms, envelope_sha256=envelope_sha256, position=position,
                   entry_time_ms=entry_time_ms, waba_id=waba_id,
                   phone_number_id=opt_str(metadata.get("phone_number_id")) or "",
                   display_phone_number=opt_str(metadata.get("display_phone_number")),
                   profiles=dict(_profiles(value.get("contacts"))))

    def profile(self, wa_id: str | None, user_id: str | None) -> Mapping[str, Any] | None:
        """The contacts[] item for this person; the only one when the item names nobody."""
        found = self.profiles.get(wa_id or "") or self.profiles.get(user_id or "")
        if found is not None or wa_id or user_id:
            return found
        distinct = {id(p): p for p in self.profiles.values()}
        return next(iter(distinct.values())) if len(distinct) == 1 else None

    def identify(self, wa_id: str | None, user_id: str | None) -> tuple[str | None, str | None,
                                                                       Mapping[str, Any] | None]:
        """Fill a missing wa_id or user_id from the person's contacts[] item."""
        profile = self.profile(wa_id, user_id)
        if profile is not None:
            wa_id = wa_id or opt_str(profile.get("wa_id"))
            user_id = user_id or opt_str(profile.get("user_id"))
        return wa_id, user_id, profile


def _profiles(contacts: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(contacts, list):
        return
    for contact in contacts:
        if not isinstance(contact, dict):
            continue
        for ident in (contact.get("wa_id"), contact.get("user_id")):
            if isinstance(ident, str) and ident:
                yield ident, contact
