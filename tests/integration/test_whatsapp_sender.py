"""The WhatsApp sender over real HTTP against the local Cloud API contract server: request shapes,
retry classes, pacing, the outbox's crash states, dry run. The outbox here is a dict; the worker's
(a Faust table) is exercised by tests/e2e/test_sender.py."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from processors.outbox import Entry, State
from processors.wa_send import ErrorClass, SendCommand, classify, parse_error
from sinks.whatsapp.cloud_api import CloudApi
from sinks.whatsapp.sender import Mode, Sender, SenderConfig
from tests.vendors.whatsapp_cloud import CloudApiServer, CloudApiState

PNID = "109876543210001"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "whatsapp"


@pytest.fixture
def server() -> Iterator[CloudApiServer]:
    with CloudApiServer(CloudApiState(token="tok")) as s:
        yield s


def cmd(action_id: str, to: str = "85291230000", kind: str = "template", **kw) -> SendCommand:
    base = {"template": "coupon_10", "language": "zh_HK"} if kind == "template" else {"text": "運費：滿 HK$300 免運費"}
    return SendCommand(action_id=action_id, contact_key=f"{PNID}:{to}", phone_number_id=PNID, to=to, kind=kind,
                       category="marketing", rule_id="high_intent_coupon", created_at_ms=int(time.time() * 1000),
                       **{**base, **kw})


class Harness:
    def __init__(self, url: str, mode: Mode = Mode.LIVE, timeout_s: float = 5.0, defer: bool = False,
                 **config) -> None:
        self.outbox: dict[str, dict] = {}
        self.published: list[tuple[str, Entry]] = []
        self.flushes = 0
        self.log: list[str] = []  # flushes and publishes in order
        self.slept: list[float] = []
        self.api = CloudApi("tok", base_url=url, timeout_s=timeout_s) if mode == Mode.LIVE else None
        self.sender = Sender(self.outbox, durable=self._durable, publish=self._publish, api=self.api,
                             config=SenderConfig(mode=mode, **config), clock_ms=lambda: int(time.time() * 1000),
                             sleep=self._sleep, defer_reports=defer)

    async def _durable(self) -> None:
        self.flushes += 1
        self.log.append("flush")

    async def _publish(self, c: SendCommand, e: Entry) -> None:
        self.published.append((c.action_id, e))
        self.log.append(f"publish {c.action_id}")

    async def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(min(seconds, 3.0))

    def run(self, *commands: SendCommand) -> list[Entry]:
        async def go() -> list[Entry]:
            try:
                return [await self.sender.handle(c) for c in commands]
            finally:
                if self.api:
                    await self.api.aclose()
        return asyncio.run(go())


def test_template_with_components_text_and_interactive_are_sent_once_with_the_action_id_as_callback(server):
    h = Harness(server.url)
    components = json.dumps([{"type": "body", "parameters": [{"type": "text", "text": "SAVE10"}]}])
    interactive = json.dumps({"type": "button", "body": {"text": "需要幫忙嗎？"},
                              "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "要"}}]}})
    entries = h.run(cmd("a1", payload_json=components), cmd("a2", to="5215512345678", kind="text"),
                    cmd("a3", to="818012345678", kind="interactive", payload_json=interactive),
                    cmd("a1", payload_json=components))  # the same action again: a duplicate
    assert [e.state for e in entries] == [State.SENT] * 4
    assert len(server.state.sends) == 3 and server.state.requests == 3
    first = server.state.sends[0]
    assert first["body"]["template"] == {"name": "coupon_10", "language": {"code": "zh_HK"},
                                         "components": [{"type": "body", "parameters": [{"type": "text",
                                                                                         "text": "SAVE10"}]}]}
    assert [s["body"]["biz_opaque_callback_data"] for s in server.state.sends] == ["a1", "a2", "a3"]
    assert entries[0].wamid == first["wamid"] and entries[3].wamid == first["wamid"]
    assert h.sender.stats.duplicates == 1 and [a for a, _ in h.published] == ["a1", "a2", "a3"]
    assert all(h.outbox[a]["reported"] for a in ("a1", "a2", "a3"))


def test_retryable_errors_are_retried_with_back_off_and_retry_after_permanent_ones_are_not(server):
    server.state.fail_next(131000, http_status=500)
    server.state.fail_next(130429, retry_after="2")
    h = Harness(server.url, max_backoff_s=0.2)
    [entry] = h.run(cmd("r1"))
    assert entry.state == State.SENT and entry.attempts == 3
    # Retry-After honoured, measured where it matters, at the server: the accepted send came at least 2 s after
    # the 130429 answer (the sender's own sleep is a few ms shorter, as it counts from the response's arrival)
    [(_, throttled_at)] = [f for f in server.state.failed_at if f[0] == 130429]
    assert server.state.sends[-1]["at"] - throttled_at >= 2.0

    server.state.fail_next(131026)
    server.state.fail_next(132001)
    [undeliverable, no_template] = Harness(server.url).run(cmd("p1"), cmd("p2", to="85291230001"))
    assert (undeliverable.state, undeliverable.error_class, undeliverable.attempts) == (State.FAILED, "recipient", 1)
    assert (no_template.error_code, no_template.error_class) == (132001, "request")


def test_retries_are_bounded(server):
    server.state.fail_next(2, times=10, http_status=503)
    [entry] = Harness(server.url, max_attempts=3, max_backoff_s=0.05).run(cmd("b1"))
    assert (entry.state, entry.attempts, entry.error_code) == (State.FAILED, 3, 2)
    assert server.state.requests == 3


def test_an_account_level_error_holds_the_number(server):
    server.state.fail_next(131031)
    entries = Harness(server.url).run(cmd("x1"), cmd("x2", to="85291230001"))
    assert [e.state for e in entries] == [State.FAILED, State.HELD]
    assert entries[0].error_class == "account" and server.state.requests == 1


def test_pair_rate_limit_paces_the_same_recipient(server):
    server.state.pair_gap_s = 0.3
    h = Harness(server.url, max_backoff_s=0.4)
    h.sender.pacer.recipient_gap_ms = 0  # let the server's 131056 do the pacing
    entries = h.run(cmd("q1"), cmd("q2"))
    assert [e.state for e in entries] == [State.SENT, State.SENT]
    assert entries[1].attempts >= 2 and entries[1].error_code is None
    assert len(server.state.sends) == 2


def test_a_timeout_is_in_doubt_and_never_resent(server):
    server.state.delay_next(1.5)
    h = Harness(server.url, timeout_s=0.5)
    entries = h.run(cmd("t1"), cmd("t1"))
    assert [e.state for e in entries] == [State.IN_DOUBT, State.IN_DOUBT]
    assert server.state.requests == 1 and h.sender.stats.duplicates == 1


def test_crash_states_pending_is_sent_once_attempting_is_in_doubt(server):
    h = Harness(server.url)
    now = int(time.time() * 1000)
    h.outbox["pend"] = Entry("pend", State.PENDING, now, now).dumps()
    h.outbox["att"] = Entry("att", State.ATTEMPTING, now, now, attempts=1).dumps()
    sent = Entry("done", State.SENT, now, now, attempts=1, wamid="wamid.X")
    h.outbox["done"] = sent.dumps()  # sent, but the worker stopped before publishing the result
    entries = h.run(cmd("pend"), cmd("att", to="85291230001"), cmd("done", to="85291230002"))
    assert [e.state for e in entries] == [State.SENT, State.IN_DOUBT, State.SENT]
    assert [s["body"]["biz_opaque_callback_data"] for s in server.state.sends] == ["pend"]
    assert [a for a, _ in h.published] == ["pend", "att", "done"]


def test_dry_run_off_expired_and_invalid_commands_send_nothing(server):
    assert Harness(server.url, mode=Mode.DRY_RUN).run(cmd("d1"))[0].state == State.DRY_RUN
    assert Harness(server.url, mode=Mode.OFF).run(cmd("o1"))[0].state == State.SKIPPED
    [replayed] = Harness(server.url).run(cmd("x1", effects_off=True))  # a replay with --no-side-effects, live mode
    assert (replayed.state, replayed.detail) == (State.SKIPPED, "replayed without side effects")
    old = replace(cmd("e1"), created_at_ms=int(time.time() * 1000) - 7200_000)
    assert Harness(server.url, max_age_s=3600).run(old)[0].state == State.EXPIRED
    [bad] = Harness(server.url).run(cmd("n1", to=None))
    assert (bad.state, bad.error_class) == (State.FAILED, "request") and "no wa_id" in (bad.detail or "")
    assert server.state.requests == 0


def test_deferred_outcomes_wait_for_settle_then_are_flushed_published_and_flushed_once_per_batch(server):
    h = Harness(server.url, mode=Mode.DRY_RUN, defer=True)

    async def batch() -> tuple[list[Entry], list[str], list[Entry]]:
        entries = [await h.sender.handle(c) for c in (cmd("d1"), cmd("d2", to="85291230001"), cmd("d1"))]
        before_settle = list(h.log)
        return entries, before_settle, await h.sender.settle()

    entries, before_settle, reported = asyncio.run(batch())
    assert [e.state for e in entries] == [State.DRY_RUN] * 3
    assert before_settle == [] and h.sender.stats.duplicates == 1  # the redelivery inside the batch
    assert h.log == ["flush", "publish d1", "publish d2", "flush"]  # durable, published, durable
    assert [e.action_id for e in reported] == ["d1", "d2"] and all(e.reported for e in reported)
    assert all(Entry.loads(h.outbox[a]).reported for a in ("d1", "d2")) and h.sender.stats.dry_run == 2
    assert h.run(cmd("d1"))[0].reported and h.log[-1] == "flush" and len(h.published) == 2  # not again
    assert server.state.requests == 0


def test_a_live_send_in_deferred_mode_is_flushed_before_its_request_and_reported_on_settle(server):
    h = Harness(server.url, defer=True)

    async def one() -> tuple[Entry, list[str]]:
        entry = await h.sender.handle(cmd("l1"))
        log = list(h.log)
        await h.sender.settle()
        return entry, log

    entry, before_settle = asyncio.run(one())
    assert entry.state == State.SENT and before_settle == ["flush", "flush"]  # pending, attempting
    assert h.log[2:] == ["flush", "publish l1", "flush"] and Entry.loads(h.outbox["l1"]).reported
    assert [s["body"]["biz_opaque_callback_data"] for s in server.state.sends] == ["l1"]


def test_the_contract_server_refuses_a_bad_token_and_bad_shapes(server):
    async def go():
        bad = CloudApi("wrong", base_url=server.url)
        good = CloudApi("tok", base_url=server.url)
        try:
            return (await bad.send(PNID, {"messaging_product": "whatsapp", "to": "1", "type": "text",
                                          "text": {"body": "x"}}),
                    await good.send(PNID, {"messaging_product": "whatsapp", "to": "1", "type": "template",
                                           "template": {"name": "x"}}))
        finally:
            await bad.aclose()
            await good.aclose()
    unauthorized, no_language = asyncio.run(go())
    assert (unauthorized.http_status, unauthorized.error.code) == (401, 190)
    assert classify(unauthorized.error.code, 401) == ErrorClass.ACCOUNT
    assert no_language.error.code == 131008


def test_graph_error_bodies_parse_including_a_code_sent_as_text():
    body = b'{"error": {"message": "(#131056) pair rate limit hit", "type": "OAuthException", "code": "131056",' \
           b' "error_data": {"details": "too many messages to the same number"}}}'
    assert parse_error(body).code == 131056
    assert parse_error(b"<html>bad gateway</html>").code is None


@pytest.mark.skipif(not (SHARED / "error_codes.json").exists(), reason="../shared/data is not present")
def test_error_classes_agree_with_the_shared_error_code_guidance():
    expected = {"retry_with_backoff": {ErrorClass.RETRY, ErrorClass.PAIR_PACE},
                "permanent_for_this_recipient_or_message": {ErrorClass.RECIPIENT},
                "stop_pipeline_and_alert_config_or_account": {ErrorClass.ACCOUNT},
                "fix_request_do_not_retry_unchanged": {ErrorClass.REQUEST}}
    codes = json.loads((SHARED / "error_codes.json").read_text())["codes"]
    checked = 0
    for row in codes:
        want = expected.get(row.get("derived_pipeline_guidance"))
        if want is None:
            continue
        assert classify(row["code"], None) in want, (row["code"], row["derived_pipeline_guidance"])
        checked += 1
    assert checked >= 40
