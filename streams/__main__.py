"""``scrm``: Faust's command line with the project's app, agents, views and commands loaded."""

from __future__ import annotations

import sys

from streams.errors import ConfigError


def main() -> None:
    try:  # settings and the rule pack are read on import: a bad one is a user mistake, not a crash
        import streams.agents
        import streams.commands
        import streams.watchdog
        import streams.web  # noqa: F401
        from streams.app import app
    except ConfigError as exc:
        print(f"scrm: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if sys.argv[1:2] == ["worker"]:
        from streams.erasures import preload

        preload()  # the stages then never wait for the erasure list while partitions are assigned
    app.main()


if __name__ == "__main__":
    main()
