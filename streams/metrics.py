"""Worker metrics for Prometheus (``/metrics`` on the worker's web port).

Stage counters come from ``stats`` at scrape time (one source of truth for ``/stats/`` and
``/metrics``); consumer lag from the consumer's high-water marks and committed offsets; sink and
CRM figures are observed where they happen."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from streams import offset_safety, rocksdb_memory
from streams.stats import Stats

logger = logging.getLogger(__name__)


class StageCollector(Collector):
    """``scrm_stage_events_total{stage, outcome}`` (in, processed, deduplicated, dead_lettered,
    written, ...) and ``scrm_policy_decisions_total{outcome, reason}`` from the automation stage."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[CounterMetricFamily]:
        events = CounterMetricFamily("scrm_stage_events", "Events per pipeline stage and outcome",
                                     labels=["stage", "outcome"])
        decisions = CounterMetricFamily("scrm_policy_decisions", "Policy gate decisions by outcome and reason",
                                        labels=["outcome", "reason"])
        for (stage, outcome), n in sorted(self.stats.counts.items()):
            if outcome.startswith("decision."):
                verdict, _, reason = outcome.removeprefix("decision.").partition(".")
                decisions.add_metric([verdict, reason], n)
            else:
                events.add_metric([stage, outcome], n)
        yield events
        yield decisions


class LagCollector(Collector):
    """``scrm_consumer_lag{topic, partition}``: records not yet committed on the partitions this
    worker owns (high-water mark minus committed offset)."""

    def __init__(self, positions: Callable[[], list[tuple[str, int, int | None, int | None]]]) -> None:
        self.positions = positions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily("scrm_consumer_lag", "Records behind on each assigned partition",
                                labels=["topic", "partition"])
        try:
            rows = self.positions()
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail because the consumer is rebalancing
            logger.debug("no consumer positions for /metrics: %s", exc)
            rows = []
        for topic, partition, highwater, committed in rows:
            if highwater is not None:
                lag.add_metric([topic, str(partition)], max(0, highwater - (committed or 0)))
        yield lag


class RewindCollector(Collector):
    """``scrm_consumer_rewinds_total{topic}``: seeks back to a record read past but never processed
    (``streams.offset_safety``); each one means records processed a second time."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily("scrm_consumer_rewinds", "Seeks back to a record read past but never "
                                     "processed", labels=["topic"])
        for topic, n in sorted(offset_safety.rewinds.items()):
            family.add_metric([topic], n)
        yield family


class RocksDBMemoryCollector(Collector):
    """``scrm_rocksdb_memory_bytes{kind}``: what the table stores hold of the worker's shared budget
    (``streams.rocksdb_memory``): the block cache (memtables included) and the memtables alone."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("scrm_rocksdb_memory_bytes", "Memory held by the table stores' shared "
                                   "block cache and, within it, their memtables", labels=["kind"])
        for kind, n in rocksdb_memory.usage().items():
            family.add_metric([kind], n)
        yield family


class WorkerMetrics:
    def __init__(self, stats: Stats, positions: Callable[[], list[tuple[str, int, int | None, int | None]]]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(StageCollector(stats))
        self.registry.register(LagCollector(positions))
        self.registry.register(RewindCollector())
        self.registry.register(RocksDBMemoryCollector())
        self.sink_seconds = Histogram("scrm_sink_insert_seconds", "Time to insert one batch into ClickHouse "
                                      "(retries included)", ["table"], registry=self.registry,
                                      buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.sink_rows = Histogram("scrm_sink_batch_rows", "Rows per ClickHouse insert batch", ["table"],
                                   registry=self.registry, buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000))
        self.loop_lag = Histogram("scrm_event_loop_lag_seconds", "How late the worker's event loop woke a "
                                  "sleeping task (sampled every 0.1 s): a step holding the loop delays every stage",
                                  registry=self.registry,
                                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.crm_responses = Counter("scrm_crm_http_responses", "CRM API responses by HTTP status "
                                     "(429: rate limited; 'timeout' and 'error' for no answer)", ["status"],
                                     registry=self.registry)

    def crm_attempts(self, attempt_log: str) -> None:
        for status in filter(None, attempt_log.split(",")):
            self.crm_responses.labels(status).inc()


def consumer_positions(app: Any, topics: set[str]) -> list[tuple[str, int, int | None, int | None]]:
    """(topic, partition, high-water mark, committed offset) for the partitions of ``topics`` (the
    agents' sources; table changelogs are assigned too, but for recovery) assigned to this worker."""
    consumer = app.consumer
    rows = []
    for tp in sorted(tp for tp in consumer.assignment() if tp.topic in topics):
        committed = consumer._committed_offset.get(tp)  # Faust keeps no public accessor
        rows.append((tp.topic, tp.partition, consumer.highwater(tp), committed))
    return rows
