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

BENCHMARKS = ["codec", "hot_path", "receiver", "automation", "stream_state", "sinks", "e2e"]


def main(names: list[str]) -> None:
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    for name in names or BENCHMARKS:
        if name not in BENCHMARKS:
            sys.exit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
        print(f"## {name}")
        print(json.dumps(importlib.import_module(f"bench.{name}").run(), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
