"""The CRM writer in a real worker against the local HubSpot contract server: commands on
``crm.writes`` land once each while HubSpot answers 429 (Retry-After) and then 500s; the audit in
ClickHouse shows the attempts; the same commands again write nothing; a refused write is
dead-lettered with HubSpot's answer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Pipeline, make_pipeline, serving, wait_for
from tests.e2e.test_sender import produce
from tests.e2e.traffic import PNID, T0
from tests.vendors.hubspot import HubSpotServer, HubSpotState

PREFIX = "crmw"


@pytest.fixture(scope="module")
def hubspot() -> Iterator[HubSpotServer]:
    with HubSpotServer(HubSpotState(token="hs-e2e")) as server:
        yield server


@pytest.fixture(scope="module")
def pipeline(kafka_bootstrap, tmp_path_factory, hubspot) -> Iterator[Pipeline]:
    p = make_pipeline(kafka_bootstrap, tmp_path_factory.mktemp("crmw"), PREFIX, "scrm-crmw", SCRM_CRM_MODE="hubspot",
                      SCRM_HUBSPOT_TOKEN="hs-e2e", SCRM_HUBSPOT_API_URL=hubspot.url, SCRM_CLOCK_TICK_SECONDS="0")
    yield from serving(p)


def command(i: int, kind: str = "properties", props: dict | None = None) -> dict:
    wa_id = f"8529300{i:04d}"
    return {"write_id": f"{kind}:{i}", "contact_key": f"{PNID}:{wa_id}", "kind": kind, "wa_id": wa_id,
            "phone_e164": f"+{wa_id}", "properties_json": json.dumps(props or {"whatsapp_segment": "potential"})
            if kind == "properties" else None, "title": "WhatsApp follow-up" if kind == "task" else None,
            "action_id": None, "created_at_ms": T0 * 1000 + i}


def test_writes_land_once_through_429_and_500s_and_replays_write_nothing(pipeline, hubspot, kafka_bootstrap):
    # the outage windows run on the wall clock: a worker still joining its group would miss them
    wait_for("the worker ready", pipeline.ready, timeout=120)
    hubspot.state.script(4.0, 429, retry_after="2")
    hubspot.state.script(2.0, 500)
    commands = [command(i) for i in range(30)] + [command(i, "task") for i in range(3)]
    commands.append(command(99, props={"not_a_property": "x"}))
    produce(kafka_bootstrap, commands, prefix=PREFIX, topic="crm.writes", record="CrmCommand")

    query = "SELECT write_id, state, attempt_log, rate_limited, error FROM scrm.crm_writes FINAL"
    wait_for("34 audited writes", lambda: len(pipeline.sql(query)) == 34, timeout=120)
    rows = {r["write_id"]: r for r in pipeline.sql(query)}
    assert Counter(r["state"] for r in rows.values()) == {"written": 33, "failed": 1}
    assert "PROPERTY_DOESNT_EXIST" in rows["properties:99"]["error"]
    assert any(r["rate_limited"] > 0 for r in rows.values())
    assert any("500" in r["attempt_log"] for r in rows.values())
    applied = Counter(hubspot.state.applied)
    assert set(applied.values()) == {1}
    assert sorted(w for kind, w in applied if kind == "tasks") == ["task:0", "task:1", "task:2"]
    wait_for("the refused write in the DLQ", lambda: len(pipeline.sql(
        "SELECT 1 FROM scrm.dead_letters WHERE stage = 'crm.writer'")) == 1)
    dlq = pipeline.sql("SELECT error_message FROM scrm.dead_letters WHERE stage = 'crm.writer'")
    assert "PROPERTY_DOESNT_EXIST" in dlq[0]["error_message"]

    requests = len(hubspot.state.log)
    produce(kafka_bootstrap, commands, prefix=PREFIX, topic="crm.writes", record="CrmCommand")
    wait_for("the replayed commands", lambda: pipeline.stats().get("crm.writer", {}).get("duplicates", 0) >= 34)
    assert len(hubspot.state.log) == requests
