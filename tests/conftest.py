"""Shared fixtures: a real Kafka broker per test session (free ports, fresh data dir, never the
user's 9092) and one embedded ClickHouse per session (chDB allows one data path per process;
tests isolate themselves with their own database)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.broker import free_port, load_kafka_module

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
__all__ = ["free_port"]
TIERS = {"unit": "unit", "integration": None, "e2e": "e2e", "conformance": "conformance", "reliability": "reliability"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        marker = TIERS.get(tier)
        if marker:
            item.add_marker(marker)


@pytest.fixture(scope="session")
def kafka_module():
    return load_kafka_module()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory, kafka_module) -> Iterator[str]:
    external = os.environ.get("SCRM_TEST_KAFKA_BOOTSTRAP")
    if external:  # e.g. a docker compose broker
        yield external
        return
    run_dir = tmp_path_factory.mktemp("kafka")
    cfg = kafka_module.BrokerConfig(run_dir, free_port(), free_port(), heap="768m")
    state = kafka_module.start(cfg)
    print(f"\nkafka test broker on {state['bootstrap']} started in {state.get('start_seconds')}s")
    try:
        yield state["bootstrap"]
    finally:
        kafka_module.stop(run_dir)


@pytest.fixture(scope="session")
def chdb_backend(tmp_path_factory: pytest.TempPathFactory):
    from sinks.clickhouse.chdb_backend import ChdbBackend

    backend = ChdbBackend(tmp_path_factory.mktemp("chdb"))
    yield backend
    backend.close()


@pytest.fixture
def database(chdb_backend) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    chdb_backend.execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]
