"""``scrm generate``: realistic synthetic traffic, deterministic for a seed, posted to the webhook
receiver with valid signatures (``--to-receiver``) or written as ``scrm ingest`` lines
(``--to-file``). ``--truth FILE`` writes the ground truth the report can be checked against."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from processors.signatures import sign_sha256
from streams.app import app, settings
from streams.commands.errors import fail
from streams.commands.progress import Progress
from streams.faust_cli import option
from streams.generator.simulate import Config, Post
from streams.generator.simulate import generate as simulate
from streams.generator.truth import truth as ground_truth

PATHS = {"whatsapp": "/webhooks/whatsapp", "agent_inbox": "/webhooks/agent-inbox", "cdc": "/webhooks/cdc"}


@app.command(
    option("--contacts", type=int, default=2000, show_default=True, help="customers to simulate"),
    option("--days", type=int, default=30, show_default=True, help="days of traffic"),
    option("--seed", type=int, default=7, show_default=True, help="the same seed gives the same traffic"),
    option("--start", type=str, default=None,
           help="first day (YYYY-MM-DD, UTC; default: DAYS days before today, so the traffic ends today)"),
    option("--to-receiver", "receiver", type=str, default=None,
           help="post to this receiver (e.g. http://127.0.0.1:8000), signed with the secrets in "
                "SCRM_WHATSAPP_APP_SECRETS and SCRM_INTEGRATION_SECRETS"),
    option("--to-file", "to_file", type=str, default=None,
           help="write `scrm ingest` lines to this file (- for stdout)"),
    option("--rate", type=float, default=0.0,
           help="posts per second to the receiver (default 0: as fast as it answers)"),
    option("--concurrency", type=int, default=16, show_default=True, help="requests in flight to the receiver"),
    option("--truth", "truth_file", type=str, default=None, help="write the ground truth (JSON) to this file"),
)
async def generate(self: Any, contacts: int, days: int, seed: int, start: str | None, receiver: str | None,
                   to_file: str | None, rate: float, concurrency: int, truth_file: str | None) -> None:
    """Generate multilingual WhatsApp and CRM traffic (HK, TW, CN, JP, BR, MX, IN customers).

    \b
    Examples:
      scrm generate --contacts 2000 --days 30 --to-receiver http://127.0.0.1:8000
      scrm generate --contacts 50 --days 7 --seed 3 --to-file traffic.jsonl --truth truth.json
      scrm ingest traffic.jsonl
    """
    if (receiver is None) == (to_file is None):
        fail("generate", "give exactly one of --to-receiver URL or --to-file FILE")
    if contacts < 1 or days < 1:
        fail("generate", "--contacts and --days must be at least 1")
    config = Config(contacts=contacts, days=days, seed=seed, start=_start(start, days))
    traffic = simulate(config)
    first, last = config.start.date(), (config.start + timedelta(days=days - 1)).date()
    print(f"generated {len(traffic.posts):,} webhook posts for {contacts:,} customers, {first} to {last} "
          f"(seed {seed})", file=sys.stderr)
    if truth_file:
        Path(truth_file).write_text(json.dumps(ground_truth(traffic), ensure_ascii=False, indent=1))
    if to_file is not None:
        _write(traffic.posts, to_file)
        return
    assert receiver is not None
    await _post_all(traffic.posts, receiver.rstrip("/"), rate, max(1, concurrency))


def _start(text: str | None, days: int) -> datetime:
    if text is None:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=days)
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        fail("generate", f"--start {text!r} is not a date; write it as YYYY-MM-DD")


def _write(posts: list[Post], path: str) -> None:
    lines = (json.dumps(p.line(), ensure_ascii=False, separators=(",", ":")) + "\n" for p in posts)
    if path == "-":
        sys.stdout.writelines(lines)
        return
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    print(f"wrote {len(posts):,} lines to {path}; send them with: scrm ingest {path}", file=sys.stderr)


def _secrets() -> dict[str, str]:
    wa = settings.secrets(settings.whatsapp_app_secrets)
    integration = settings.secrets(settings.integration_secrets)
    if not wa or not integration:
        fail("generate", "posting to a receiver needs SCRM_WHATSAPP_APP_SECRETS and SCRM_INTEGRATION_SECRETS "
                         "(the same values the receiver has) to sign the requests")
    return {"whatsapp": wa[0], "agent_inbox": integration[0], "cdc": integration[0]}


async def _post_all(posts: list[Post], base: str, rate: float, concurrency: int) -> None:
    secrets = _secrets()
    progress = Progress("posting", len(posts))
    queue: asyncio.Queue[Post | None] = asyncio.Queue(maxsize=concurrency * 4)
    failures: list[str] = []
    started = time.monotonic()

    async def worker(client: aiohttp.ClientSession) -> None:
        while (post := await queue.get()) is not None:
            body = json.dumps(post.body, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json",
                       "X-Hub-Signature-256": sign_sha256(secrets[post.source], body)}
            for attempt in range(8):  # a 503 means Kafka did not take it yet: retry as Meta would
                try:
                    async with client.post(base + PATHS[post.source], data=body, headers=headers) as r:
                        status, text = r.status, await r.text()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    if status == 200:
                        break
                    error = f"HTTP {status}: {text[:200]}"
                    if status < 500:
                        failures.append(error)
                        break
                await asyncio.sleep(min(0.2 * 2 ** attempt, 5))
            else:
                failures.append(error)
            progress.add()

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:
        try:
            async with client.get(base + "/healthz") as r:
                r.raise_for_status()
        except (aiohttp.ClientError, TimeoutError) as exc:
            fail("generate", f"no receiver at {base} ({type(exc).__name__}); start one with `scrm receiver` "
                             "or write a file with --to-file")
        workers = [asyncio.create_task(worker(client)) for _ in range(concurrency)]
        for i, post in enumerate(posts):
            if rate > 0:
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            await queue.put(post)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    seconds = progress.finish()
    print(f"posted {len(posts) - len(failures):,} of {len(posts):,} in {seconds:.1f}s", file=sys.stderr)
    if failures:
        fail("generate", f"{len(failures)} posts were refused; first: {failures[0]}", code=1)
