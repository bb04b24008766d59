-- The WhatsApp sender's log (DESIGN §5): one logical row per action_id with its final outbox
-- state. A result re-published after a crash is identical, so ReplacingMergeTree on action_id
-- keeps one; query with FINAL.
--
-- Tie sends to receipts with the wamid (statuses.wamid / message_state.wamid), or, for an
-- in_doubt send (the worker stopped during the request, so it was not retried), through
-- statuses.callback_data = action_id: WhatsApp echoes biz_opaque_callback_data in the status.

CREATE TABLE IF NOT EXISTS ${database}.outbound_sends
(
    action_id             String COMMENT 'hash(rule, contact, trigger): the outbox key',
    contact_key           String,
    phone_number_id       LowCardinality(String),
    wa_id                 Nullable(String),
    rule_id               LowCardinality(String),
    kind                  LowCardinality(String) COMMENT 'template | text | interactive',
    category              LowCardinality(String),
    template              LowCardinality(Nullable(String)),
    language              LowCardinality(Nullable(String)),
    state                 LowCardinality(String) COMMENT 'sent | failed | in_doubt | held | expired | dry_run | skipped',
    mode                  LowCardinality(String) COMMENT 'live | dry_run | off',
    wamid                 Nullable(String) COMMENT 'joins statuses.wamid and message_state.wamid',
    attempts              UInt16,
    error_code            Nullable(Int32),
    error_title           Nullable(String),
    error_class           LowCardinality(Nullable(String)) COMMENT 'retry | pair_pace | recipient | request | account',
    detail                Nullable(String),
    decided_at            DateTime64(3, 'UTC') COMMENT 'event time of the policy decision',
    recorded_at           DateTime64(3, 'UTC') COMMENT 'wall time the outbox first saw it',
    completed_at          DateTime64(3, 'UTC') COMMENT 'wall time of the final state',
    src_partition         UInt16,
    src_offset            UInt64,
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(decided_at)
ORDER BY (phone_number_id, action_id)
SETTINGS non_replicated_deduplication_window = 1000;
