-- Stream state (DESIGN §6): receipts as they came (statuses), each message's latest receipt state
-- (message_state), conversations with first response times, and tags. Rows of one entity carry a
-- `version` that only grows; ReplacingMergeTree(version) keeps the latest, so a re-emitted row (a
-- worker restarted between sending and committing) collapses. Query with FINAL, or argMax by version.

CREATE TABLE IF NOT EXISTS ${database}.statuses
(
    wamid                 String,
    status                LowCardinality(String),
    status_raw            LowCardinality(String),
    phone_number_id       LowCardinality(String),
    contact_key           String,
    wa_id                 Nullable(String),
    user_id               Nullable(String),
    recipient_type        LowCardinality(Nullable(String)),
    error_code            Nullable(Int32),
    error_title           Nullable(String),
    errors_json           Nullable(String),
    conversation_id       Nullable(String),
    conversation_category LowCardinality(Nullable(String)),
    conversation_expires  Nullable(DateTime64(3, 'UTC')),
    pricing_billable      Nullable(Bool),
    pricing_model         LowCardinality(Nullable(String)),
    pricing_category      LowCardinality(Nullable(String)),
    callback_data         Nullable(String),
    ts                    DateTime64(3, 'UTC') COMMENT 'Meta event time',
    received_at           DateTime64(3, 'UTC'),
    envelope_sha256       String,
    src_topic             LowCardinality(String),
    src_partition         UInt16,
    src_offset            UInt64,
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (phone_number_id, contact_key, wamid, status_raw)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS ${database}.message_state
(
    wamid                 String,
    contact_key           String,
    state                 LowCardinality(String) COMMENT 'sent < delivered < read < played, failed is terminal',
    state_rank            UInt8 COMMENT '1 sent, 2 delivered, 3 read, 4 played, 5 failed',
    updated               DateTime64(3, 'UTC') COMMENT 'Meta time of the status that set the state',
    sent                  Nullable(DateTime64(3, 'UTC')),
    delivered             Nullable(DateTime64(3, 'UTC')),
    read                  Nullable(DateTime64(3, 'UTC')),
    played                Nullable(DateTime64(3, 'UTC')),
    failed                Nullable(DateTime64(3, 'UTC')),
    deleted               Nullable(DateTime64(3, 'UTC')),
    error_code            Nullable(Int32),
    error_title           Nullable(String),
    regressions_prevented UInt32,
    version               UInt64,
    src_partition         UInt16,
    src_offset            UInt64,
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(updated)
ORDER BY (contact_key, wamid)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS ${database}.conversations
(
    conversation_id       String,
    contact_key           String,
    phone_number_id       LowCardinality(String),
    started               DateTime64(3, 'UTC'),
    initiated_by          LowCardinality(String) COMMENT 'customer | business',
    status                LowCardinality(String) COMMENT 'open | resolved | unanswered',
    reopened_from         Nullable(String),
    last_activity         DateTime64(3, 'UTC'),
    first_inbound         Nullable(DateTime64(3, 'UTC')),
    last_inbound          Nullable(DateTime64(3, 'UTC')),
    last_outbound         Nullable(DateTime64(3, 'UTC')),
    window_expires        Nullable(DateTime64(3, 'UTC')) COMMENT '24-hour customer-service window end',
    last_reply_kind       LowCardinality(Nullable(String)) COMMENT 'bot, agent, template, campaign, business_app',
    last_agent_id         Nullable(String),
    first_bot_reply       Nullable(DateTime64(3, 'UTC')),
    first_human_reply     Nullable(DateTime64(3, 'UTC')),
    bot_frt_ms            Nullable(Int64) COMMENT 'first automated reply - first inbound',
    human_frt_ms          Nullable(Int64) COMMENT 'first human reply - first inbound',
    bot_frt_s             Nullable(Float64) ALIAS bot_frt_ms / 1000,
    human_frt_s           Nullable(Float64) ALIAS human_frt_ms / 1000,
    awaiting_since        Nullable(DateTime64(3, 'UTC')) COMMENT 'oldest unanswered inbound',
    responses             UInt32,
    response_ms_total     UInt64,
    inbound               UInt32,
    outbound_bot          UInt32,
    outbound_human        UInt32,
    near_duplicates       UInt32,
    inbound_by_hour       Array(UInt32) COMMENT '24 counts, contact local time',
    inbound_by_weekday    Array(UInt32) COMMENT '7 counts, Monday first, contact local time',
    closed                Nullable(DateTime64(3, 'UTC')),
    version               UInt64,
    src_partition         UInt16,
    src_offset            UInt64,
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started)
ORDER BY (contact_key, conversation_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS ${database}.tags
(
    contact_key           String,
    wamid                 String,
    phone_number_id       LowCardinality(String),
    tag                   LowCardinality(String),
    rule_id               LowCardinality(String),
    pack                  LowCardinality(String),
    rule_version          LowCardinality(String),
    department            LowCardinality(Nullable(String)),
    reason                String,
    conversation_id       Nullable(String),
    ts                    DateTime64(3, 'UTC') COMMENT 'time of the tagged message',
    src_partition         UInt16,
    src_offset            UInt64,
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (contact_key, wamid, rule_id)
SETTINGS non_replicated_deduplication_window = 1000;
