"""The main job end to end: `scrm generate` posts a month of traffic through the real receiver
(signed), the worker processes it, `scrm report` reads the analytics views, and its figures agree
with the generator's ground truth. Posting the same traffic again changes no figure. The HTML
report is rendered in headless Chromium, which must draw every chart; a screenshot is kept."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from sinks.clickhouse.migrate import MIGRATIONS_DIR
from tests.e2e.conftest import receiver_of

# clock ticks off: they would move this historical month's segments on to today while the test runs
PIPELINE_ENV = {"SCRM_WHATSAPP_APP_SECRETS": "gen-app-secret", "SCRM_INTEGRATION_SECRETS": "gen-integration-secret",
                "SCRM_CLOCK_TICK_SECONDS": "0"}
CONTACTS, DAYS, SEED, START = "250", "30", "5", "2026-10-01"
TZ = "Asia/Hong_Kong"
VIEW = re.compile(r"CREATE VIEW IF NOT EXISTS \$\{database\}\.(\w+) AS(.*?);", re.S)


def post_and_report(pipeline, workdir: Path, tag: str) -> tuple[dict, dict]:
    truth = workdir / f"truth-{tag}.json"
    with receiver_of(pipeline) as (url, _):
        pipeline.scrm("generate", "--contacts", CONTACTS, "--days", DAYS, "--seed", SEED, "--start", START,
                      "--to-receiver", url, "--truth", str(truth), timeout=600)
    pipeline.scrm("wait", "--timeout", "600", "--settle", "3", timeout=700)
    figures = workdir / f"figures-{tag}.json"
    pipeline.scrm("report", "--since", START, "--tz", TZ, "--html", str(workdir / f"report-{tag}.html"),
                  "--json", str(figures))
    return json.loads(truth.read_text()), json.loads(figures.read_text())


@pytest.fixture(scope="module")
def run(pipeline):
    truth, figures = post_and_report(pipeline, pipeline.workdir, "first")
    return pipeline, truth, figures


def close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * max(abs(b), 1e-9)


def test_report_figures_agree_with_the_generators_ground_truth(run):
    _, truth, f = run
    head = f["headline"][0]
    assert head["inbound"] == truth["inbound"] and head["customers"] == truth["writers"]
    assert (head["agent_replies"], head["bot_replies"], head["templates"]) == (
        truth["outbound"]["agent"], truth["outbound"]["bot"], truth["outbound"]["template"])
    # templates: exact counts (each template's receipts and the customer's replies are in the data)
    report = {t["template"]: t for t in f["templates"]}
    assert set(report) == set(truth["templates"])
    for name, t in truth["templates"].items():
        assert [report[name][k] for k in ("sent", "delivered", "read", "replied")] == [
            t["sent"], t["delivered"], t["read"], t["replied"]], name
    # first response times: within 10% (medians) and 3% (conversations answered); a conversation
    # whose messages straddle a reopen can be split differently from the truth's plain 24-hour rule
    frt = f["frt"][0]
    for who in ("bot", "human"):
        assert close(frt[f"{who}_n"], truth["frt_s"][who]["n"], 0.03), who
        assert close(frt[f"{who}_median_s"], truth["frt_s"][who]["median"], 0.10), who
    # receipt rates over all outbound messages: within half a point (a message whose receipts fall
    # on two days counts on both in the daily rollup)
    final = truth["outbound_final"]
    sent = sum(final.values())
    receipts = f["receipts"][0]
    assert abs(receipts["delivery_rate"] - (final["delivered"] + final["read"]) / sent) < 0.005
    assert abs(receipts["read_rate"] - final["read"] / sent) < 0.005
    # heatmap and daily active customers: exact
    assert {f"{r['weekday']}-{r['hour']}": r["messages"] for r in f["heatmap"]} == truth["heatmap"]
    dau = {str(r["day"]): r["dau"] for r in f["active"] if r["dau"]}
    assert dau == truth["dau"]
    # segments: everyone who wrote has exactly one current segment other than `new`; `high_intent`
    # (3+ inquiries in 7 days) cannot exceed the customers who ever sent such a burst; each segment
    # is within 3% of the writers of the truth's (the segment rules applied to what the generator
    # decided; the truth does not know the sentiment the pipeline reads, streams/generator/truth_segments.py)
    segments = {r["segment"]: r["contacts"] for r in f["segments"]}
    assert sum(n for s, n in segments.items() if s != "new") == truth["writers"]
    assert 0 < segments.get("high_intent", 0) <= truth["inquiry_bursts"]
    print(f"\nsegments: pipeline {segments}, truth {truth['segments']}")
    for name in (set(truth["segments"]) | set(segments)) - {"new"}:
        assert abs(segments.get(name, 0) - truth["segments"].get(name, 0)) <= 0.03 * truth["writers"], name
    funnel = f["funnel"][0]
    assert funnel["contacted"] >= funnel["replied"] >= funnel["ordered"] > 0


def test_every_analytics_view_runs_and_the_main_ones_have_rows(run):
    pipeline, _, _ = run
    names = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        for name, body in VIEW.findall(path.read_text()):
            names.append(name)
            args = f"(tz = '{TZ}')" if "{tz:String}" in body else ""
            rows = pipeline.sql(f"SELECT * FROM scrm.{name}{args} LIMIT 5")
            if name not in ("alert_complaint_rate", "dead_letters_by_source", "crm_write_health"):
                assert rows, f"view {name} is empty"
    assert len(names) >= 20


def test_every_grafana_panel_query_runs(run):
    pipeline, _, _ = run
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
                            / "scrm-overview.json").read_text())
    tz = next(v for v in dashboard["templating"]["list"] if v["name"] == "tz")["current"]["value"]
    queries = [t["rawSql"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(queries) >= 12
    # the panels look back from now(); the traffic is a fixed month, so "now" is its last day
    end = date.fromisoformat(START) + timedelta(days=int(DAYS))
    clock = {"now()": f"toDateTime('{end} 00:00:00')", "today()": f"toDate('{end}')", "${tz}": tz}
    filled = 0
    for sql in queries:
        for name, value in clock.items():
            sql = sql.replace(name, value)
        filled += bool(pipeline.sql(sql))
    assert filled >= len(queries) - 3  # the alerts and CRM panels may be empty (no CRM in this test)


def test_posting_the_same_traffic_again_changes_no_figure(run):
    pipeline, truth, figures = run
    truth2, figures2 = post_and_report(pipeline, pipeline.workdir, "again")
    assert truth2 == truth
    assert figures2 == figures


def test_the_html_report_draws_every_chart_in_headless_chromium(run, tmp_path):
    pipeline, _, _ = run
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed for this test: `make prereqs` installs Debian's chromium"
    page = (pipeline.workdir / "report-first.html").resolve()
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*flags, "--virtual-time-budget=3000", "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    charts = re.search(r'data-charts="(\d+)"', dom)
    drawn = re.search(r'data-drawn="(\d+)"', dom)
    assert charts and drawn, dom[:500]
    assert int(charts.group(1)) >= 7 and drawn.group(1) == charts.group(1)
    shot = pipeline.workdir / "report.png"
    subprocess.run([*flags, "--window-size=1280,3600", f"--screenshot={shot}", page.as_uri()], capture_output=True,
                   timeout=120, check=True)
    assert shot.stat().st_size > 20_000
    keep = Path("var") / "test-report.png"  # for a person to look at after the run
    keep.parent.mkdir(exist_ok=True)
    shutil.copy(shot, keep)
