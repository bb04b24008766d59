-- Automation (DESIGN §5-§6): every policy gate decision, and churn scores with their factors.
-- Both are re-emitted with the same natural key when a signal is processed again (a restart, a
-- replay), and ReplacingMergeTree keeps one row per key. Query with FINAL.

CREATE TABLE IF NOT EXISTS ${database}.automation_decisions
(
    decision_id           String COMMENT '<action_id>@<decided_at ms>',
    action_id             String COMMENT 'hash(rule, contact, trigger): stable across replays',
    rule_id               LowCardinality(String),
    contact_key           String,
    phone_number_id       LowCardinality(String),
    outcome               LowCardinality(String) COMMENT 'allow | defer | deny',
    reason                LowCardinality(String),
    detail                String,
    decided_at            DateTime64(3, 'UTC') COMMENT 'event time of the decision',
    defer_until           Nullable(DateTime64(3, 'UTC')),
    kind                  LowCardinality(String) COMMENT 'template | text | task | alert',
    category              LowCardinality(String),
    trigger               String,
    template              LowCardinality(Nullable(String)),
    language              LowCardinality(Nullable(String)),
    promotion             Bool,
    automations_version   LowCardinality(String),
    src_partition         UInt16,
    src_offset            UInt64,
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(decided_at)
ORDER BY (contact_key, decided_at, action_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS ${database}.churn_scores
(
    contact_key           String,
    phone_number_id       LowCardinality(String),
    score                 Float64 COMMENT '0..1, the weighted sum of factors',
    segment               LowCardinality(String),
    previous_segment      LowCardinality(String),
    reason                String COMMENT 'why this segment',
    factors               String COMMENT 'JSON: [{name, value, weight, why}]',
    scored_at             DateTime64(3, 'UTC') COMMENT 'event time',
    src_partition         UInt16,
    src_offset            UInt64,
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(scored_at)
ORDER BY (contact_key, scored_at)
SETTINGS non_replicated_deduplication_window = 1000;
