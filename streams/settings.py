"""Typed, frozen settings from ``SCRM_*`` environment variables, with embedded-setup defaults.

Built once at the entry point (``streams.app``); domain code receives values, never reads env."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from streams.errors import ConfigError

BUDGET_OPTION = "scrm_memory_bytes"  # the table option carrying the RocksDB budget (``streams.rocksdb_memory``)
# the worker's stages (SCRM_STAGES) and what each reads (``streams.agents``)
STAGES = {
    "normalize": "raw.whatsapp, raw.crm -> messages, statuses, preferences, signals, business.events, crm.changes, "
                 "identity",
    "state": "statuses, messages -> message.state, conversations, tags",
    "automation": "signals -> decisions, outbound, crm.writes, scores, identity",
    "identity": "identity -> contacts, contact.merges, contact.conflicts",
    "crm": "crm.writes -> the CRM, crm.write.results",
    "sender": "outbound -> WhatsApp, outbound.sends",
    "sinks": "every topic with a ClickHouse table -> ClickHouse",
}


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = "scrm."
    app_id: str = "scrm"
    topic_replication: int = 1
    data_dir: Path = Path("var/faust")
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    clickhouse_url: str | None = field(default=None, repr=False)
    clickhouse_path: Path = Path("var/clickhouse")
    clickhouse_database: str = "scrm"
    schema_registry_url: str | None = field(default=None, repr=False)
    session_timeout_s: float = 10.0
    sink_batch_size: int = 2000
    sink_batch_seconds: float = 1.0
    automation_batch_size: int = 500  # signals the automation stage takes at once: one producer flush each
    automation_batch_seconds: float = 0.1  # ... or what arrived within this long
    stages: str = "all"  # the stages this worker runs: all, or a comma list of STAGES (e.g. normalize,state,sinks)
    event_loop: str = "uvloop"  # uvloop | asyncio: the worker's event loop (uvloop: less CPU per event)
    producer_linger_ms: float = 10.0  # the producer waits this long to fill a batch: fewer, larger produce requests
    body_ttl_days: int = 180
    table_store: str = "rocksdb://"
    default_region: str = "HK"
    log_level: str = "info"
    receiver_host: str = "127.0.0.1"
    receiver_port: int = 8080
    receiver_max_body_bytes: int = 1_048_576
    receiver_public_url: str | None = None  # the URL HubSpot calls (its v3 signature covers it)
    receiver_produce_timeout_s: float = 5.0
    receiver_rejects_per_s: float = 10.0  # bad-signature requests kept in the DLQ per second (0 = none)
    whatsapp_app_secrets: str | None = field(default=None, repr=False)  # comma-separated (rotation)
    whatsapp_verify_token: str | None = field(default=None, repr=False)
    hubspot_client_secrets: str | None = field(default=None, repr=False)
    integration_secrets: str | None = field(default=None, repr=False)  # CDC and agent-inbox posts
    rules_file: str | None = None  # tagging rule pack (YAML); the packaged default pack when unset
    automations_file: str | None = None  # automations + policy/churn limits (YAML); packaged default when unset
    sentiment_file: str | None = None  # sentiment lexicon (YAML rule pack); packaged default when unset
    clock_tick_seconds: float = 60.0  # the leader ticks event time this often on idle partitions; 0 = off
    max_clock_skew_seconds: float = 300.0  # event times further ahead of the wall clock do not move timers
    stall_seconds: float = 300.0  # no committed progress with lag this long after recovery: exit 70 (0 = off)
    log_format: str = "text"  # worker log lines: text | json (phone numbers masked in both)
    dlq_max_consecutive: int = 100  # a stage dead-letters this many records in a row: exit 71 (0 = off)
    dlq_max_ratio: float = 0.5  # ... or more than this share of a partition's last dlq_ratio_window (0 = off)
    dlq_ratio_window: int = 1000
    default_timezone: str = "UTC"  # for contacts whose phone number gives no time zone
    conversation_idle_hours: float = 24.0  # silence that ends a conversation
    conversation_reopen_days: float = 7.0  # a conversation this soon after a resolved one reopens it
    near_duplicate_seconds: float = 10.0  # same text, same sender, this close: flagged near_duplicate
    dedup_retention_days: float = 8.0  # seen ids kept (Meta retries webhooks for up to 7 days)
    receipt_retention_days: float = 35.0  # receipt state kept per message
    rocksdb_memory_mb: int = 512  # one budget for all table stores of a worker: block cache + memtables
    rocksdb_write_buffer_mb: int = 16  # per memtable; two memtables per table partition, within the budget
    sender_mode: str = "dry_run"  # WhatsApp sends: live | dry_run (record, send nothing) | off (skip)
    whatsapp_token: str | None = field(default=None, repr=False)  # Cloud API access token (live mode)
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    sender_max_attempts: int = 5  # tries per send for retryable errors (bounded, jittered back-off)
    sender_max_age_seconds: float = 3600.0  # commands decided longer ago are recorded expired, not sent
    sender_number_mps: float = 20.0  # messages per second per business number
    sender_recipient_gap_seconds: float = 6.0  # spacing of messages to the same customer (131056)
    crm_mode: str = "dry_run"  # CRM writes: hubspot | generic | dry_run (record, write nothing) | off (skip)
    hubspot_token: str | None = field(default=None, repr=False)  # private app access token
    hubspot_api_url: str = "https://api.hubapi.com"
    hubspot_id_property: str = "whatsapp_id"  # a contact property with unique values (the upsert key)
    hubspot_requests_per_10s: int = 90  # stay under the app's rolling 10-second limit (100 or 190)
    crm_generic_url: str | None = None  # generic adapter: POST one JSON per write (Idempotency-Key header)
    crm_generic_token: str | None = field(default=None, repr=False)
    crm_max_attempts: int = 10  # failures (5xx, timeouts) per request before the write is dead-lettered (~1-2 min)
    failpoints: str | None = None  # test-only: comma-separated failpoint names where the worker kills itself
    faults_dir: str | None = None  # test-only: while <dir>/clickhouse exists, ClickHouse inserts fail

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        for old, new in _REPLACED.items():
            if env.get(old):
                raise ConfigError(f"{old} is no longer read: {new}")
        values: dict[str, object] = {}
        for f in fields(cls):
            name = "SCRM_" + f.name.upper()
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(name, raw, f.type)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if not self.topic_prefix or any(c.isspace() for c in self.topic_prefix):
            raise ConfigError("SCRM_TOPIC_PREFIX must be non-empty without spaces (e.g. 'scrm.')")
        if not self.clickhouse_database.isidentifier():
            raise ConfigError("SCRM_CLICKHOUSE_DATABASE must be a plain identifier (e.g. 'scrm')")
        if self.receiver_max_body_bytes < 1024:
            raise ConfigError("SCRM_RECEIVER_MAX_BODY_BYTES must be at least 1024")
        if min(self.conversation_idle_hours, self.dedup_retention_days, self.receipt_retention_days) <= 0:
            raise ConfigError("SCRM_CONVERSATION_IDLE_HOURS and the *_RETENTION_DAYS settings must be > 0")
        if self.dedup_retention_days < 7:
            raise ConfigError("SCRM_DEDUP_RETENTION_DAYS must be at least 7: Meta retries a webhook for up to 7 days")
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"SCRM_DEFAULT_TIMEZONE={self.default_timezone!r} is not an IANA time zone "
                              "(e.g. Asia/Hong_Kong)") from None
        if self.rocksdb_memory_mb < 16 or self.rocksdb_write_buffer_mb < 1:
            raise ConfigError("SCRM_ROCKSDB_MEMORY_MB must be >= 16 and SCRM_ROCKSDB_WRITE_BUFFER_MB >= 1")
        if self.clock_tick_seconds < 0 or self.max_clock_skew_seconds < 0:
            raise ConfigError("SCRM_CLOCK_TICK_SECONDS and SCRM_MAX_CLOCK_SKEW_SECONDS must be >= 0")
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"SCRM_LOG_FORMAT={self.log_format!r}: use text or json")
        if self.dlq_max_consecutive < 0 or not 0 <= self.dlq_max_ratio <= 1 or self.dlq_ratio_window < 1:
            raise ConfigError("SCRM_DLQ_MAX_CONSECUTIVE must be >= 0, SCRM_DLQ_MAX_RATIO between 0 and 1 "
                              "and SCRM_DLQ_RATIO_WINDOW >= 1 (0 turns a limit off)")
        if self.sink_batch_size < 1 or self.sink_batch_seconds <= 0:
            raise ConfigError("SCRM_SINK_BATCH_SIZE must be >= 1 and SCRM_SINK_BATCH_SECONDS > 0")
        if self.automation_batch_size < 1 or self.automation_batch_seconds <= 0:
            raise ConfigError("SCRM_AUTOMATION_BATCH_SIZE must be >= 1 and SCRM_AUTOMATION_BATCH_SECONDS > 0")
        unknown = sorted(set(self.stage_names) - set(STAGES))
        if unknown or not self.stage_names:
            raise ConfigError(f"SCRM_STAGES={self.stages!r}: use all, or a comma list of {', '.join(STAGES)}")
        if "automation" in self.stage_names and "normalize" not in self.stage_names:
            raise ConfigError(f"SCRM_STAGES={self.stages!r}: automation needs normalize in the same worker "
                              "(its clock ticks follow how far normalize has read the raw topic)")
        if self.event_loop not in ("uvloop", "asyncio"):
            raise ConfigError(f"SCRM_EVENT_LOOP={self.event_loop!r}: use uvloop or asyncio")
        if not 0 <= self.producer_linger_ms <= 1000:
            raise ConfigError("SCRM_PRODUCER_LINGER_MS must be between 0 and 1000")
        if self.sender_mode not in ("live", "dry_run", "off"):
            raise ConfigError(f"SCRM_SENDER_MODE={self.sender_mode!r}: use live, dry_run or off")
        if self.sender_mode == "live" and not self.whatsapp_token:
            raise ConfigError("SCRM_SENDER_MODE=live needs SCRM_WHATSAPP_TOKEN (a Cloud API access token)")
        if self.crm_mode not in ("hubspot", "generic", "dry_run", "off"):
            raise ConfigError(f"SCRM_CRM_MODE={self.crm_mode!r}: use hubspot, generic, dry_run or off")
        if self.crm_mode == "hubspot" and not self.hubspot_token:
            raise ConfigError("SCRM_CRM_MODE=hubspot needs SCRM_HUBSPOT_TOKEN (a private app access token)")
        if self.crm_mode == "generic" and not self.crm_generic_url:
            raise ConfigError("SCRM_CRM_MODE=generic needs SCRM_CRM_GENERIC_URL (the endpoint that takes the writes)")
        if self.crm_max_attempts < 1 or self.hubspot_requests_per_10s < 1:
            raise ConfigError("SCRM_CRM_MAX_ATTEMPTS and SCRM_HUBSPOT_REQUESTS_PER_10S must be >= 1")
        if self.sender_max_attempts < 1 or self.sender_number_mps <= 0 or self.sender_recipient_gap_seconds < 0:
            raise ConfigError("SCRM_SENDER_MAX_ATTEMPTS must be >= 1, SCRM_SENDER_NUMBER_MPS > 0 and "
                              "SCRM_SENDER_RECIPIENT_GAP_SECONDS >= 0")

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The stages this worker runs, in STAGES order when ``all``."""
        if self.stages.strip() == "all":
            return tuple(STAGES)
        return tuple(s.strip() for s in self.stages.split(",") if s.strip())

    @staticmethod
    def secrets(value: str | None) -> tuple[str, ...]:
        """A comma-separated secret setting as a tuple (several accepted during a rotation)."""
        return tuple(s.strip() for s in (value or "").split(",") if s.strip())

    def table_options(self, *, retention_days: float | None = None) -> dict[str, object]:
        """RocksDB options for one Faust table (a fresh dict: Faust's store consumes it). Every table
        partition shares the worker's memory budget (``streams.rocksdb_memory``); a retention sets
        RocksDB's TTL so the local store sheds what the changelog topic deletes."""
        mb = 1024 * 1024
        options: dict[str, object] = {BUDGET_OPTION: self.rocksdb_memory_mb * mb,
                                       "block_cache_compressed_size": 0,
                                       "write_buffer_size": self.rocksdb_write_buffer_mb * mb,
                                       "max_write_buffer_number": 2}
        if retention_days is not None:
            options["ttl"] = int(retention_days * 86400)
        return options

    @staticmethod
    def changelog_config(retention_days: float) -> dict[str, str]:
        """A table's changelog topic that forgets keys older than the retention (compact + delete)."""
        return {"cleanup.policy": "compact,delete", "retention.ms": str(int(retention_days * 86_400_000))}

    @property
    def kafka_url(self) -> str:
        return "kafka://" + ";".join(self.kafka_bootstrap.split(","))

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"

    def topic(self, suffix: str) -> str:
        return self.topic_prefix + suffix

    def describe(self) -> dict[str, str]:
        """Every setting for logs and ``scrm`` output, secrets and credentials masked."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _mask(value) if not f.repr and value else str(value)
        return out


def _mask(value: object) -> str:
    text = str(value)
    if "://" in text and "@" in text:  # URL with credentials: keep scheme and host
        scheme, rest = text.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return text if "://" in text else "***"


def _convert(name: str, raw: str, type_: object) -> object:
    text = str(type_)
    try:
        if text in ("int",):
            return int(raw)
        if text in ("float",):
            return float(raw)
        if text in ("Path",):
            return Path(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a valid {text}") from exc
    return raw


_REPLACED = {  # removed settings: what replaced them
    "SCRM_ROCKSDB_BLOCK_CACHE_MB": "set SCRM_ROCKSDB_MEMORY_MB, one budget (MiB) for block cache and memtables "
                                   "shared by all table stores of a worker (default 512)",
}
