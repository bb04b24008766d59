"""The sender's outbox entry for one ``action_id``, and the rule for what a redelivered command
means. Pure.

Life of an entry: ``pending`` (recorded, durable, not yet tried) -> ``attempting`` (durable just
before the HTTP request) -> ``sent`` | ``failed``; or straight to ``dry_run``, ``skipped`` (side
effects off), ``expired`` (too old to send now) or ``held`` (the number's account is stopped).

A command seen again (a restart before its offset was committed, a replay) finds its entry:

* terminal and reported: a duplicate, nothing happens;
* terminal but not reported (crash between recording and publishing the result): publish again;
* ``pending``: the crash came before the request, so it is sent now (exactly once);
* ``attempting``: the crash came during the request, which may have reached WhatsApp. It becomes
  ``in_doubt`` and is *not* sent again (at most once); its status webhooks, if any, still tie back
  through ``biz_opaque_callback_data`` = action_id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any


class State(StrEnum):
    PENDING = "pending"
    ATTEMPTING = "attempting"
    SENT = "sent"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"
    HELD = "held"
    EXPIRED = "expired"
    DRY_RUN = "dry_run"
    SKIPPED = "skipped"


TERMINAL = frozenset({State.SENT, State.FAILED, State.IN_DOUBT, State.HELD, State.EXPIRED, State.DRY_RUN,
                      State.SKIPPED})


class Redelivery(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    REPORT_AGAIN = "report_again"
    RESUME = "resume"  # pending: send now
    IN_DOUBT = "in_doubt"  # attempting: never resend


@dataclass(frozen=True, slots=True)
class Entry:
    action_id: str
    state: State
    recorded_ms: int
    updated_ms: int
    attempts: int = 0
    wamid: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_class: str | None = None
    detail: str | None = None
    reported: bool = False

    def moved(self, state: State, now_ms: int, **changes: Any) -> Entry:
        return replace(self, state=state, updated_ms=now_ms, reported=False, **changes)

    def dumps(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def loads(cls, doc: dict[str, Any]) -> Entry:
        return cls(**{**doc, "state": State(doc["state"])})


def on_command(entry: Entry | None) -> Redelivery:
    if entry is None:
        return Redelivery.NEW
    if entry.state in TERMINAL:
        return Redelivery.DUPLICATE if entry.reported else Redelivery.REPORT_AGAIN
    if entry.state == State.PENDING:
        return Redelivery.RESUME
    return Redelivery.IN_DOUBT

