"""A throwaway local Kafka broker (free ports, fresh directory), through the same
``deploy/local/kafka.py`` users run; shared by the benchmarks and the test fixtures.
``SCRM_BENCH_KAFKA_BOOTSTRAP`` makes a benchmark use an existing broker."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_kafka_module():  # type: ignore[no-untyped-def]
    """``deploy/local/kafka.py`` as a module (deploy/ is not a package: load the script users run)."""
    spec = importlib.util.spec_from_file_location("scrm_local_kafka", ROOT / "deploy/local/kafka.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BROKER_PIDS: list[int] = []  # of the brokers local_broker() runs now


@contextmanager
def local_broker() -> Iterator[str]:
    external = os.environ.get("SCRM_BENCH_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    kafka = load_kafka_module()
    with tempfile.TemporaryDirectory(prefix="scrm-bench-kafka-") as tmp:
        state = kafka.start(kafka.BrokerConfig(Path(tmp), free_port(), free_port(), heap="1g"))
        BROKER_PIDS.append(state["pid"])
        try:
            yield state["bootstrap"]
        finally:
            BROKER_PIDS.remove(state["pid"])
            kafka.stop(Path(tmp))


def broker_cpu_s() -> float:
    """CPU seconds of the broker(s) this process started (0 with SCRM_BENCH_KAFKA_BOOTSTRAP)."""
    from bench.procs import cpu_s

    return sum(cpu_s(pid) for pid in BROKER_PIDS)
