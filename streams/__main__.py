"""``scrm``: Faust's command line with the project's app, agents, views and commands loaded."""

from __future__ import annotations

import streams.agents
import streams.commands
import streams.web  # noqa: F401
from streams.app import app


def main() -> None:
    app.main()


if __name__ == "__main__":
    main()
