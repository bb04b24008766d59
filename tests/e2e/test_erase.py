"""``scrm erase`` against a real worker, ClickHouse (chDB) and the HubSpot contract server: the
customer's rows go from every table and nobody else's; the contact profile, the stream state and
the HubSpot contact go; a receipt without personal data is printed and stored; neither a replay of
the raw topics nor a restart brings the customer back, and a message they send afterwards starts a
new relationship."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat

from processors.erasure import subject_keys
from processors.phones import from_wa_id
from streams.commands.erase import _predicates
from tests.e2e.conftest import Pipeline, make_pipeline, serving, wait_for
from tests.e2e.traffic import inbound, mixed, write
from tests.vendors.hubspot import HubSpotServer, HubSpotState

PREFIX = "erase"
FROM = "2020-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def hubspot() -> Iterator[HubSpotServer]:
    with HubSpotServer(HubSpotState(token="hs-erase")) as server:
        yield server


@pytest.fixture(scope="module")
def pipeline(kafka_bootstrap, tmp_path_factory, hubspot) -> Iterator[Pipeline]:
    p = make_pipeline(kafka_bootstrap, tmp_path_factory.mktemp("erase"), PREFIX, "scrm-erase",
                      SCRM_CRM_MODE="hubspot", SCRM_HUBSPOT_TOKEN="hs-erase", SCRM_HUBSPOT_API_URL=hubspot.url,
                      SCRM_CLOCK_TICK_SECONDS="0")
    yield from serving(p)


def query(p: Pipeline, sql: str) -> list[dict]:
    """Through the worker's /sql/ endpoint (what ``scrm sql`` does, without starting a process)."""
    request = urllib.request.Request(f"{p.web}/sql/", data=json.dumps({"sql": sql}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        doc = json.loads(response.read())
    return [dict(zip(doc["columns"], row, strict=True)) for row in doc["rows"]]


def counts(p: Pipeline, where: dict[str, str], final: str = "") -> dict[str, int]:
    [row] = query(p, "SELECT " + ", ".join(f"(SELECT count() FROM scrm.{t} {final} WHERE {w}) AS {t}"
                                           for t, w in where.items()))
    return {t: int(n) for t, n in row.items()}


def rows_of(p: Pipeline, wa_id: str) -> dict[str, int]:
    """Logical rows (FINAL: background merges change physical counts) per table that belong to
    this customer, by the erase command's own predicates."""
    keys = subject_keys(from_wa_id(wa_id))
    found = query(p, "SELECT DISTINCT contact_id FROM scrm.contacts WHERE hasAny(phones, [" +
                  ", ".join(f"'{k}'" for k in keys) + "])")
    return counts(p, _predicates(keys, [k[1:] for k in keys], [r["contact_id"] for r in found]), "FINAL")


def totals(p: Pipeline) -> dict[str, int]:
    """Logical rows per table."""
    return counts(p, dict.fromkeys(_predicates([], [], []), "1"), "FINAL")


def test_erase_removes_one_customer_everywhere_and_replays_do_not_bring_them_back(pipeline, hubspot, tmp_path):
    lines, _ = mixed(10, 3)
    pipeline.scrm("ingest", str(write(tmp_path / "day.jsonl", lines)))
    pipeline.scrm("wait", "--timeout", "180")
    written = query(pipeline, "SELECT wa_id, crm_object_id FROM scrm.crm_writes FINAL WHERE state = 'written' "
                           "AND kind = 'properties' ORDER BY startsWith(wa_id, '55') DESC, wa_id LIMIT 1")
    assert written and written[0]["wa_id"].startswith("55"), "the traffic should have written a Brazilian contact"
    wa_id, object_id = written[0]["wa_id"], written[0]["crm_object_id"]  # Brazil: a number with two forms
    before, everyone = rows_of(pipeline, wa_id), totals(pipeline)
    assert all(before[t] > 0 for t in ("messages", "statuses", "conversations", "raw_webhooks", "contacts",
                                       "crm_writes", "automation_decisions")), before
    # as an operator types it: for Brazil the other form of the WhatsApp id (with the ninth digit)
    typed = phonenumbers.format_number(phonenumbers.parse(from_wa_id(wa_id).e164), PhoneNumberFormat.INTERNATIONAL)

    dry = pipeline.scrm("erase", "--phone", typed, "--dry-run").stdout
    assert "dry run, nothing was changed; 1 CRM object(s)" in dry and rows_of(pipeline, wa_id) == before
    refused = pipeline.scrm("erase", "--phone", typed, check=False)
    assert refused.returncode == 2 and "add --yes to confirm" in refused.stderr
    bad = pipeline.scrm("erase", "--phone", "call me", "--yes", check=False)
    assert bad.returncode == 2 and "no digits" in bad.stderr and "Traceback" not in bad.stderr

    done = pipeline.scrm("erase", "--phone", typed, "--reason", "DSR-4411", "--yes").stdout
    receipt_id = re.search(r"erasure receipt (er-\S+)", done)[1]
    assert rows_of(pipeline, wa_id) == dict.fromkeys(before, 0)
    after = totals(pipeline)
    gone = {**before, "crm_writes": before["crm_writes"] - 1}  # the GDPR delete's own audit row (no number in it)
    assert {t: everyone[t] - after[t] for t in everyone} == gone, "only the customer's rows"
    assert object_id not in hubspot.state.contacts and ("gdpr_delete", object_id) in hubspot.state.applied
    assert re.search(r"state keys tombstoned\s+[1-9]", done) and f"{receipt_id}:hubspot:{object_id}  written" in done
    [stored] = query(pipeline, f"SELECT * FROM scrm.erasure_receipts WHERE erasure_id = '{receipt_id}'")
    deleted = json.loads(stored["rows_deleted_json"])  # physical rows: at least the logical ones
    assert stored["reason"] == "DSR-4411" and deleted.keys() == before.keys()
    assert all(deleted[t] >= n for t, n in before.items())
    assert wa_id[-8:] not in json.dumps(stored) + done  # no number on the receipt
    assert pipeline.stats()["identity"]["contacts_erased"] >= 1

    pipeline.scrm("replay", "--from", FROM)
    assert rows_of(pipeline, wa_id) == dict.fromkeys(before, 0) and totals(pipeline) == after
    assert pipeline.stats()["normalize"]["erased"] > 0 and pipeline.stats()["crm_normalize"]["erased"] > 0

    pipeline.stop_worker()  # a new worker reads the erasure list before it takes an event
    pipeline.start_worker()
    pipeline.scrm("replay", "--from", FROM)
    assert rows_of(pipeline, wa_id) == dict.fromkeys(before, 0) and totals(pipeline) == after
    assert json.loads(pipeline.scrm("sql", "SELECT 1 AS x", "--format", "json").stdout)["x"] == 1

    later = int(time.time()) + 5  # the customer writes again after the erasure: a new relationship
    pipeline.scrm("ingest", str(write(tmp_path / "later.jsonl", [inbound(wa_id, "wamid.after.1", later, "hola")])))
    wait_for("the new message", lambda: rows_of(pipeline, wa_id)["messages"] == 1, timeout=120)
    again = pipeline.scrm("erase", "--phone", typed, "--yes").stdout  # and a second erasure takes it too
    assert "erasure receipt" in again and rows_of(pipeline, wa_id)["messages"] == 0
