"""Every table store of a worker shares one RocksDB memory budget (``streams.rocksdb_memory``), on
real rocksdict stores opened through Faust's options as the worker opens them."""

from __future__ import annotations

from pathlib import Path

import pytest
from faust.stores.rocksdb import RocksDBOptions

from streams import rocksdb_memory
from streams.settings import Settings


@pytest.fixture(autouse=True)
def installed() -> None:
    rocksdb_memory.install()


def test_stores_with_the_budget_share_one_cache_that_their_memtables_are_charged_to(tmp_path: Path) -> None:
    budget = 24 * 2**20  # a budget no other test uses: this test owns its cache
    options = {**Settings.from_env({"SCRM_ROCKSDB_WRITE_BUFFER_MB": "1"}).table_options(retention_days=8),
               "scrm_memory_bytes": budget}
    stores = [RocksDBOptions(**options).open(tmp_path / f"p{i}") for i in range(4)]
    try:
        value = bytes(300)
        for n in range(40_000):
            stores[n % 4][n.to_bytes(8, "big")] = value
        cache, write_buffers = rocksdb_memory.shared(budget)
        assert write_buffers.get_buffer_size() == budget // 2
        assert write_buffers.get_usage() > 0  # the four stores' memtables, counted in one place
        assert cache.get_usage() >= write_buffers.get_usage()  # ... and charged to the shared cache
        assert stores[3][(39_999).to_bytes(8, "big")] == value
    finally:
        for store in stores:
            store.close()
    assert RocksDBOptions(**options).open(tmp_path / "p1")[(1).to_bytes(8, "big")] == value


def test_stores_without_the_budget_keep_fausts_own_options(tmp_path: Path) -> None:
    store = RocksDBOptions(block_cache_size=2**20).open(tmp_path / "plain")
    try:
        store[b"k"] = b"v"
        assert store[b"k"] == b"v"
    finally:
        store.close()


def test_usage_reports_both_kinds() -> None:
    assert set(rocksdb_memory.usage()) == {"block_cache", "memtables"}
