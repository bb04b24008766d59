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
    message_subtype: str | None = None  # interactive reply kind, system event, original unknown type
    related_wamid: str | None = None  # the message a reaction, edit or revoke is about
    forwarded: bool = False
    referral_json: str | None = None  # click-to-WhatsApp ad or post the customer came from
    error_code: int | None = None
    error_title: str | None = None


class StatusKind(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    DELETED = "deleted"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A receipt for a message the business sent (DESIGN §3: key = contact key)."""

    wamid: str
    status: StatusKind
    phone_number_id: str
    contact_key: str
    timestamp_ms: int
    received_at_ms: int
    envelope_sha256: str
    status_raw: str  # as Meta wrote it, kept when it is not a known kind
    wa_id: str | None = None
    user_id: str | None = None
    phone_e164: str | None = None
    recipient_type: str | None = None  # individual | group
    error_code: int | None = None
    error_title: str | None = None
    errors_json: str | None = None
    conversation_id: str | None = None
    conversation_category: str | None = None  # origin.type: service, marketing, utility, ...
    conversation_expires_ms: int | None = None
    pricing_billable: bool | None = None
    pricing_model: str | None = None
    pricing_category: str | None = None
    callback_data: str | None = None  # biz_opaque_callback_data: ties a status to our outbox
    display_phone_number: str | None = None
    waba_id: str | None = None


@dataclass(frozen=True, slots=True)
class PreferenceEvent:
    """A customer's marketing preference change (stop / resume / signup): the policy gate obeys it."""

    phone_number_id: str
    contact_key: str
    category: str  # marketing_messages
    value: str  # stop | resume | signup | ...
    timestamp_ms: int
    received_at_ms: int
    envelope_sha256: str
    wa_id: str | None = None
    user_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class BusinessEvent:
    """Account, template, quality and name updates, and webhook-level errors (key = WABA id)."""

    event_id: str  # envelope hash + position: stable across retries of the same delivery
    field: str
    event: str  # e.g. ACCOUNT_RESTRICTION, APPROVED, FLAGGED, error
    timestamp_ms: int
    received_at_ms: int
    envelope_sha256: str
    waba_id: str | None = None
    phone_number_id: str | None = None
    subject: str | None = None  # template name, display number, ...
    error_code: int | None = None
    error_title: str | None = None
    payload_json: str | None = None


@dataclass(frozen=True, slots=True)
class IgnoredChange:
    """A webhook change that carries nothing to act on (an empty value): counted, not silently dropped."""

    field: str
    kind: str


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    messages: tuple[MessageEvent, ...] = ()
    statuses: tuple[StatusEvent, ...] = ()
    preferences: tuple[PreferenceEvent, ...] = ()
    business: tuple[BusinessEvent, ...] = ()
    ignored: tuple[IgnoredChange, ...] = ()

    @property
    def count(self) -> int:
        return len(self.messages) + len(self.statuses) + len(self.preferences) + len(self.business)


@dataclass(frozen=True, slots=True)
class CrmChange:
    change_id: str  # natural id: "hubspot:<eventId>", "<source>:<event_id>"
    system: str
    object_type: str  # contact | deal | order | company | ...
    object_id: str
    change: str  # created | updated | deleted | merged | restored | associated | stage_changed | order_placed
    key: str  # "<system>:<contact id>": a contact's changes, deals and orders stay in order
    occurred_at_ms: int
    received_at_ms: int
    envelope_sha256: str
    properties_json: str | None = None
    phone_raw: str | None = None
    phone_e164: str | None = None
    phone_keys: tuple[str, ...] = ()
    phone_error: str | None = None
    email: str | None = None
    name: str | None = None
    merged_ids: tuple[str, ...] = ()
    deal_stage: str | None = None
    contact_id: str | None = None
    order_id: str | None = None
    skus: tuple[str, ...] = ()
    amount: float | None = None
    currency: str | None = None


class SignalKind(StrEnum):
    MESSAGE = "message"
    STATUS = "status"
    PREFERENCE = "preference"
    TICK = "tick"  # advances event time on a partition (no contact)


@dataclass(frozen=True, slots=True)
class Signal:
    """One fact about a contact, in the order the contact's webhooks arrived: the automation
    stage's single input (messages, receipts and preferences on one topic, so a replay sees
    them in the same order). Built from the normalized events; ``event_id`` is their natural id."""

    kind: SignalKind
    event_id: str
    contact_key: str
    timestamp_ms: int
    phone_number_id: str = ""
    wamid: str | None = None
    wa_id: str | None = None
    phone_e164: str | None = None
    profile_name: str | None = None
    direction: str | None = None
    sender_kind: str | None = None
    agent_id: str | None = None
    message_type: str | None = None
    text: str | None = None
    status: str | None = None
    error_code: int | None = None
    category: str | None = None  # the status's conversation / pricing category
    value: str | None = None  # preference: stop | resume | signup


def message_signal(m: MessageEvent) -> Signal:
    return Signal(SignalKind.MESSAGE, m.wamid, m.contact_key, m.timestamp_ms, m.phone_number_id, wamid=m.wamid,
                  wa_id=m.wa_id, phone_e164=m.phone_e164, profile_name=m.profile_name, direction=m.direction.value,
                  sender_kind=m.sender_kind.value, agent_id=m.agent_id, message_type=m.message_type, text=m.text)


def status_signal(s: StatusEvent) -> Signal:
    return Signal(SignalKind.STATUS, f"{s.wamid}|{s.status_raw}", s.contact_key, s.timestamp_ms, s.phone_number_id,
                  wamid=s.wamid, wa_id=s.wa_id, phone_e164=s.phone_e164, status=s.status.value,
                  error_code=s.error_code, category=s.pricing_category or s.conversation_category)


def preference_signal(p: PreferenceEvent) -> Signal:
    return Signal(SignalKind.PREFERENCE, f"pref|{p.contact_key}|{p.category}|{p.value}|{p.timestamp_ms}",
                  p.contact_key, p.timestamp_ms, p.phone_number_id, wa_id=p.wa_id, category=p.category,
                  value=p.value)
