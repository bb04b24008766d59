"""``scrm rules test FILE TEXT`` (which rules fire on a message, and why) and ``scrm rules check
FILE`` (is the pack valid). FILE may be ``default`` for the packaged pack."""

from __future__ import annotations

from typing import Any

import click

from processors.tagging import explain
from processors.textnorm import fold
from streams.app import app
from streams.commands.errors import fail
from streams.commands.output import render
from streams.errors import ConfigError
from streams.faust_cli import argument, option
from streams.rules import read_pack


@app.command(
    argument("action", type=click.Choice(["test", "check"])),
    argument("file"),
    argument("text", nargs=-1),
    option("--all", "show_all", is_flag=True, default=False, help="also list the rules that do not fire"),
    option("--format", "fmt", type=click.Choice(["table", "json"]), default="table"),
)
async def rules(self: Any, action: str, file: str, text: tuple[str, ...], show_all: bool, fmt: str) -> None:
    """Tagging rule packs: `test FILE "message"` shows the rules that fire and why; `check FILE` validates."""
    try:
        pack = read_pack(None if file == "default" else file)
    except ConfigError as exc:
        fail(f"rules {action}", str(exc))
    if action == "check":
        if text:
            fail("rules check", "takes only the FILE (did you mean `scrm rules test FILE \"message\"`?)")
        print(f"{file}: pack {pack.name} version {pack.version}, {len(pack.rules)} rules, valid")
        return
    message = " ".join(text)
    if not message.strip():
        fail("rules test", 'give the message to test: scrm rules test FILE "有折扣嗎？"')
    rows = [[rule.tag, "yes" if fires else "no", rule.department, why or ""]
            for rule, fires, why in explain(pack, message) if fires or show_all or why]
    if fmt == "table":
        print(f"pack {pack.name} version {pack.version}; folded text: {fold(message)}")
    print(render(["tag", "fires", "department", "why"], rows, fmt))
