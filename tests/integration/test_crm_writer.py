"""The CRM writer over real HTTP against the local HubSpot contract server (tests/vendors/hubspot.py):
429 with Retry-After then 5xx bursts, partial batch errors, 4xx, the audit, replays, a crash during
a create, dry run. The audit store is a dict here; the worker's is a Faust table."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from processors.crm_write import CrmWrite, WindowBudget
from sinks.crm.http import CrmHttp, RetryPolicy
from sinks.crm.writer import CrmWriter, HubSpot, WriteResult, WriteState
from tests.vendors.hubspot import REQUIRED, HubSpotServer, HubSpotState

MODELS = Path(__file__).resolve().parents[3] / "shared" / "data" / "hubspot" / "models_extract.json"


@pytest.fixture
def server() -> Iterator[HubSpotServer]:
    with HubSpotServer(HubSpotState(token="hs")) as s:
        yield s


def props(i: int, segment: str = "high_intent") -> CrmWrite:
    wa_id = f"8529123{i % 120:04d}"
    return CrmWrite(f"props:{i}", f"pn:{wa_id}", "properties", wa_id, f"+{wa_id}",
                    {"whatsapp_segment": segment, "whatsapp_churn_score": f"0.{i % 10}"}, None, 1795136000000 + i)


def task(i: int) -> CrmWrite:
    wa_id = f"8529123{i:04d}"
    return CrmWrite(f"task:{i}", f"pn:{wa_id}", "task", wa_id, f"+{wa_id}", {}, "WhatsApp follow-up", 1795136000000)


class AuditLog(dict):
    """The audit store, logging each write as ``write_id:state:reported``."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def __setitem__(self, key: str, doc: dict) -> None:
        self.log.append(f"{key}:{doc['state']}:{doc.get('reported', False)}")
        super().__setitem__(key, doc)


class Harness:
    def __init__(self, url: str, *, mode: str = "hubspot", max_attempts: int = 8) -> None:
        self.log: list[str] = []
        self.audit: dict[str, dict] = AuditLog(self.log)
        self.published: list[tuple[CrmWrite, WriteResult]] = []
        self.http = CrmHttp(url, {"Authorization": "Bearer hs"}, budget=WindowBudget(limit=90),
                            policy=RetryPolicy(max_attempts=max_attempts, max_backoff_s=0.5))
        self.writer = CrmWriter(self.audit, adapter=HubSpot(self.http) if mode == "hubspot" else None, mode=mode,
                                durable=self._durable, publish=self._publish)

    async def _durable(self) -> None:
        self.log.append("durable")

    async def _publish(self, done) -> None:
        self.published += done
        self.log.append("publish")

    def run(self, *batches: list[CrmWrite]) -> list[list[tuple[CrmWrite, WriteResult]]]:
        async def go():
            try:
                return [await self.writer.write(b) for b in batches]
            finally:
                await self.http.aclose()
        return asyncio.run(go())


def test_429_with_retry_after_then_500s_every_write_lands_once_and_never_early(server):
    writes = [props(i) for i in range(150)] + [task(i) for i in range(3)]
    h = Harness(server.url)
    server.state.script(5.0, 429, retry_after="2")
    server.state.script(2.0, 500)
    errors_end = server.state.phases[-1].until
    [done] = h.run(writes)
    assert {r.state for _, r in done} == {WriteState.WRITTEN} and len(done) == 153
    # the writer went through both windows (429s, then 500s) and kept at it until they ended
    statuses = [status for _, _, status in server.state.log]
    assert 429 in statuses and 500 in statuses and statuses[-1] < 300
    assert max(t for t, _, status in server.state.log if status < 300) >= errors_end

    # exactly once: one upsert per contact (its writes merged), one task per write id
    applied = Counter(server.state.applied)
    assert sum(1 for k in applied if k[0] == "contact") == 120 and set(applied.values()) == {1}
    assert sorted(w for kind, w in applied if kind == "tasks") == ["task:0", "task:1", "task:2"]
    assert all(len(t["associations"]) == 1 for t in server.state.engagements["tasks"])

    # never before the retry time: after each 429, the next request waits its Retry-After
    log = server.state.log
    for (t0, _, status), (t1, _, _) in pairwise(log):
        if status == 429:
            assert t1 - t0 >= 1.95, (t0, t1)
    # the audit shows the attempts
    first = next(r for w, r in done if w.write_id == "props:0")
    assert "429" in first.attempt_log and "500" in first.attempt_log and first.attempt_log.endswith("200")
    assert first.attempts == len(first.attempt_log.split(","))

    # a replay of the same commands writes nothing
    requests = len(server.state.log)
    h2 = Harness(server.url)
    h2.audit.update(h.audit)
    assert h2.run(writes) == [[]] and h2.writer.duplicates == 153
    assert len(server.state.log) == requests


def test_partial_batch_errors_and_4xx_fail_per_input_with_the_body(server):
    server.state.refuse_ids = {"85291230001"}
    bad = CrmWrite("props:bad", "pn:x", "properties", "85291239999", None, {"favourite_colour": "red"}, None, 0)
    no_wa = CrmWrite("props:bsuid", "pn:US.1", "properties", None, None, {"whatsapp_segment": "new"}, None, 0)
    [first, second] = Harness(server.url).run([props(0), props(1)], [bad, no_wa])
    states = {w.write_id: r for w, r in first + second}
    assert states["props:0"].state == WriteState.WRITTEN and states["props:0"].http_status == 207
    assert states["props:1"].state == WriteState.FAILED and "Invalid input value" in states["props:1"].error
    assert states["props:bad"].http_status == 400 and "PROPERTY_DOESNT_EXIST" in states["props:bad"].error
    assert "no wa_id" in states["props:bsuid"].error


def test_a_gdpr_delete_removes_the_contact_and_its_tasks_once_and_a_second_one_finds_it_gone(server):
    h = Harness(server.url)
    [first] = h.run([props(0), task(1)])
    object_id = next(r.crm_object_id for w, r in first if w.write_id == "props:0")
    gone = CrmWrite("erase:1", "erased:1", "gdpr_delete", None, None, {"objectId": object_id}, None, 0)
    again = CrmWrite("erase:2", "erased:1", "gdpr_delete", None, None, {"objectId": object_id}, None, 0)
    [deleted, repeated] = Harness(server.url).run([gone], [again])
    assert [(r.state, r.http_status) for _, r in deleted] == [(WriteState.WRITTEN, 204)]
    assert [(r.state, r.http_status) for _, r in repeated] == [(WriteState.WRITTEN, 404)]  # already gone
    assert object_id not in server.state.contacts and server.state.by_unique("whatsapp_id", props(0).wa_id) is None
    assert server.state.applied.count(("gdpr_delete", object_id)) == 1
    no_id = CrmWrite("erase:3", "erased:1", "gdpr_delete", None, None, {}, None, 0)
    [refused] = Harness(server.url).run([no_id])
    assert refused[0][1].state == WriteState.FAILED and "objectId" in (refused[0][1].error or "")


def test_a_crash_during_a_create_is_in_doubt_and_not_created_again(server):
    h = Harness(server.url)
    h.audit["task:7"] = {"write_id": "task:7", "state": "attempting", "crm": "hubspot"}
    [done] = h.run([task(7)])
    assert [(w.write_id, r.state) for w, r in done] == [("task:7", WriteState.IN_DOUBT)]
    assert server.state.log == []


def test_dry_run_records_and_sends_nothing(server):
    [done] = Harness(server.url, mode="dry_run").run([props(0), task(1)])
    assert {r.state for _, r in done} == {WriteState.DRY_RUN} and server.state.log == []


def test_a_result_from_a_request_is_durable_before_it_is_published_one_from_none_is_written_once(server):
    h = Harness(server.url)
    h.run([props(0)])
    assert h.log == ["props:0:written:False", "durable", "publish", "props:0:written:True"]
    requests = len(server.state.log)
    dry = Harness(server.url, mode="dry_run")
    dry.run([props(0), task(1)])
    assert dry.log == ["publish", "props:0:dry_run:True", "task:1:dry_run:True"]
    # redelivered after the publish but before the audit write: computed and published again, alike
    dry.audit.clear()
    [[(_, again)]] = dry.run([props(0)])
    assert again.state == WriteState.DRY_RUN and len(server.state.log) == requests and dry.published[-1][1] == again


def test_writes_of_a_replay_without_side_effects_are_skipped_even_against_hubspot(server):
    from dataclasses import replace

    [done] = Harness(server.url).run([replace(props(0), effects_off=True), replace(task(1), effects_off=True)])
    assert {(r.state, r.crm) for _, r in done} == {(WriteState.SKIPPED, "off")} and server.state.log == []


@pytest.mark.skipif(not MODELS.exists(), reason="../shared/data is not present")
def test_the_contract_server_requires_what_hubspots_models_require():
    models = {m["class"]: m for m in json.loads(MODELS.read_text())["models"].values()}
    for name, required in REQUIRED.items():
        assert sorted(models[name]["required_not_none"]) == sorted(required), name
