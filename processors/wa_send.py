"""WhatsApp Cloud API sends, the pure half: the request body for an outbound command, what an
error code means for the sender, and pacing (per-number throughput, per-recipient spacing).

Error classes follow Meta's guidance to build on ``error.code`` (not titles, not HTTP status):

``retry``      transient (1, 2, 4, 80007, 130429, 131000, 131016, 131057, 133004): the message was
               not sent; try again after a back-off.
``pair_pace``  131056, too many messages to this recipient: wait, then retry this recipient only.
``recipient``  permanent for this recipient or message (not on WhatsApp, window closed, marketing
               limit for this user, ...): never retried.
``request``    the request itself is wrong (bad parameter, template missing or paused, ...): fix the
               template/automation; retrying the same request cannot work.
``account``    the account or app cannot send (token, permissions, payment, account locked, spam
               limit): stop sending from this number and alert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from processors.errors import InvalidEvent


class ErrorClass(StrEnum):
    RETRY = "retry"
    PAIR_PACE = "pair_pace"
    RECIPIENT = "recipient"
    REQUEST = "request"
    ACCOUNT = "account"


RETRY_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131057, 133004})
PAIR_RATE_LIMIT = 131056
RECIPIENT_CODES = frozenset({131026, 131047, 131049, 131050, 131051, 131021, 130472, 131030, 137000})
ACCOUNT_CODES = frozenset({0, 3, 10, 190, 131005, 131031, 368, 131042, 131045, 131048, 133010})
REQUEST_CODES = frozenset({33, 100, 131008, 131009, 131052, 131053, 132000, 132001, 132005, 132007,
                           132012, 132015, 132016, 132068, 132069})


def classify(code: int | None, http_status: int | None) -> ErrorClass:
    """What to do after an error response. Unknown codes: 5xx and 429 retry, other 4xx are request errors."""
    if code is not None:
        if code == PAIR_RATE_LIMIT:
            return ErrorClass.PAIR_PACE
        if code in RETRY_CODES:
            return ErrorClass.RETRY
        if code in RECIPIENT_CODES:
            return ErrorClass.RECIPIENT
        if code in ACCOUNT_CODES or 200 <= code <= 299:  # 200-299: permission errors
            return ErrorClass.ACCOUNT
        if code in REQUEST_CODES:
            return ErrorClass.REQUEST
    if http_status is not None and (http_status >= 500 or http_status == 429):
        return ErrorClass.RETRY
    if http_status in (401, 403):
        return ErrorClass.ACCOUNT
    return ErrorClass.REQUEST


@dataclass(frozen=True, slots=True)
class SendCommand:
    """An OutboundCommand as the sender needs it."""

    action_id: str
    contact_key: str
    phone_number_id: str
    to: str | None
    kind: str  # template | text | interactive
    category: str
    rule_id: str
    created_at_ms: int
    template: str | None = None
    language: str | None = None
    text: str | None = None
    payload_json: str | None = None  # template components (a list) or the interactive object
    effects_off: bool = False  # from a replay run without side effects: recorded as skipped, never sent


def request_body(cmd: SendCommand) -> dict[str, Any]:
    """The JSON body of ``POST /{version}/{phone_number_id}/messages``. ``biz_opaque_callback_data``
    carries the action id, so the message's status webhooks tie back to the outbox."""
    if not cmd.to:
        raise InvalidEvent("no_recipient", f"action {cmd.action_id} has no wa_id to send to")
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": cmd.to,
                            "biz_opaque_callback_data": cmd.action_id}
    payload = _payload(cmd)
    if cmd.kind == "text":
        if not cmd.text:
            raise InvalidEvent("no_text", f"text action {cmd.action_id} has no text")
        body.update(type="text", text={"preview_url": False, "body": cmd.text})
    elif cmd.kind == "template":
        if not cmd.template or not cmd.language:
            raise InvalidEvent("no_template", f"template action {cmd.action_id} needs a template name and language")
        template: dict[str, Any] = {"name": cmd.template, "language": {"code": cmd.language}}
        if payload is not None:
            if not isinstance(payload, list):
                raise InvalidEvent("bad_components", "template components must be a JSON list")
            template["components"] = payload
        body.update(type="template", template=template)
    elif cmd.kind == "interactive":
        if not isinstance(payload, dict) or "type" not in payload:
            raise InvalidEvent("bad_interactive", "an interactive action needs an interactive object with a type")
        body.update(type="interactive", interactive=payload)
    else:
        raise InvalidEvent("unknown_kind", f"cannot send kind {cmd.kind[:20]!r} (template, text or interactive)")
    return body


def _payload(cmd: SendCommand) -> Any:
    if cmd.payload_json is None:
        return None
    try:
        return json.loads(cmd.payload_json)
    except ValueError as exc:
        raise InvalidEvent("bad_payload", f"payload_json of {cmd.action_id} is not JSON: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ApiError:
    code: int | None
    title: str | None
    details: str | None


def parse_error(body: bytes) -> ApiError:
    """The Graph API error object ``{"error": {"code", "message", "error_data": {"details"}}}``."""
    try:
        doc = json.loads(body)
        err = doc.get("error") if isinstance(doc, dict) else None
    except ValueError:
        err = None
    if not isinstance(err, dict):
        return ApiError(None, body[:200].decode("utf-8", "replace") or None, None)
    code = err.get("code")
    data = err.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    if isinstance(code, str) and code.strip().isdigit():  # some relays send the code as text
        code = int(code)
    return ApiError(code if isinstance(code, int) and not isinstance(code, bool) else None,
                    str(err.get("message") or err.get("type") or "") or None, str(details) if details else None)


def sent_wamid(body: bytes) -> str | None:
    """``{"messages": [{"id": "wamid..."}]}`` -> the wamid, or None."""
    try:
        doc = json.loads(body)
        return str(doc["messages"][0]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


@dataclass
class Pacer:
    """When the next send may go: at most ``per_number_mps`` per business number (token bucket
    with ``burst``), recipients spaced ``recipient_gap_ms`` apart, and back-offs after 130429 and
    131056. Times are milliseconds from the caller's clock."""

    per_number_mps: float = 20.0
    burst: int = 20
    recipient_gap_ms: int = 6_000
    _tokens: dict[str, tuple[float, int]] = field(default_factory=dict)  # number -> (tokens, at)
    _next_for_recipient: dict[tuple[str, str], int] = field(default_factory=dict)
    _number_blocked_until: dict[str, int] = field(default_factory=dict)

    def wait_ms(self, number: str, recipient: str, now_ms: int) -> int:
        tokens = self._refill(number, now_ms)
        number_wait = 0 if tokens >= 1 else int((1 - tokens) / self.per_number_mps * 1000) + 1
        blocked = self._number_blocked_until.get(number, 0) - now_ms
        recipient_wait = self._next_for_recipient.get((number, recipient), 0) - now_ms
        return max(0, number_wait, blocked, recipient_wait)

    def sent(self, number: str, recipient: str, now_ms: int) -> None:
        tokens = self._refill(number, now_ms)
        self._tokens[number] = (tokens - 1, now_ms)
        self._next_for_recipient[(number, recipient)] = now_ms + self.recipient_gap_ms
        if len(self._next_for_recipient) > 50_000:  # forget recipients whose gap is over
            self._next_for_recipient = {k: v for k, v in self._next_for_recipient.items() if v > now_ms}

    def back_off_number(self, number: str, until_ms: int) -> None:
        self._number_blocked_until[number] = max(until_ms, self._number_blocked_until.get(number, 0))

    def back_off_recipient(self, number: str, recipient: str, until_ms: int) -> None:
        key = (number, recipient)
        self._next_for_recipient[key] = max(until_ms, self._next_for_recipient.get(key, 0))

    def _refill(self, number: str, now_ms: int) -> float:
        tokens, at = self._tokens.get(number, (float(self.burst), now_ms))
        tokens = min(float(self.burst), tokens + max(0, now_ms - at) / 1000 * self.per_number_mps)
        self._tokens[number] = (tokens, now_ms)
        return tokens
