"""Failpoints: named places where a test makes the worker crash the hard way (SIGKILL to itself),
to prove what survives. Off unless ``SCRM_FAILPOINTS`` names them (comma-separated); each fires
once per process."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable

logger = logging.getLogger(__name__)


def failpoints(names: str | None) -> Callable[[str], None]:
    armed = {n.strip() for n in (names or "").split(",") if n.strip()}
    if armed:
        logger.warning("failpoints armed (test setting SCRM_FAILPOINTS): %s", ", ".join(sorted(armed)))

    def hit(name: str) -> None:
        if name in armed:
            armed.discard(name)
            logger.warning("failpoint %s: killing this worker (SIGKILL)", name)
            os.kill(os.getpid(), signal.SIGKILL)

    return hit
