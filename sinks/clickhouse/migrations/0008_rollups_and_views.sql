-- Hourly and daily rollups, kept when message bodies expire. Materialized views fire on every
-- insert, and a replay or a restarted worker inserts rows again (ReplacingMergeTree collapses them
-- in the base tables only later), so a rollup must not add counts: every measure here is a SET
-- of natural ids (uniqExact states of wamids or conversation ids) or a min/argMin, which the same
-- row inserted twice leaves unchanged. Read them with the -Merge functions, or through the views
-- below (messages_daily, receipts_daily, first_response_times, frt_daily), which do it for you.
-- Buckets are UTC; shift hours with toTimeZone(hour, 'Asia/Hong_Kong') before grouping by day.

-- Messages by number, direction, sender kind, type and hour (Meta event time).
CREATE TABLE IF NOT EXISTS ${database}.messages_hourly
(
    hour                  DateTime('UTC'),
    phone_number_id       LowCardinality(String),
    direction             LowCardinality(String),
    sender_kind           LowCardinality(String),
    message_type          LowCardinality(String),
    messages              AggregateFunction(uniqExact, String) COMMENT 'wamids: uniqExactMerge(messages)',
    contacts              AggregateFunction(uniqExact, String) COMMENT 'contact keys: uniqExactMerge(contacts)'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (phone_number_id, hour, direction, sender_kind, message_type);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.messages_hourly_mv TO ${database}.messages_hourly AS
SELECT toStartOfHour(m.ts) AS hour, m.phone_number_id AS phone_number_id, m.direction AS direction,
       m.sender_kind AS sender_kind, m.message_type AS message_type,
       uniqExactState(m.wamid) AS messages, uniqExactState(m.contact_key) AS contacts
FROM ${database}.messages AS m
GROUP BY hour, phone_number_id, direction, sender_kind, message_type;

-- Receipts by number and hour of the receipt (not of the send): each set holds the wamids that
-- reached at least that state in the hour, so a message read without a 'delivered' webhook
-- still counts as delivered.
CREATE TABLE IF NOT EXISTS ${database}.receipts_hourly
(
    hour                  DateTime('UTC'),
    phone_number_id       LowCardinality(String),
    messages              AggregateFunction(uniqExact, String) COMMENT 'wamids with any receipt',
    delivered             AggregateFunction(uniqExact, String) COMMENT 'delivered, read or played',
    read                  AggregateFunction(uniqExact, String) COMMENT 'read or played',
    failed                AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (phone_number_id, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.receipts_hourly_mv TO ${database}.receipts_hourly AS
SELECT toStartOfHour(s.ts) AS hour, s.phone_number_id AS phone_number_id,
       uniqExactState(s.wamid) AS messages,
       uniqExactIfState(s.wamid, s.status IN ('delivered', 'read', 'played')) AS delivered,
       uniqExactIfState(s.wamid, s.status IN ('read', 'played')) AS read,
       uniqExactIfState(s.wamid, s.status = 'failed') AS failed
FROM ${database}.statuses AS s
GROUP BY hour, phone_number_id;

-- Conversations by the day they started: every version of a conversation row passes through,
-- and a conversation is in a set once any version met the condition (the counters only grow).
CREATE TABLE IF NOT EXISTS ${database}.conversations_daily
(
    day                   Date,
    phone_number_id       LowCardinality(String),
    initiated_by          LowCardinality(String),
    conversations         AggregateFunction(uniqExact, String),
    customer_replied      AggregateFunction(uniqExact, String) COMMENT 'the customer wrote at least once',
    answered              AggregateFunction(uniqExact, String) COMMENT 'a bot or a human replied to the customer',
    answered_by_human     AggregateFunction(uniqExact, String),
    resolved              AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (phone_number_id, day, initiated_by);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.conversations_daily_mv TO ${database}.conversations_daily AS
SELECT toDate(c.started) AS day, c.phone_number_id AS phone_number_id, c.initiated_by AS initiated_by,
       uniqExactState(c.conversation_id) AS conversations,
       uniqExactIfState(c.conversation_id, c.inbound > 0) AS customer_replied,
       uniqExactIfState(c.conversation_id, c.first_bot_reply IS NOT NULL OR c.first_human_reply IS NOT NULL) AS answered,
       uniqExactIfState(c.conversation_id, c.first_human_reply IS NOT NULL) AS answered_by_human,
       uniqExactIfState(c.conversation_id, c.status = 'resolved') AS resolved
FROM ${database}.conversations AS c
GROUP BY day, phone_number_id, initiated_by;

-- First response times, one row per answered conversation (by the day of its first inbound).
-- Quantile states would count a conversation again on every re-insert, so the rollup keeps each
-- conversation's first response times (min) and the agent who replied first: the last_agent_id
-- of the lowest version that has a human first response. frt_daily computes the quantiles.
CREATE TABLE IF NOT EXISTS ${database}.first_responses
(
    day                   Date COMMENT 'UTC day of the first inbound message',
    phone_number_id       LowCardinality(String),
    conversation_id       String,
    contact_key           SimpleAggregateFunction(any, String),
    first_inbound         SimpleAggregateFunction(min, DateTime64(3, 'UTC')) COMMENT 'for local-time buckets',
    human_frt_ms          SimpleAggregateFunction(min, Nullable(Int64)),
    bot_frt_ms            SimpleAggregateFunction(min, Nullable(Int64)),
    first_agent           AggregateFunction(argMin, Nullable(String), Tuple(UInt8, UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (phone_number_id, day, conversation_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.first_responses_mv TO ${database}.first_responses AS
SELECT toDate(c.first_inbound) AS day, c.phone_number_id AS phone_number_id, c.conversation_id AS conversation_id,
       any(c.contact_key) AS contact_key, min(assumeNotNull(c.first_inbound)) AS first_inbound,
       min(c.human_frt_ms) AS human_frt_ms, min(c.bot_frt_ms) AS bot_frt_ms,
       argMinState(c.last_agent_id, (isNull(c.human_frt_ms), c.version)) AS first_agent
FROM ${database}.conversations AS c
WHERE c.first_inbound IS NOT NULL AND (c.human_frt_ms IS NOT NULL OR c.bot_frt_ms IS NOT NULL)
GROUP BY day, phone_number_id, conversation_id;

-- Views that merge the states: query these.
CREATE VIEW IF NOT EXISTS ${database}.messages_daily AS
SELECT toDate(hour) AS day, phone_number_id, direction, sender_kind, message_type,
       uniqExactMerge(messages) AS messages, uniqExactMerge(contacts) AS contacts
FROM ${database}.messages_hourly
GROUP BY day, phone_number_id, direction, sender_kind, message_type;

CREATE VIEW IF NOT EXISTS ${database}.receipts_daily AS
SELECT day, phone_number_id, messages, delivered, read, failed,
       round(delivered / messages, 4) AS delivery_rate, round(read / messages, 4) AS read_rate,
       round(failed / messages, 4) AS failure_rate
FROM
(
    SELECT toDate(hour) AS day, phone_number_id, uniqExactMerge(messages) AS messages,
           uniqExactMerge(delivered) AS delivered, uniqExactMerge(read) AS read, uniqExactMerge(failed) AS failed
    FROM ${database}.receipts_hourly
    GROUP BY day, phone_number_id
);

CREATE VIEW IF NOT EXISTS ${database}.conversations_rates_daily AS
SELECT day, phone_number_id, initiated_by, conversations, customer_replied, answered, answered_by_human, resolved,
       round(customer_replied / conversations, 4) AS reply_rate,
       round(answered / conversations, 4) AS answer_rate,
       round(resolved / conversations, 4) AS resolution_rate
FROM
(
    SELECT day, phone_number_id, initiated_by, uniqExactMerge(conversations) AS conversations,
           uniqExactMerge(customer_replied) AS customer_replied, uniqExactMerge(answered) AS answered,
           uniqExactMerge(answered_by_human) AS answered_by_human, uniqExactMerge(resolved) AS resolved
    FROM ${database}.conversations_daily
    GROUP BY day, phone_number_id, initiated_by
);

CREATE VIEW IF NOT EXISTS ${database}.first_response_times AS
SELECT day, phone_number_id, conversation_id, any(contact_key) AS contact_key, min(first_inbound) AS first_inbound,
       argMinMerge(first_agent) AS agent_id,
       min(human_frt_ms) / 1000 AS human_frt_s, min(bot_frt_ms) / 1000 AS bot_frt_s
FROM ${database}.first_responses
GROUP BY day, phone_number_id, conversation_id;

CREATE VIEW IF NOT EXISTS ${database}.frt_daily AS
SELECT day, phone_number_id, responder, agent_id, count() AS conversations,
       quantileExact(0.5)(frt_s) AS median_s, quantileExact(0.9)(frt_s) AS p90_s, round(avg(frt_s), 1) AS avg_s
FROM
(
    SELECT day, phone_number_id, 'human' AS responder, ifNull(agent_id, 'unknown') AS agent_id, human_frt_s AS frt_s
    FROM ${database}.first_response_times WHERE human_frt_s IS NOT NULL
    UNION ALL
    SELECT day, phone_number_id, 'bot' AS responder, 'bot' AS agent_id, bot_frt_s AS frt_s
    FROM ${database}.first_response_times WHERE bot_frt_s IS NOT NULL
)
GROUP BY day, phone_number_id, responder, agent_id;

-- Dead letters by the record that failed: one row per (topic, partition, offset, stage). A replay
-- that dead-letters the same record again adds a row to dead_letters (each dead-lettering is
-- audited there) but not here; `times` says how often it happened.
CREATE VIEW IF NOT EXISTS ${database}.dead_letters_by_source AS
SELECT topic, partition, offset, stage, count() AS times,
       argMax(error_class, dlq_offset) AS error_class, argMax(error_message, dlq_offset) AS error_message,
       min(first_failure) AS first_failure, max(last_failure) AS last_failure,
       argMax(original_value_b64, dlq_offset) AS original_value_b64
FROM ${database}.dead_letters FINAL
GROUP BY topic, partition, offset, stage;

-- Backfill from rows stored before this migration (harmless if some rows also went through the
-- views meanwhile: the states are sets). Stored conversations may be merged to their latest
-- version, so for those the backfilled agent is the last one rather than the first.
INSERT INTO ${database}.messages_hourly
SELECT toStartOfHour(m.ts) AS hour, m.phone_number_id, m.direction, m.sender_kind, m.message_type,
       uniqExactState(m.wamid), uniqExactState(m.contact_key)
FROM ${database}.messages AS m
GROUP BY hour, m.phone_number_id, m.direction, m.sender_kind, m.message_type;

INSERT INTO ${database}.receipts_hourly
SELECT toStartOfHour(s.ts) AS hour, s.phone_number_id, uniqExactState(s.wamid),
       uniqExactIfState(s.wamid, s.status IN ('delivered', 'read', 'played')),
       uniqExactIfState(s.wamid, s.status IN ('read', 'played')), uniqExactIfState(s.wamid, s.status = 'failed')
FROM ${database}.statuses AS s
GROUP BY hour, s.phone_number_id;

INSERT INTO ${database}.conversations_daily
SELECT toDate(c.started) AS day, c.phone_number_id, c.initiated_by, uniqExactState(c.conversation_id),
       uniqExactIfState(c.conversation_id, c.inbound > 0),
       uniqExactIfState(c.conversation_id, c.first_bot_reply IS NOT NULL OR c.first_human_reply IS NOT NULL),
       uniqExactIfState(c.conversation_id, c.first_human_reply IS NOT NULL),
       uniqExactIfState(c.conversation_id, c.status = 'resolved')
FROM ${database}.conversations AS c
GROUP BY day, c.phone_number_id, c.initiated_by;

INSERT INTO ${database}.first_responses
SELECT toDate(c.first_inbound) AS day, c.phone_number_id, c.conversation_id, any(c.contact_key),
       min(assumeNotNull(c.first_inbound)), min(c.human_frt_ms), min(c.bot_frt_ms),
       argMinState(c.last_agent_id, (isNull(c.human_frt_ms), c.version))
FROM ${database}.conversations AS c
WHERE c.first_inbound IS NOT NULL AND (c.human_frt_ms IS NOT NULL OR c.bot_frt_ms IS NOT NULL)
GROUP BY day, c.phone_number_id, c.conversation_id;
