"""``scrm phone normalize NUMBER [--region XX] [--wa-id]``: E.164 form and candidate keys as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from processors.phones import InvalidPhone, Origin, normalize_phone
from streams.app import app, settings
from streams.commands.errors import fail
from streams.faust_cli import argument, option


@app.command(
    argument("action", type=click.Choice(["normalize"])),
    argument("number", nargs=-1, required=True),
    option("--region", type=str, default=None,
           help="default region for numbers without a country code (default: SCRM_DEFAULT_REGION)"),
    option("--wa-id", "wa_id", is_flag=True, default=False,
           help="the number is a WhatsApp id (wa_id) rather than something a person typed"),
)
async def phone(self: Any, action: str, number: tuple[str, ...], region: str | None, wa_id: bool) -> None:
    """Normalize a phone number: prints {"e164", "keys", "region", "valid", "rule"} as JSON."""
    text = " ".join(number)  # `scrm phone normalize 5123 4567` works unquoted
    region = (region or settings.default_region).upper()
    try:
        result = normalize_phone(text, region, Origin.WA_ID if wa_id else Origin.TYPED)
    except InvalidPhone as exc:
        fail("phone normalize", f"{str(exc).removeprefix('bad_phone: ')} (input {text!r}, region {region})")
    print(json.dumps({"input": text, "default_region": region, **asdict(result)}, ensure_ascii=False))
