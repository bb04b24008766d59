"""When people write: hour-of-day profiles in the customer's local time, and day sampling."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Share of a day's customer messages per local hour (0..23); each profile sums to 1.
_RETAIL = (1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3.5, 6.5, 7.5, 7, 5, 4.5, 4.5, 4.5, 4.5, 5, 6, 8, 8.5, 6.5, 3)
_B2B = (0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 3, 5, 7, 7, 4, 5, 15, 15, 11, 6, 3, 1.5, 1, 0.6, 0.3, 0.2)


def _norm(weights: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(weights)
    return tuple(w / total for w in weights)


HOURS: dict[str, tuple[float, ...]] = {"retail": _norm(_RETAIL), "b2b": _norm(_B2B)}
WEEKDAY: dict[str, tuple[float, ...]] = {"retail": (1, 0.95, 0.95, 1, 1.1, 1.25, 1.2),  # Monday first
                                         "b2b": (1.1, 1.1, 1.1, 1.1, 1.0, 0.3, 0.15)}


def local_hour_share(profile: str, hours: range) -> float:
    """The share of a day's messages in these local hours (14-16h is about 35% for b2b)."""
    return sum(HOURS[profile][h] for h in hours)


def pick_time(rng: random.Random, day: datetime, profile: str, tz: str) -> int:
    """An epoch second on ``day`` (a UTC date) at a local hour drawn from the profile."""
    hour = rng.choices(range(24), HOURS[profile])[0]
    local = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=ZoneInfo(tz))
    return int(local.timestamp())


def local_at(epoch_s: int, tz: str) -> datetime:
    return datetime.fromtimestamp(epoch_s, ZoneInfo(tz))


def next_local(epoch_s: int, tz: str, hour: int) -> int:
    """The next ``hour``:00 local time at or after the moment (office opening for late messages)."""
    local = local_at(epoch_s, tz)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at < local:
        at += timedelta(days=1)
    return int(at.timestamp())


def day_of(start: datetime, offset_days: float) -> datetime:
    return (start + timedelta(days=offset_days)).astimezone(UTC)
