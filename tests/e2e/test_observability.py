"""The worker's /metrics, /readyz/ and JSON logs: stage counters, consumer lag, sink latency and
batch sizes, policy decisions by reason; log lines are JSON and carry no full phone number."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from tests.e2e.traffic import T0, inbound, reply, write

PIPELINE_ENV = {"SCRM_LOG_FORMAT": "json", "SCRM_CLOCK_TICK_SECONDS": "0"}
PHONES = [f"8529{i:07d}" for i in range(5)]


def get(pipeline, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{pipeline.web}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{labels} in /metrics")


def test_metrics_readiness_and_json_logs_without_phone_numbers(pipeline, tmp_path):
    lines = []
    for i, wa_id in enumerate(PHONES):
        lines.append(inbound(wa_id, f"wamid.obs.{i}", T0 + i, "運費多少？我的電話是 +852 9123 4567"))
        lines.append(reply(wa_id, f"inbox.obs.{i}", T0 + i + 30, "HK$30"))
    pipeline.scrm("ingest", str(write(tmp_path / "obs.jsonl", lines)))
    pipeline.scrm("wait", "--timeout", "120")

    assert get(pipeline, "/readyz/") == (200, json.dumps({"ready": True, "waiting_for": []}))
    status, text = get(pipeline, "/metrics")
    assert status == 200
    assert sample(text, "scrm_stage_events_total", stage="normalize", outcome="messages_out") == 10
    assert sample(text, "scrm_stage_events_total", stage="sink.messages", outcome="written") == 10
    assert sample(text, "scrm_sink_batch_rows_count", table="messages") >= 1
    assert sample(text, "scrm_sink_insert_seconds_count", table="messages") >= 1
    assert sample(text, "scrm_event_loop_lag_seconds_count") >= 1  # sampled every 0.1 s
    assert sample(text, "scrm_policy_decisions_total", outcome="allow", reason="not_customer_facing") >= 0
    lags = re.findall(r'^scrm_consumer_lag\{partition="\d+",topic="[^"]+"\} (\S+)$', text, re.M)
    assert lags and all(float(v) == 0 for v in lags)  # caught up after `scrm wait`
    assert "# TYPE scrm_consumer_rewinds_total counter" in text
    used = sample(text, "scrm_rocksdb_memory_bytes", kind="block_cache")  # the tables' shared budget
    assert 0 < used <= 512 * 2**20 and sample(text, "scrm_rocksdb_memory_bytes", kind="memtables") <= used

    log = (pipeline.workdir / "worker.log").read_text()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert len(records) > 10 and {"ts", "level", "logger", "msg"} <= set(records[0])
    for phone in [*PHONES, "91234567"]:
        assert phone not in log, f"{phone} appears in the worker log"
