"""One memory budget for every RocksDB store of a worker (Faust tables, rocksdict driver).

Faust opens one RocksDB per table partition, each with a block cache of its own and its own
memtables, and leaves index and filter blocks outside any cache: a worker's memory grew with the
number of table partitions it held and with the state in them (8 tables x 4 partitions gave a
2 GiB ceiling, and RSS kept growing with the contacts seen). As Kafka Streams' bounded-memory
RocksDB config does, every store of the process shares one LRU block cache of
``SCRM_ROCKSDB_MEMORY_MB``, the memtables are charged to that cache through one write buffer
manager (half the budget; RocksDB flushes memtables when they outgrow it), and index and filter
blocks live in the cache too (level-0 ones pinned). Reads that miss the cache go to the OS page
cache; correctness does not depend on the budget, only speed does."""

from __future__ import annotations

from typing import Any

import rocksdict
from faust.stores.rocksdb import RocksDBOptions

from streams.settings import BUDGET_OPTION

_shared: dict[int, tuple[rocksdict.Cache, rocksdict.WriteBufferManager]] = {}


def shared(budget: int) -> tuple[rocksdict.Cache, rocksdict.WriteBufferManager]:
    """The process-wide block cache and write buffer manager for a budget in bytes."""
    if budget not in _shared:
        cache = rocksdict.Cache(budget)
        _shared[budget] = cache, rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            budget // 2, False, cache)
    return _shared[budget]


def usage() -> dict[str, int]:
    """Bytes held in the shared caches (block cache incl. charged memtables, and memtables alone)."""
    return {"block_cache": sum(c.get_usage() for c, _ in _shared.values()),
            "memtables": sum(w.get_usage() for _, w in _shared.values())}


def install() -> None:
    """Make Faust's rocksdict stores use the shared budget when their options carry one."""
    if getattr(RocksDBOptions, "_scrm_budget", False):
        return
    as_options = RocksDBOptions.as_options

    def _as_options(self: Any) -> Any:
        budget = self.extra_options.get(BUDGET_OPTION)
        if budget is None or not self.use_rocksdict:
            return as_options(self)
        cache, write_buffers = shared(int(budget))
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(self.max_open_files)
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_max_write_buffer_number(self.max_write_buffer_number)
        options.set_write_buffer_manager(write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, True)
        table.set_block_cache(cache)
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options

    RocksDBOptions.as_options = _as_options  # type: ignore[method-assign]
    RocksDBOptions._scrm_budget = True  # type: ignore[attr-defined]
