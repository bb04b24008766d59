"""The Faust application: settings, catalog, topics and the ClickHouse warehouse the worker owns.

Agents (``streams.agents``), web views (``streams.web``) and CLI commands (``streams.commands``)
register themselves on ``app``; ``streams.__main__`` imports them all."""

from __future__ import annotations

import faust

from processors.dlq_limit import DlqGuard, DlqLimit
from streams import fast_delivery, offset_safety, producer_flush, rocksdb_memory
from streams.catalog import load_catalog
from streams.codec import make_framing
from streams.dlq import DeadLetters
from streams.logs import keep_root_level, logging_config, quiet_repeats
from streams.metrics import WorkerMetrics, consumer_positions
from streams.settings import Settings
from streams.stats import Stats
from streams.topics import Topics
from streams.warehouse import Warehouse

settings = Settings.from_env()
catalog = load_catalog()
framing = make_framing(catalog, settings.schema_registry_url)
settings.data_dir.mkdir(parents=True, exist_ok=True)

app = faust.App(
    settings.app_id,
    broker=settings.kafka_url,
    datadir=str(settings.data_dir),
    autodiscover=False,
    web_host=settings.web_host,
    web_port=settings.web_port,
    web_bind=settings.web_host,
    web_in_thread=False,
    consumer_auto_offset_reset="earliest",
    topic_replication_factor=settings.topic_replication,
    producer_acks=-1,
    producer_linger=settings.producer_linger_ms / 1000,
    broker_commit_every=1000,
    broker_commit_interval=1.0,
    # a crashed worker's partitions move after this long (Faust's default is 60 s)
    broker_session_timeout=settings.session_timeout_s,
    broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 5),
    store=settings.table_store,
    # Do not wait for in-flight events on shutdown or revocation: Faust can drop buffered events
    # while stopping and then wait for their acks forever (a SIGTERM'd worker hung in
    # Consumer.wait_empty). Offsets are committed only up to acked events, every effect is
    # idempotent, so whatever was in flight is processed again by the next owner.
    stream_wait_empty=False,
    logging_config=logging_config(settings.log_format),
)
topics = Topics(app, settings, catalog, framing)
offset_safety.install({settings.topic(t.name) for t in catalog.topics if "compact" in t.cleanup}.__contains__)
producer_flush.install()
fast_delivery.install()
rocksdb_memory.install()
keep_root_level()
quiet_repeats()
stats = Stats()
metrics = WorkerMetrics(stats, lambda: consumer_positions(app, set(consumed_topics())))
warehouse = Warehouse(settings)
dead_letters = DeadLetters(topics["dlq"].topic, topics["dlq"].codec, DlqGuard(
    DlqLimit(settings.dlq_max_consecutive, settings.dlq_max_ratio, settings.dlq_ratio_window)), stats)


def consumed_topics() -> list[str]:
    """Every topic an agent of this app reads (what `scrm wait` and the stall watchdog watch)."""
    return sorted({t for agent in app.agents.values() for t in agent.channel.topics})
