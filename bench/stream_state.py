"""Stream state throughput on the real local broker: raw webhooks -> normalize (dedup) ->
receipts + conversations + tagging (RocksDB tables) -> ClickHouse sinks, in one ``scrm worker``.

The traffic is ingested while no worker runs; then the worker starts and the clock runs from its
first event to the moment every message and status went through the state agents. Sinks write
to embedded ClickHouse at the same time (the worker's real job). RSS of the worker process is
sampled every 0.25 s.

    .venv/bin/python -m bench stream_state
    BENCH_PROGRESS=1 BENCH_WORKER_LOG=info .venv/bin/python -m bench stream_state  # progress, worker log
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.broker import free_port, local_broker
from bench.procs import rss_mb, worker_stats

SCRM = str(Path(sys.executable).parent / "scrm")
PNID, T0 = "109876543210001", 1795136000
TEXTS = ["你好，這件外套多少錢？有折扣嗎？", "我的包裹到哪了？", "Quiero hacer una devolución",
         "このバッグはいくらですか？", "Qual o status do pedido 99123?", "thanks!"]


def lines(contacts: int, per_contact: int, retry_every: int) -> tuple[list[str], dict[str, int]]:
    out, counts = [], {"raw": 0, "messages": 0, "statuses": 0, "retries": 0}

    def add(doc: dict) -> None:
        out.append(json.dumps(doc, ensure_ascii=False))
        counts["raw"] += 1

    for j in range(per_contact):
        for i in range(contacts):
            wa_id, at = f"8526{i:07d}", T0 + j * 300 + i % 60
            value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "85230001234",
                                                                   "phone_number_id": PNID},
                     "contacts": [{"profile": {"name": "陳大文"}, "wa_id": wa_id}],
                     "messages": [{"from": wa_id, "id": f"wamid.b.{i}.{j}", "timestamp": str(at), "type": "text",
                                   "text": {"body": TEXTS[(i + j) % len(TEXTS)]}}]}
            inbound = {"source": "whatsapp", "body": {"object": "whatsapp_business_account", "entry": [
                {"id": "W", "changes": [{"field": "messages", "value": value}]}]}}
            add(inbound)
            if (i * per_contact + j) % retry_every == 0:  # Meta retrying the same webhook
                add(inbound)
                counts["retries"] += 1
            add({"source": "agent_inbox", "body": {"message_id": f"inbox.b.{i}.{j}", "phone_number_id": PNID,
                                                   "wa_id": wa_id, "agent_id": "agent-7", "text": "收到，請稍等",
                                                   "timestamp": at + 60}})
            counts["messages"] += 2
            for kind, dt in (("read", 90), ("delivered", 70)):  # read first: a prevented regression
                status = {"id": f"inbox.b.{i}.{j}", "status": kind, "timestamp": str(at + dt), "recipient_id": wa_id}
                add({"source": "whatsapp", "body": {"object": "whatsapp_business_account", "entry": [
                    {"id": "W", "changes": [{"field": "messages", "value": {
                        "messaging_product": "whatsapp", "metadata": {"phone_number_id": PNID},
                        "statuses": [status]}}]}]}})
                counts["statuses"] += 1
    return out, counts


def run(contacts: int = 2_000, per_contact: int = 5, retry_every: int = 20) -> dict[str, object]:
    traffic, counts = lines(contacts, per_contact, retry_every)
    with local_broker() as bootstrap, tempfile.TemporaryDirectory(prefix="scrm-bench-state-") as tmp:
        port = free_port()
        web = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SCRM_KAFKA_BOOTSTRAP": bootstrap, "SCRM_TOPIC_PREFIX": f"bench{port}.",
               "SCRM_APP_ID": f"bench-state-{port}", "SCRM_WEB_PORT": str(port), "SCRM_DATA_DIR": f"{tmp}/faust",
               "SCRM_CLICKHOUSE_PATH": f"{tmp}/clickhouse", "SCRM_LOG_LEVEL": "warning"}
        subprocess.run([SCRM, "topics", "create"], env=env, check=True, capture_output=True)
        path = Path(tmp) / "traffic.jsonl"
        path.write_text("\n".join(traffic) + "\n")
        started = time.perf_counter()
        subprocess.run([SCRM, "ingest", str(path)], env=env, check=True, capture_output=True)
        ingest_s = time.perf_counter() - started
        log = Path(tmp) / "worker.log"
        with log.open("wb") as out:
            level = os.environ.get("BENCH_WORKER_LOG", "warn")
            proc = subprocess.Popen([SCRM, "worker", "-l", level], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            return {"traffic": counts, "ingest_s": round(ingest_s, 1), **_measure(proc, web, counts)}
        except AssertionError:
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                print("worker did not stop in 60 s after SIGTERM; killed. Log tail:\n"
                      + log.read_text(errors="replace")[-2000:], file=sys.stderr)
                proc.kill()
                proc.wait()


def _measure(proc: subprocess.Popen[bytes], web: str, counts: dict[str, int]) -> dict[str, object]:
    rss: list[float] = []
    first = last = None
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        assert proc.poll() is None, "worker exited"
        rss.append(rss_mb(proc.pid))
        try:
            s = worker_stats(web)
        except OSError:
            time.sleep(0.25)
            continue
        conv, receipts = s.get("state.conversations", {}), s.get("state.receipts", {})
        if os.environ.get("BENCH_PROGRESS"):
            print(f"{time.perf_counter():.1f} normalize {s.get('normalize', {}).get('in', 0)} "
                  f"conversations {conv.get('in', 0)} receipts {receipts.get('in', 0)}", file=sys.stderr)
        if first is None and s.get("normalize", {}).get("in", 0) > 0:
            first = time.perf_counter()
        if conv.get("in", 0) >= counts["messages"] and receipts.get("in", 0) >= counts["statuses"]:
            last = time.perf_counter()
            break
        time.sleep(0.25)
    assert first is not None and last is not None, "the worker did not finish in 15 minutes"
    elapsed = last - first
    normalize = s["normalize"]
    return {
        "elapsed_s": round(elapsed, 1),
        "raw_events_per_s": round(counts["raw"] / elapsed),
        "state_events_per_s": round((counts["messages"] + counts["statuses"]) / elapsed),
        "deduplicated": normalize.get("messages_deduplicated", 0),
        "regressions_prevented": receipts.get("regressions_prevented", 0),
        "tags": sum(v for k, v in conv.items() if k.startswith("tag.")),
        "rss_mb_peak": round(max(rss), 1),
        "rss_mb_end": round(rss[-1], 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
