"""Everything the stream keeps per contact, and one message's effect on it. Pure.

* the current conversation (``processors.conversations``),
* the contact's count-rule windows for tagging (``processors.tagging``),
* the most recent messages (id, time, sender, text digest): a message seen again after a crash
  (at-least-once redelivery) changes nothing, and the same text from the same sender a few
  seconds apart (an agent's double send, a customer's double tap) is flagged ``near_duplicate``
  (a tag with the earlier message's id), not dropped;
* ``horizon_ms``, the latest event time among messages that dropped out of that window: a
  replayed message (``scrm replay``) at or before it that the window does not hold was applied
  before, and changes nothing either. Without it a replay re-applied every message of a contact
  with more than ``RECENT``, tagging and counting them again.

State is stored as compact JSON in a Faust table keyed by contact key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from processors.conversations import Conversation, ConversationRules, apply
from processors.events import Direction, MessageEvent
from processors.tagging import CountState, Match, RulePack, tag_text
from processors.textnorm import fold

RECENT = 32  # messages remembered per contact (redelivery guard and near-duplicate window)
NEAR_DUPLICATE_RULE = "near_duplicate"


@dataclass(frozen=True, slots=True)
class ContactState:
    contact_key: str
    conversation: Conversation | None = None
    # (wamid, ts ms, sender, text digest, rule ids it was tagged with, comma-separated; "?" unknown)
    recent: tuple[tuple[str, int, str, str, str], ...] = ()
    tag_counts: CountState = field(default_factory=dict)
    messages: int = 0
    horizon_ms: int = 0  # latest event time of a message no longer in ``recent`` (0: none dropped)


@dataclass(frozen=True, slots=True)
class Step:
    state: ContactState
    duplicate: bool = False  # seen before: the state did not change
    conversations: tuple[Conversation, ...] = ()  # rows to emit: a closed one first, then the current
    tags: tuple[Match, ...] = ()


def apply_message(state: ContactState | None, msg: MessageEvent, *, pack: RulePack, rules: ConversationRules,
                  zone: ZoneInfo, near_duplicate_ms: int = 10_000, replayed: bool = False) -> Step:
    """``replayed``: the message comes from ``scrm replay``, which re-sends messages already applied."""
    state = state or ContactState(msg.contact_key)
    seen = next((r for r in state.recent if r[0] == msg.wamid), None)
    if seen is None and replayed and msg.timestamp_ms <= state.horizon_ms:
        # applied long ago (it left the window since): nothing to change; its tag rows are not
        # given again (the rules' state then is gone), ClickHouse and ``scrm.tags`` have them
        current = (state.conversation,) if state.conversation is not None else ()
        return Step(state, duplicate=True, conversations=current)
    if seen is not None:
        # a redelivery changes nothing; its outputs are given again: the current conversation and
        # the tags it was given then (later messages can have filled a count window since, and a
        # replay must not tag an old message with what only holds now)
        current = (state.conversation,) if state.conversation is not None else ()
        return Step(state, duplicate=True, conversations=current, tags=_tags_again(state, msg, pack, seen[4]))
    sender = f"{msg.direction.value}|{msg.sender_kind.value}|{msg.agent_id or ''}"
    digest = hashlib.blake2b(fold(msg.text).encode(), digest_size=8).hexdigest() if msg.text else ""
    twin = _near_duplicate_of(state, msg.timestamp_ms, sender, digest, near_duplicate_ms)
    moved = apply(state.conversation, msg, rules, zone, near_duplicate=twin is not None)
    tags: list[Match] = []
    counts = state.tag_counts
    if msg.direction is Direction.INBOUND and msg.text:
        tagged = tag_text(pack, msg.text, wamid=msg.wamid, ts_ms=msg.timestamp_ms, counts=counts)
        tags.extend(tagged.matches)
        counts = tagged.counts
    if twin is not None:
        seconds = abs(msg.timestamp_ms - twin[1]) / 1000
        tags.append(Match(NEAR_DUPLICATE_RULE, NEAR_DUPLICATE_RULE, None,
                          f"same text from the same sender as {twin[0]} {seconds:g}s apart", "system", "1"))
    rule_ids = ",".join(m.rule_id for m in tags)
    recent = (*state.recent, (msg.wamid, msg.timestamp_ms, sender, digest, rule_ids))
    horizon = max((state.horizon_ms, *(r[1] for r in recent[:-RECENT])))
    new = replace(state, conversation=moved.current, recent=recent[-RECENT:], tag_counts=counts,
                  messages=state.messages + 1, horizon_ms=horizon)
    emitted = (moved.closed, moved.current) if moved.closed is not None else (moved.current,)
    return Step(new, conversations=emitted, tags=tuple(tags))


def _tags_again(state: ContactState, msg: MessageEvent, pack: RulePack, tagged: str) -> tuple[Match, ...]:
    rule_ids = None if tagged == "?" else set(tagged.split(",")) - {""}  # None: remembered before rule ids were
    near = (Match(NEAR_DUPLICATE_RULE, NEAR_DUPLICATE_RULE, None, "same text from the same sender (delivered again)",
                  "system", "1"),) if rule_ids and NEAR_DUPLICATE_RULE in rule_ids else ()
    if rule_ids is not None and not rule_ids - {NEAR_DUPLICATE_RULE}:
        return near  # no rule tag then: no tagging pass (a replay sees every message again)
    again = tag_text(pack, msg.text, wamid=msg.wamid, ts_ms=msg.timestamp_ms, counts=state.tag_counts).matches \
        if msg.direction is Direction.INBOUND and msg.text else ()
    return tuple(again) if rule_ids is None else tuple(m for m in again if m.rule_id in rule_ids) + near


def _near_duplicate_of(state: ContactState, ts: int, sender: str, digest: str,
                       window_ms: int) -> tuple[str, int, str, str, str] | None:
    if not digest:
        return None
    for r in reversed(state.recent):
        if r[2] == sender and r[3] == digest and abs(ts - r[1]) <= window_ms:
            return r
    return None


def dumps(state: ContactState) -> bytes:
    """Compact JSON; orjson writes the dataclasses directly (the same bytes as ``json.dumps(asdict(...))``,
    a twentieth of the time: bench/RESULTS.md)."""
    return orjson.dumps(state, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes) -> ContactState:
    raw: dict[str, Any] = json.loads(data)
    conv = raw.get("conversation")
    return ContactState(
        contact_key=raw["contact_key"],
        conversation=_conversation(conv) if conv else None,
        recent=tuple((r[0], r[1], r[2], r[3], r[4] if len(r) > 4 else "?") for r in raw.get("recent", ())),
        tag_counts={k: tuple((h[0], h[1], h[2]) for h in v) for k, v in raw.get("tag_counts", {}).items()},
        messages=raw.get("messages", 0),
        horizon_ms=raw["horizon_ms"] if "horizon_ms" in raw else _horizon_before(raw),
    )


def _horizon_before(raw: dict[str, Any]) -> int:
    """For a state stored before ``horizon_ms`` existed: just before the window's oldest message
    when messages have left the window (they arrived earlier, so almost always are older)."""
    times = [r[1] for r in raw.get("recent", ())]
    return min(times) - 1 if times and raw.get("messages", 0) > len(times) else 0


def _conversation(raw: dict[str, Any]) -> Conversation:
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return Conversation(**values)
