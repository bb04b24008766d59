"""Contact keys (DESIGN §3): ``phone_number_id:wa_id`` when a phone exists, else ``phone_number_id:user_id``."""

from __future__ import annotations

from processors.errors import InvalidEvent


def contact_key(phone_number_id: str, wa_id: str | None, user_id: str | None) -> str:
    if not phone_number_id:
        raise InvalidEvent("no_phone_number_id", "the change has no metadata.phone_number_id")
    if wa_id:
        return f"{phone_number_id}:{wa_id}"
    if user_id:
        return f"{phone_number_id}:{user_id}"
    raise InvalidEvent("no_contact_id", "the event names neither a wa_id nor a user_id")
