"""Conversation state per contact (DESIGN §5 conversation metrics). Pure; event time only.

A conversation starts with the first message after ``idle_ms`` of silence and ends (is closed)
when the next message comes after that much silence: ``resolved`` when the business had answered
everything, ``unanswered`` when the customer was still waiting. A customer who comes back within
``reopen_ms`` of a resolved conversation reopens it (``reopened_from``).

First response time: from the customer's first inbound of the conversation to the first business
reply after it, separately for automated replies (bot, template, campaign) and humans (an agent in
the inbox, or the WhatsApp Business app). Every later unanswered inbound starts a response cycle;
``responses``/``response_ms_total`` give the mean response time and rate. The 24-hour
customer-service window runs from the latest inbound.

Messages arriving out of order are placed by their Meta timestamps (first/last are min/max; an
inbound that arrives after the replies to it still gets its first response times), so the first
response times depend on the messages, not on arrival order. Response cycles after the first
follow arrival order. A replay delivers the same order, so it gives the same numbers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from processors.events import Direction, MessageEvent, SenderKind

HOUR_MS = 3_600_000
AUTOMATED = frozenset({SenderKind.BOT, SenderKind.TEMPLATE, SenderKind.CAMPAIGN})
HUMAN = frozenset({SenderKind.AGENT, SenderKind.BUSINESS_APP})
_EARLY = 8  # business messages before the first inbound kept per kind (the latest ones)


@dataclass(frozen=True, slots=True)
class ConversationRules:
    idle_ms: int = 24 * HOUR_MS  # silence that ends a conversation
    reopen_ms: int = 7 * 24 * HOUR_MS  # a new conversation this soon after a resolved one reopens it
    window_ms: int = 24 * HOUR_MS  # WhatsApp customer-service window after the latest inbound


@dataclass(frozen=True, slots=True)
class Conversation:
    conversation_id: str  # contact key + ":" + start time (ms): stable across replays
    contact_key: str
    phone_number_id: str
    started_ms: int
    initiated_by: str  # customer | business
    last_activity_ms: int
    status: str = "open"  # open | resolved | unanswered
    reopened_from: str | None = None
    first_inbound_ms: int | None = None
    last_inbound_ms: int | None = None
    last_outbound_ms: int | None = None
    last_reply_kind: str | None = None  # sender kind of the latest business message
    last_agent_id: str | None = None
    first_bot_reply_ms: int | None = None
    first_human_reply_ms: int | None = None
    awaiting_since_ms: int | None = None  # the customer's oldest unanswered inbound
    early_bot_ms: tuple[int, ...] = ()  # automated messages before the first inbound seen so far
    early_human_ms: tuple[int, ...] = ()  # (an inbound arriving late can turn them into replies)
    responses: int = 0
    response_ms_total: int = 0
    inbound: int = 0
    outbound_bot: int = 0
    outbound_human: int = 0
    near_duplicates: int = 0
    inbound_by_hour: tuple[int, ...] = (0,) * 24  # contact's local time
    inbound_by_weekday: tuple[int, ...] = (0,) * 7  # Monday = 0
    closed_ms: int | None = None
    version: int = 0  # messages applied: orders the rows of one conversation

    @property
    def bot_frt_ms(self) -> int | None:
        return _since(self.first_inbound_ms, self.first_bot_reply_ms)

    @property
    def human_frt_ms(self) -> int | None:
        return _since(self.first_inbound_ms, self.first_human_reply_ms)

    def window_expires_ms(self, rules: ConversationRules) -> int | None:
        return None if self.last_inbound_ms is None else self.last_inbound_ms + rules.window_ms


def _since(start: int | None, end: int | None) -> int | None:
    return None if start is None or end is None else end - start


def _min(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


def _max(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)


@dataclass(frozen=True, slots=True)
class Transition:
    current: Conversation
    closed: Conversation | None = None  # the previous conversation, ended by this message's gap


def apply(conv: Conversation | None, msg: MessageEvent, rules: ConversationRules, zone: ZoneInfo,
          *, near_duplicate: bool = False) -> Transition:
    """Apply one (already deduplicated) message to the contact's current conversation."""
    closed = None
    if conv is not None and msg.timestamp_ms > conv.last_activity_ms + rules.idle_ms:
        closed = close(conv)
        conv = None
    if conv is None:
        conv = _start(msg, closed, rules)
    conv = replace(conv, last_activity_ms=max(conv.last_activity_ms, msg.timestamp_ms), version=conv.version + 1,
                   near_duplicates=conv.near_duplicates + near_duplicate)
    conv = _inbound(conv, msg, zone) if msg.direction is Direction.INBOUND else _outbound(conv, msg)
    return Transition(conv, closed)


def close(conv: Conversation) -> Conversation:
    status = "unanswered" if conv.awaiting_since_ms is not None else "resolved"
    return replace(conv, status=status, closed_ms=conv.last_activity_ms, version=conv.version + 1)


def _start(msg: MessageEvent, previous: Conversation | None, rules: ConversationRules) -> Conversation:
    inbound = msg.direction is Direction.INBOUND
    reopened = (previous is not None and inbound and previous.status == "resolved"
                and msg.timestamp_ms - previous.last_activity_ms <= rules.reopen_ms)
    return Conversation(conversation_id=f"{msg.contact_key}:{msg.timestamp_ms}", contact_key=msg.contact_key,
                        phone_number_id=msg.phone_number_id, started_ms=msg.timestamp_ms,
                        initiated_by="customer" if inbound else "business", last_activity_ms=msg.timestamp_ms,
                        reopened_from=previous.conversation_id if reopened and previous else None)


def _inbound(conv: Conversation, msg: MessageEvent, zone: ZoneInfo) -> Conversation:
    ts = msg.timestamp_ms
    local = datetime.fromtimestamp(ts / 1000, UTC).astimezone(zone)
    by_hour = list(conv.inbound_by_hour)
    by_hour[local.hour] += 1
    by_weekday = list(conv.inbound_by_weekday)
    by_weekday[local.weekday()] += 1
    # an inbound older than a reply already seen was answered by it: it opens no new wait
    answered = conv.last_outbound_ms is not None and conv.last_outbound_ms >= ts and conv.responses > 0
    awaiting = conv.awaiting_since_ms
    if not answered:
        awaiting = _min(awaiting, ts)
    conv = replace(conv, inbound=conv.inbound + 1, last_inbound_ms=_max(conv.last_inbound_ms, ts),
                   awaiting_since_ms=awaiting, inbound_by_hour=tuple(by_hour), inbound_by_weekday=tuple(by_weekday))
    if conv.first_inbound_ms is not None and conv.first_inbound_ms <= ts:
        return conv
    # a new first inbound: business messages seen before it may now be replies to it
    return replace(conv, first_inbound_ms=ts, started_ms=min(conv.started_ms, ts),
                   initiated_by="customer" if ts <= conv.started_ms else conv.initiated_by,
                   first_bot_reply_ms=_first_reply(conv.first_bot_reply_ms, conv.early_bot_ms, ts),
                   first_human_reply_ms=_first_reply(conv.first_human_reply_ms, conv.early_human_ms, ts),
                   early_bot_ms=tuple(t for t in conv.early_bot_ms if t < ts),
                   early_human_ms=tuple(t for t in conv.early_human_ms if t < ts))


def _first_reply(known: int | None, early: tuple[int, ...], first_inbound: int) -> int | None:
    after = [t for t in early if t >= first_inbound]
    if known is not None:
        after.append(known)
    return min(after) if after else None


def _outbound(conv: Conversation, msg: MessageEvent) -> Conversation:
    ts, kind = msg.timestamp_ms, msg.sender_kind
    automated = kind in AUTOMATED
    human = kind in HUMAN or not automated  # an unknown business sender is treated as a person
    changes: dict[str, object] = {"last_outbound_ms": _max(conv.last_outbound_ms, ts)}
    if conv.last_outbound_ms is None or ts >= conv.last_outbound_ms:
        changes["last_reply_kind"] = kind.value
        changes["last_agent_id"] = msg.agent_id if human else conv.last_agent_id
    if automated:
        changes["outbound_bot"] = conv.outbound_bot + 1
    else:
        changes["outbound_human"] = conv.outbound_human + 1
    if conv.first_inbound_ms is not None and ts >= conv.first_inbound_ms:
        if automated:
            changes["first_bot_reply_ms"] = _min(conv.first_bot_reply_ms, ts)
        else:
            changes["first_human_reply_ms"] = _min(conv.first_human_reply_ms, ts)
    elif automated:
        changes["early_bot_ms"] = tuple(sorted((*conv.early_bot_ms, ts)))[-_EARLY:]
    else:
        changes["early_human_ms"] = tuple(sorted((*conv.early_human_ms, ts)))[-_EARLY:]
    if conv.awaiting_since_ms is not None and ts >= conv.awaiting_since_ms:
        changes["responses"] = conv.responses + 1
        changes["response_ms_total"] = conv.response_ms_total + ts - conv.awaiting_since_ms
        changes["awaiting_since_ms"] = None
    return replace(conv, **changes)  # type: ignore[arg-type]
