-- The CRM writer's audit (DESIGN §5): one logical row per write_id with its final state, the
-- attempts it took (attempt_log: the HTTP status of each, e.g. '429,429,500,200') and the CRM's
-- answer. A result re-published after a crash is identical; ReplacingMergeTree on write_id keeps
-- one: query with FINAL.

CREATE TABLE IF NOT EXISTS ${database}.crm_writes
(
    write_id              String COMMENT 'deterministic: props:<contact>:<event ms> | task:<action_id>',
    contact_key           String,
    kind                  LowCardinality(String) COMMENT 'properties | task | note',
    crm                   LowCardinality(String) COMMENT 'hubspot | generic | dry_run | off',
    state                 LowCardinality(String) COMMENT 'written | failed | in_doubt | dry_run | skipped',
    wa_id                 Nullable(String),
    attempts              UInt16,
    attempt_log           String,
    http_status           Nullable(UInt16),
    crm_object_id         Nullable(String),
    error                 Nullable(String),
    request_json          Nullable(String) COMMENT 'the properties written, or the task/note title',
    decided_at            DateTime64(3, 'UTC') COMMENT 'event time of the command',
    completed_at          DateTime64(3, 'UTC'),
    rate_limited          UInt16 ALIAS countEqual(splitByChar(',', attempt_log), '429'),
    src_partition         UInt16,
    src_offset            UInt64,
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(decided_at)
ORDER BY write_id
SETTINGS non_replicated_deduplication_window = 1000;
