"""``scrm webhook parse FILE...``: the normalized events of webhook bodies, as JSON lines.

For users debugging a payload: prints what the pipeline would emit, one JSON object per event
with its ``kind`` (message, status, preference, business, ignored). A body the pipeline would
dead-letter prints the reason on stderr and makes the exit status 1. ``-`` reads stdin."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from processors.errors import InvalidEvent
from processors.whatsapp import parse_webhook
from streams.app import app
from streams.faust_cli import argument
from streams.mapping import to_avro

_KINDS = (("message", "messages"), ("status", "statuses"), ("preference", "preferences"),
          ("business", "business"), ("ignored", "ignored"))


@app.command(
    argument("action", type=click.Choice(["parse"])),
    argument("files", nargs=-1, required=True),
)
async def webhook(self: Any, action: str, files: tuple[str, ...]) -> None:
    """Parse WhatsApp webhook bodies (files, or - for stdin) and print their events as JSON lines."""
    failed = 0
    for name in files:
        try:
            body = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            print(f"scrm webhook parse: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
            failed += 1
            continue
        try:
            parsed = parse_webhook(body, received_at_ms=int(time.time() * 1000),
                                   envelope_sha256=hashlib.sha256(body).hexdigest())
        except InvalidEvent as exc:
            print(f"scrm webhook parse: {name}: would be dead-lettered: {exc}", file=sys.stderr)
            failed += 1
            continue
        for kind, attr in _KINDS:
            for event in getattr(parsed, attr):
                print(json.dumps({"file": name, "kind": kind, **to_avro(event)}, ensure_ascii=False))
    if failed:
        raise SystemExit(1)
