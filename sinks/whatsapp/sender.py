"""The WhatsApp sender: each ``action_id`` is sent at most once, across crashes, restarts and
replays (``processors.outbox`` explains the entry states).

Durability order for one command: the ``pending`` entry is made durable (table write + producer
flush) before anything else; ``attempting`` is durable before the HTTP request; the outcome is
durable before it is published (``outbound.sends`` and, for a real send, the message itself on
the raw topic); ``reported`` is set after the publish is durable. The outbox and the I/O are
injected, so the same class runs in the worker (a Faust table) and in tests.

With ``defer_reports`` the outcomes wait in ``unreported`` until ``settle``, which makes them all
durable, publishes them and flushes once for the lot: the worker settles once per batch of
commands, so a dry run or a replay without side effects costs two flushes per batch instead of
two per command. ``attempting`` is still flushed before each HTTP request."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from processors.errors import InvalidEvent
from processors.outbox import Entry, Redelivery, State, on_command
from processors.wa_send import PAIR_RATE_LIMIT, ErrorClass, Pacer, SendCommand, classify, request_body
from sinks.effect_log import EffectLog
from sinks.whatsapp.cloud_api import SendResponse

logger = logging.getLogger(__name__)
THROUGHPUT_LIMIT = 130429


class Mode(StrEnum):
    LIVE = "live"  # really send
    DRY_RUN = "dry_run"  # record what would be sent, send nothing
    OFF = "off"  # side effects off (replays): record the command as skipped


@dataclass(frozen=True, slots=True)
class SenderConfig:
    mode: Mode = Mode.DRY_RUN
    max_attempts: int = 5
    max_backoff_s: float = 30.0
    max_age_s: float = 3600.0  # a command decided longer ago than this is not sent (replays, long outages)
    account_pause_s: float = 3600.0  # after an account-level error, the number sends nothing for this long


class Api(Protocol):
    async def send(self, phone_number_id: str, body: dict[str, Any]) -> SendResponse: ...


@dataclass
class SenderStats:
    sent: int = 0
    failed: int = 0
    in_doubt: int = 0
    duplicates: int = 0
    retries: int = 0
    dry_run: int = 0
    skipped: int = 0
    expired: int = 0
    held: int = 0


class Sender:
    def __init__(self, outbox: EffectLog, *, durable: Callable[[], Awaitable[None]],
                 publish: Callable[[SendCommand, Entry], Awaitable[None]], api: Api | None, config: SenderConfig,
                 clock_ms: Callable[[], int], pacer: Pacer | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 failpoint: Callable[[str], None] = lambda name: None, rng: random.Random | None = None,
                 defer_reports: bool = False) -> None:
        if config.mode == Mode.LIVE and api is None:
            raise ValueError("live mode needs a Cloud API client")
        self.outbox, self.durable, self.publish, self.api = outbox, durable, publish, api
        self.config, self.clock_ms, self.sleep, self.failpoint = config, clock_ms, sleep, failpoint
        self.pacer = pacer or Pacer()
        self.rng = rng or random.Random()
        self.stats = SenderStats()
        self._paused_until: dict[str, int] = {}  # phone_number_id -> ms (account-level stop)
        self.defer_reports = defer_reports
        self.unreported: dict[str, tuple[SendCommand, Entry]] = {}  # action_id -> outcome written, not published

    async def handle(self, cmd: SendCommand) -> Entry:
        entry = self._load(cmd.action_id)
        step = on_command(entry)
        if step == Redelivery.DUPLICATE or (entry is not None and entry.action_id in self.unreported):
            self.stats.duplicates += 1
            assert entry is not None
            return entry
        if step == Redelivery.REPORT_AGAIN:
            assert entry is not None
            return await self._report(cmd, entry)
        now = self.clock_ms()
        if step == Redelivery.IN_DOUBT:
            assert entry is not None
            logger.warning("action %s was being sent when the worker stopped; not sending it again (in doubt)",
                           cmd.action_id)
            return await self._finish(cmd, entry.moved(State.IN_DOUBT, now, detail="worker stopped during the request"))
        if entry is None:
            entry = Entry(cmd.action_id, State.PENDING, recorded_ms=now, updated_ms=now)
            final = self._without_sending(cmd, entry, now)
            if final is not None:
                return await self._finish(cmd, final)
            await self._save(entry)
            self.failpoint("outbox.recorded")
        return await self._send(cmd, entry)

    def _without_sending(self, cmd: SendCommand, entry: Entry, now: int) -> Entry | None:
        """The terminal entry of a command that will not be sent, or None to send it."""
        if self.config.mode == Mode.OFF:
            return entry.moved(State.SKIPPED, now, detail="side effects off")
        if cmd.effects_off:
            return entry.moved(State.SKIPPED, now, detail="replayed without side effects")
        try:
            request_body(cmd)
        except InvalidEvent as exc:
            return entry.moved(State.FAILED, now, error_class=ErrorClass.REQUEST.value, detail=str(exc))
        if self.config.mode == Mode.DRY_RUN:
            return entry.moved(State.DRY_RUN, now, detail="dry run: not sent")
        age_s = (now - cmd.created_at_ms) / 1000
        if age_s > self.config.max_age_s:
            limit = self.config.max_age_s
            return entry.moved(State.EXPIRED, now, detail=f"decided {age_s:.0f}s ago (limit {limit:.0f}s)")
        paused = self._paused_until.get(cmd.phone_number_id, 0)
        if paused > now:
            left_s = (paused - now) // 1000
            return entry.moved(State.HELD, now, detail=f"number paused after an account error for {left_s}s")
        return None

    async def _send(self, cmd: SendCommand, entry: Entry) -> Entry:
        assert self.api is not None and cmd.to is not None
        body = request_body(cmd)
        while True:
            wait_ms = self.pacer.wait_ms(cmd.phone_number_id, cmd.to, self.clock_ms())
            if wait_ms:
                await self.sleep(wait_ms / 1000)
            entry = entry.moved(State.ATTEMPTING, self.clock_ms(), attempts=entry.attempts + 1)
            await self._save(entry)
            self.failpoint("outbox.attempting")
            response = await self.api.send(cmd.phone_number_id, body)
            now = self.clock_ms()
            if response.wamid or response.ambiguous:  # a message went out (or may have): pace the next one
                self.pacer.sent(cmd.phone_number_id, cmd.to, now)
            if response.wamid:
                self.failpoint("outbox.sent_unrecorded")
                return await self._finish(cmd, entry.moved(State.SENT, now, wamid=response.wamid, error_code=None,
                                                             error_title=None, error_class=None))
            if response.ambiguous:
                return await self._finish(cmd, entry.moved(State.IN_DOUBT, now, detail=response.transport_error))
            error = response.error
            code = error.code if error else None
            cls = ErrorClass.RETRY if error is None else classify(code, response.http_status)
            title = (error.title if error else response.transport_error) or None
            failed = entry.moved(State.FAILED, now, error_code=code, error_title=title, error_class=cls.value,
                                 detail=error.details if error else response.transport_error)
            if cls == ErrorClass.ACCOUNT:
                self._paused_until[cmd.phone_number_id] = now + int(self.config.account_pause_s * 1000)
                logger.error("WhatsApp refused number %s at account level (code %s: %s); pausing its sends for %.0fs",
                             cmd.phone_number_id, code, title, self.config.account_pause_s)
                return await self._finish(cmd, failed)
            if cls not in (ErrorClass.RETRY, ErrorClass.PAIR_PACE) or entry.attempts >= self.config.max_attempts:
                return await self._finish(cmd, failed)
            delay = self._backoff(entry.attempts, response.retry_after_s)
            if code == PAIR_RATE_LIMIT:
                self.pacer.back_off_recipient(cmd.phone_number_id, cmd.to, now + int(delay * 1000))
            elif code == THROUGHPUT_LIMIT:
                self.pacer.back_off_number(cmd.phone_number_id, now + int(delay * 1000))
            else:
                await self.sleep(delay)
            self.stats.retries += 1
            logger.info("send of %s failed (%s, code %s), retry %d in %.1fs", cmd.action_id, cls.value, code,
                        entry.attempts, delay)
            entry = entry.moved(State.PENDING, now, error_code=code, error_title=title, error_class=cls.value)
            await self._save(entry)  # not sent: the request was answered with an error

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        base: float = min(self.config.max_backoff_s, 0.5 * 2.0 ** min(attempt, 10)) * (0.5 + self.rng.random() / 2)
        return max(base, retry_after_s or 0.0)

    async def _finish(self, cmd: SendCommand, entry: Entry) -> Entry:
        self.outbox[entry.action_id] = entry.dumps()  # durable in ``settle`` before it is published
        return await self._report(cmd, entry)

    async def _report(self, cmd: SendCommand, entry: Entry) -> Entry:
        self.unreported[entry.action_id] = (cmd, entry)
        if self.defer_reports:
            return entry
        return (await self.settle())[0]

    async def settle(self) -> list[Entry]:
        """Publish the outcomes waiting in ``unreported``: they are made durable first, the published
        records next, then each is marked ``reported`` (durable with the next flush or commit)."""
        if not self.unreported:
            return []
        outcomes = list(self.unreported.values())
        await self.durable()
        for cmd, entry in outcomes:
            await self.publish(cmd, entry)
        await self.durable()
        self.unreported.clear()
        reported = []
        for _, entry in outcomes:
            entry = replace(entry, reported=True)
            self.outbox[entry.action_id] = entry.dumps()
            counter = {State.SENT: "sent", State.FAILED: "failed", State.IN_DOUBT: "in_doubt",
                       State.DRY_RUN: "dry_run", State.SKIPPED: "skipped", State.EXPIRED: "expired",
                       State.HELD: "held"}.get(entry.state)
            if counter:
                setattr(self.stats, counter, getattr(self.stats, counter) + 1)
            reported.append(entry)
        return reported

    def _load(self, action_id: str) -> Entry | None:
        doc = self.outbox.get(action_id)
        return Entry.loads(doc) if doc is not None else None

    async def _save(self, entry: Entry) -> None:
        self.outbox[entry.action_id] = entry.dumps()
        await self.durable()

