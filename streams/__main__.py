"""``scrm``: Faust's command line with the project's app, agents, views and commands loaded."""

from __future__ import annotations

import sys

from streams.errors import ConfigError


def use_event_loop(name: str) -> None:
    """Install the event loop policy before anything creates a loop (the app's import does).

    uvloop (the default) runs the callbacks, futures and socket I/O that Faust and aiokafka
    create for every record in C: the worker spends about a fifth of its main thread in
    asyncio's own Python code (bench/RESULTS.md, "uvloop")."""
    if name != "uvloop":
        return
    try:
        import mode.loop

        mode.loop.use("uvloop")
    except ImportError:
        raise ConfigError("SCRM_EVENT_LOOP=uvloop but uvloop is not installed: pip install uvloop, "
                          "or set SCRM_EVENT_LOOP=asyncio") from None


def main() -> None:
    try:  # settings and the rule pack are read on import: a bad one is a user mistake, not a crash
        from streams.settings import Settings

        use_event_loop(Settings.from_env().event_loop)
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
