-- Messages (inbound and outbound) and dead letters. ${database} and ${body_ttl_days} are filled in
-- by `scrm migrate`. ReplacingMergeTree on the natural id is the last line of dedup; inserts also
-- carry insert_deduplication_token = topic-partition-firstOffset-lastOffset.

CREATE DATABASE IF NOT EXISTS ${database};

CREATE TABLE IF NOT EXISTS ${database}.messages
(
    wamid                String,
    direction            LowCardinality(String),
    sender_kind          LowCardinality(String),
    agent_id             Nullable(String),
    phone_number_id      LowCardinality(String),
    display_phone_number LowCardinality(Nullable(String)),
    waba_id              LowCardinality(Nullable(String)),
    contact_key          String,
    wa_id                Nullable(String),
    user_id              Nullable(String),
    phone_e164           Nullable(String),
    profile_name         Nullable(String),
    message_type         LowCardinality(String),
    text                 Nullable(String) TTL toDateTime(ts) + INTERVAL ${body_ttl_days} DAY,
    payload_json         Nullable(String) TTL toDateTime(ts) + INTERVAL ${body_ttl_days} DAY,
    context_wamid        Nullable(String),
    ts                   DateTime64(3, 'UTC') COMMENT 'Meta event time',
    received_at          DateTime64(3, 'UTC'),
    envelope_sha256      String,
    src_topic            LowCardinality(String),
    src_partition        UInt16,
    src_offset           UInt64,
    inserted_at          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (phone_number_id, contact_key, wamid)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS ${database}.dead_letters
(
    dlq_partition   UInt16,
    dlq_offset      UInt64,
    topic           LowCardinality(String),
    partition       Int32,
    offset          Int64,
    stage           LowCardinality(String),
    error_class     LowCardinality(String),
    error_message   String,
    attempts        UInt32,
    first_failure   DateTime64(3, 'UTC'),
    last_failure    DateTime64(3, 'UTC'),
    original_key_b64   Nullable(String),
    original_value_b64 String,
    inserted_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(last_failure)
ORDER BY (dlq_partition, dlq_offset)
SETTINGS non_replicated_deduplication_window = 1000;
