"""How commands end on a user mistake: one clear line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

from processors.timestamps import iso8601_to_ms


def fail(command: str, message: str, code: int = 2) -> NoReturn:
    print(f"scrm {command}: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def time_argument(command: str, option: str, text: str) -> int:
    """An event time given on the command line: epoch milliseconds or ISO-8601 with a timezone."""
    if text.isdigit():
        return int(text)
    try:
        return iso8601_to_ms(text)
    except ValueError:
        fail(command, f"{option} {text!r} is neither epoch milliseconds nor ISO-8601 with a timezone "
                      "(e.g. 2026-12-31T10:00:00+08:00)")
