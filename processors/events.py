"""Domain event types. Frozen, typed, free of wire concerns (``streams.mapping`` converts)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    TEMPLATE = "template"
    CAMPAIGN = "campaign"
    BUSINESS_APP = "business_app"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A webhook request as received (the raw topic's record)."""

    source: str
    received_at_ms: int
    headers: dict[str, str]
    body: bytes
    body_sha256: str
    signature_verified: bool
    request_id: str


@dataclass(frozen=True, slots=True)
class MessageEvent:
    wamid: str
    direction: Direction
    sender_kind: SenderKind
    phone_number_id: str
    contact_key: str
    message_type: str
    timestamp_ms: int
    received_at_ms: int
    envelope_sha256: str
    agent_id: str | None = None
    display_phone_number: str | None = None
    waba_id: str | None = None
    wa_id: str | None = None
    user_id: str | None = None
    phone_e164: str | None = None
    profile_name: str | None = None
    text: str | None = None
    context_wamid: str | None = None
    payload_json: str | None = None


@dataclass(frozen=True, slots=True)
class IgnoredChange:
    """A webhook change this version does not turn into an event yet (counted, not dropped silently)."""

    field: str
    kind: str


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    messages: tuple[MessageEvent, ...]
    ignored: tuple[IgnoredChange, ...]
