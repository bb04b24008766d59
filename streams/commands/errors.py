"""How commands end on a user mistake: one clear line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

import sys
from typing import NoReturn


def fail(command: str, message: str, code: int = 2) -> NoReturn:
    print(f"scrm {command}: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)
