"""Webhook receiver throughput and latency on the real local broker.

``scrm receiver`` runs as its own process (as in production); this process is the load
generator (aiohttp client, pre-signed unique bodies). Every 200 means Kafka acknowledged the
envelope (acks=all). On a 2-core machine the client, the receiver and the broker share the CPUs,
so the figures are a floor for a receiver with a core of its own.

    .venv/bin/python -m bench receiver

1. closed loop: 32 concurrent clients as fast as possible for 10 s -> requests/s, p50/p99;
2. open loop: 1,000 requests/s on a fixed schedule for 10 s -> achieved rate, p50/p99 measured
   from each request's scheduled start (so queueing delay counts).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp

from bench.broker import free_port, local_broker
from processors.signatures import sign_sha256

SECRET = "bench-secret"
SCRM = str(Path(sys.executable).parent / "scrm")


def body(i: int) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "messages", "value": {
            "metadata": {"phone_number_id": f"10987654321000{i % 4}", "display_phone_number": "85230001234"},
            "contacts": [{"wa_id": f"8525{i % 10_000_000:07d}", "profile": {"name": "陳大文"}}],
            "messages": [{"from": f"8525{i % 10_000_000:07d}", "id": f"wamid.bench-{i}", "timestamp": "1795136000",
                          "type": "text", "text": {"body": "你好，這件外套多少錢？有折扣嗎？"}}]}}]}]},
                      ensure_ascii=False).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def closed_loop(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            data = body(next(counter))
            started = time.perf_counter()
            async with session.post(url, data=data, headers={"X-Hub-Signature-256": sign_sha256(SECRET, data)}) as r:
                await r.read()
                errors += r.status != 200
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "errors": errors, "requests_per_s": round(len(latencies) / elapsed),
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2)}


async def open_loop(url: str, seconds: float, rate: int) -> dict[str, float]:
    total = int(seconds * rate)
    bodies = [body(10**8 + i) for i in range(total)]
    signatures = [sign_sha256(SECRET, b) for b in bodies]
    latencies: list[float] = []
    errors = 0

    async def one(session: aiohttp.ClientSession, i: int, scheduled: float) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        async with session.post(url, data=bodies[i], headers={"X-Hub-Signature-256": signatures[i]}) as r:
            await r.read()
            errors += r.status != 200
        latencies.append(time.perf_counter() - scheduled)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(session, i, start + i / rate) for i in range(total)))
        elapsed = time.perf_counter() - start
    return {"target_per_s": rate, "requests": total, "errors": errors, "achieved_per_s": round(total / elapsed),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2)}


def run() -> dict[str, object]:
    with local_broker() as bootstrap:
        port = free_port()
        env = {**os.environ, "SCRM_KAFKA_BOOTSTRAP": bootstrap, "SCRM_TOPIC_PREFIX": f"bench{port}.",
               "SCRM_WHATSAPP_APP_SECRETS": SECRET, "SCRM_RECEIVER_PORT": str(port), "SCRM_LOG_LEVEL": "warning"}
        subprocess.run([SCRM, "topics", "create"], env=env, check=True, capture_output=True)
        proc = subprocess.Popen([SCRM, "receiver"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
            url = f"http://127.0.0.1:{port}/webhooks/whatsapp"
            asyncio.run(closed_loop(url, 2, 8))  # warm-up
            return {"closed_loop_32_clients": asyncio.run(closed_loop(url, 10, 32)),
                    "open_loop_1000_per_s": asyncio.run(open_loop(url, 10, 1000))}
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("scrm receiver exited; run it by hand to see why")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("scrm receiver did not become healthy in 60 s")
