"""Phone numbers. WhatsApp ids are the customer's E.164 number without the ``+``."""

from __future__ import annotations

_MIN_DIGITS = 7
_MAX_DIGITS = 15


def wa_id_to_e164(wa_id: str | None) -> str | None:
    """``"85251234567"`` -> ``"+85251234567"``; None when the id is not a phone-shaped digit string."""
    if not wa_id or not wa_id.isascii() or not wa_id.isdigit():
        return None
    if not _MIN_DIGITS <= len(wa_id) <= _MAX_DIGITS:
        return None
    return "+" + wa_id
