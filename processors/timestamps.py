"""Meta's timestamps: epoch seconds as a string (usually) or a number (sometimes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processors.errors import InvalidEvent

# 2001-09-09 .. 2286-11-20: anything outside is not an epoch-seconds timestamp from Meta.
_MIN_S = 1_000_000_000
_MAX_S = 9_999_999_999
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_seconds_to_ms(value: object) -> int:
    if isinstance(value, bool):
        raise InvalidEvent("bad_timestamp", "timestamp is a boolean")
    if isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text) if "." in text else int(text)
        except ValueError as exc:
            raise InvalidEvent("bad_timestamp", f"timestamp {text[:32]!r} is not a number") from exc
    elif isinstance(value, int | float):
        seconds = value
    else:
        raise InvalidEvent("bad_timestamp", f"timestamp has type {type(value).__name__}")
    if not _MIN_S <= seconds <= _MAX_S:
        raise InvalidEvent("bad_timestamp", f"timestamp {seconds} is not epoch seconds")
    return round(seconds * 1000)


def iso8601_to_ms(text: str) -> int:
    """``2026-11-20T10:00:00Z`` / ``…+08:00`` -> epoch ms. Raises ``ValueError`` saying what is wrong
    (not ISO-8601; no timezone): callers turn it into their own ``InvalidEvent`` reason."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError("is not ISO-8601") from exc
    if dt.tzinfo is None:
        raise ValueError("needs a timezone")
    return (dt - _EPOCH) // timedelta(milliseconds=1)
