"""Receipt state per message: states only move forward (DESIGN §4). Pure.

sent < delivered < read < played; ``failed`` is terminal and keeps its error code and title; a
``read`` implies ``delivered``. Every status keeps its own (Meta) timestamp when it arrives, so
``read`` before ``sent`` and ``delivered`` still ends as ``read`` with all three times. A status
that would move the state backwards is absorbed and counted as a prevented regression. The result
depends on the set of statuses, not on their arrival order (replays give the same state)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from processors.events import StatusEvent, StatusKind

RANK = {StatusKind.SENT: 1, StatusKind.DELIVERED: 2, StatusKind.READ: 3, StatusKind.PLAYED: 4}
_TIME_FIELD = {StatusKind.SENT: "sent_ms", StatusKind.DELIVERED: "delivered_ms", StatusKind.READ: "read_ms",
               StatusKind.PLAYED: "played_ms", StatusKind.FAILED: "failed_ms", StatusKind.DELETED: "deleted_ms"}


@dataclass(frozen=True, slots=True)
class ReceiptState:
    wamid: str
    contact_key: str
    state: StatusKind
    updated_ms: int  # Meta time of the status that set ``state``
    sent_ms: int | None = None
    delivered_ms: int | None = None
    read_ms: int | None = None
    played_ms: int | None = None
    failed_ms: int | None = None
    deleted_ms: int | None = None
    error_code: int | None = None
    error_title: str | None = None
    regressions_prevented: int = 0
    version: int = 0  # changes applied: orders this message's state rows

    @property
    def rank(self) -> int:
        return 5 if self.state is StatusKind.FAILED else RANK.get(self.state, 0)

    @property
    def delivered(self) -> bool:
        """Delivered, or later (a read implies delivery even when its receipt never came)."""
        return RANK.get(self.state, 0) >= RANK[StatusKind.DELIVERED]


@dataclass(frozen=True, slots=True)
class Applied:
    state: ReceiptState
    changed: bool  # the state (or a kept timestamp) changed: emit the new state
    regression: bool  # the status would have moved the state backwards


def apply_status(current: ReceiptState | None, ev: StatusEvent) -> Applied:
    applied = _apply(current, ev)
    if applied.changed:
        return Applied(replace(applied.state, version=applied.state.version + 1), True, applied.regression)
    return applied


def _apply(current: ReceiptState | None, ev: StatusEvent) -> Applied:
    if current is None:
        current = ReceiptState(wamid=ev.wamid, contact_key=ev.contact_key, state=StatusKind.UNKNOWN,
                               updated_ms=ev.timestamp_ms)
    times = _keep_time(current, ev)
    if ev.status is StatusKind.DELETED or ev.status is StatusKind.UNKNOWN:
        return Applied(times, times != current, False)
    if current.state is StatusKind.FAILED:
        regression = ev.status is not StatusKind.FAILED
        return _result(current, times, regression)
    if ev.status is StatusKind.FAILED:
        if RANK.get(current.state, 0) >= RANK[StatusKind.READ]:  # read can't fail afterwards
            return _result(current, times, True)
        new = replace(times, state=StatusKind.FAILED, updated_ms=ev.timestamp_ms, error_code=ev.error_code,
                      error_title=ev.error_title)
        return Applied(new, True, False)
    rank, current_rank = RANK[ev.status], RANK.get(current.state, 0)
    if rank > current_rank:
        return Applied(replace(times, state=ev.status, updated_ms=ev.timestamp_ms), True, False)
    return _result(current, times, rank < current_rank)


def _keep_time(state: ReceiptState, ev: StatusEvent) -> ReceiptState:
    """Record the status's own time; for duplicates keep the earliest (Meta time, not arrival)."""
    field = _TIME_FIELD.get(ev.status)
    if field is None:
        return state
    known = getattr(state, field)
    if known is not None and known <= ev.timestamp_ms:
        return state
    changes: dict[str, int | None] = {field: ev.timestamp_ms}
    return replace(state, **changes)  # type: ignore[arg-type]


def _result(current: ReceiptState, times: ReceiptState, regression: bool) -> Applied:
    # counted once per status: the same status again (a redelivery) brings no new time
    regression = regression and times != current
    new = replace(times, regressions_prevented=times.regressions_prevented + regression)
    return Applied(new, times != current or regression, regression)


def dumps(state: ReceiptState) -> bytes:
    """Compact JSON for the receipt-state table."""
    raw = {name: getattr(state, name) for name in ReceiptState.__dataclass_fields__}
    raw["state"] = state.state.value
    return json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes) -> ReceiptState:
    raw = json.loads(data)
    known = {k: v for k, v in raw.items() if k in ReceiptState.__dataclass_fields__}
    return ReceiptState(**{**known, "state": StatusKind(known["state"])})
