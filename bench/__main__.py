"""``make bench``: run the benchmarks and print their figures (recorded in bench/RESULTS.md).

    .venv/bin/python -m bench            # all
    .venv/bin/python -m bench hot_path   # one
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys

from bench import gauge

BENCHMARKS = ["codec", "hot_path", "receiver", "automation", "stream_state", "sinks", "faust_floor", "e2e"]


def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(gauge.line("start"), flush=True)
    for name in names or BENCHMARKS:
        print(f"## {name}")
        print(json.dumps(importlib.import_module(f"bench.{name}").run(), indent=2), flush=True)
    print(gauge.line("end"))


if __name__ == "__main__":
    main(sys.argv[1:])
