-- Every webhook request as it reached the raw topics (WhatsApp, CRM, the agent inbox and the
-- sender's own echoes): the ClickHouse copy of the replay source. One logical row per request_id
-- (the receiver's id of one delivery; `scrm ingest` derives it from the body hash, so a file
-- ingested twice is one request). Meta retries the same body as a new delivery: count them with
-- `count() - uniqExact(body_sha256)`. The body holds message text and phone numbers; it expires
-- after ${body_ttl_days} days (SCRM_BODY_TTL_DAYS) while the row's metadata stays.

CREATE TABLE IF NOT EXISTS ${database}.raw_webhooks
(
    request_id            String,
    source                LowCardinality(String) COMMENT 'whatsapp | agent_inbox | sender | hubspot | cdc',
    received_at           DateTime64(3, 'UTC') COMMENT 'wall time the receiver (or scrm ingest) took it',
    signature_verified    Bool,
    content_type          LowCardinality(Nullable(String)),
    user_agent            LowCardinality(Nullable(String)),
    body_sha256           String,
    body_bytes            UInt32,
    body_encoding         LowCardinality(String) COMMENT 'utf8, or base64 when the bytes are not UTF-8',
    body                  Nullable(String) TTL toDateTime(received_at) + INTERVAL ${body_ttl_days} DAY,
    src_topic             LowCardinality(String),
    src_partition         UInt16,
    src_offset            UInt64,
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (source, request_id)
SETTINGS non_replicated_deduplication_window = 1000;
