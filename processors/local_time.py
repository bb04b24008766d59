"""A contact's time zone from their phone number (libphonenumber's prefix data). Pure.

Used for hour-of-day and weekday counts and, later, quiet hours. Numbers without a known zone
(short, unknown, or no phone at all: a business-scoped user id) fall back to ``default``."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone

UTC_ZONE = ZoneInfo("UTC")


@lru_cache(maxsize=65536)  # once per number: every message of a contact asks again (parsing is the cost)
def zone_for(phone_e164: str | None, default: str = "UTC") -> ZoneInfo:
    fallback = _zone(default) or UTC_ZONE
    if not phone_e164:
        return fallback
    try:
        names = timezone.time_zones_for_number(phonenumbers.parse(phone_e164))
    except phonenumbers.NumberParseException:
        return fallback
    known = [n for n in names if not n.startswith("Etc/")]
    return (_zone(known[0]) if known else None) or fallback


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
