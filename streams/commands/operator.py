"""Who ran a command, for the records it leaves (unmerges, redrives): user@host."""

from __future__ import annotations

import getpass
import socket


def operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
