"""``scrm settings``: the effective configuration."""

from __future__ import annotations

from typing import Any

import streams.app as pipeline
from streams.app import app
from streams.commands.output import table


@app.command()
async def settings(self: Any) -> None:
    """Print the effective settings (from SCRM_* variables), credentials masked."""
    print(table(["setting", "value"], [[k, v] for k, v in pipeline.settings.describe().items()]))
