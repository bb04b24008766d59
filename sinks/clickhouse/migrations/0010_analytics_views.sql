-- Analytics views for analysts, `scrm report` and the Grafana dashboard (docs/analytics.md).
-- Views with a {tz:String} parameter bucket by local time of that zone:
--   SELECT * FROM scrm.activity_heatmap(tz = 'Asia/Hong_Kong')
-- Every view reads logical rows (FINAL or the merged rollups), so replays do not inflate them.

-- Orders, from the CRM's CDC webhooks kept in raw_webhooks (a body holds one change or a list),
-- one row per order id, with the contact the identity stage resolved its CRM record to.
CREATE VIEW IF NOT EXISTS ${database}.orders AS
SELECT o.order_id AS order_id, o.record AS record, o.occurred_at AS occurred_at, o.total AS total,
       o.currency AS currency, o.skus AS skus, c.contact_id AS contact_id, c.contact_keys AS contact_keys
FROM
(
    SELECT JSONExtractString(ev, 'source') || ':' || JSONExtractString(ev, 'id') AS order_id,
           any('crm:' || JSONExtractString(ev, 'source') || ':' || JSONExtractString(ev, 'data', 'contact_id')) AS record,
           min(if(JSONExtractInt(ev, 'occurred_at') > 0,
                  fromUnixTimestamp64Milli(JSONExtractInt(ev, 'occurred_at'), 'UTC'),
                  parseDateTime64BestEffortOrNull(JSONExtractString(ev, 'occurred_at'), 3, 'UTC'))) AS occurred_at,
           any(JSONExtractFloat(ev, 'data', 'total')) AS total,
           any(JSONExtractString(ev, 'data', 'currency')) AS currency,
           any(arrayMap(i -> JSONExtractString(i, 'sku'), JSONExtractArrayRaw(ev, 'data', 'items'))) AS skus
    FROM
    (
        SELECT arrayJoin(if(startsWith(b, '['), JSONExtractArrayRaw(b), [b])) AS ev
        FROM (SELECT assumeNotNull(body) AS b FROM ${database}.raw_webhooks FINAL
              WHERE source = 'cdc' AND body_encoding = 'utf8' AND body IS NOT NULL)
    )
    WHERE JSONExtractString(ev, 'entity') = 'order' AND lower(JSONExtractString(ev, 'op')) IN ('create', 'insert')
    GROUP BY order_id
) AS o
LEFT JOIN
(
    SELECT arrayJoin(records) AS record, contact_id, contact_keys
    FROM ${database}.contacts FINAL
    WHERE merged_into IS NULL
) AS c USING (record);

-- The conversation funnel by the day a conversation started, over conversations in which the
-- customer wrote: contacted -> the business replied (bot or human) -> resolved -> the customer
-- ordered within 7 days of the start.
CREATE VIEW IF NOT EXISTS ${database}.conversation_funnel AS
SELECT toDate(c.started) AS day, c.phone_number_id AS phone_number_id,
       count() AS contacted,
       countIf(c.first_bot_reply IS NOT NULL OR c.first_human_reply IS NOT NULL) AS replied,
       countIf(c.status = 'resolved') AS resolved,
       countIf(o.occurred_at >= c.started AND o.occurred_at < c.started + INTERVAL 7 DAY) AS ordered
FROM (SELECT * FROM ${database}.conversations FINAL WHERE inbound > 0) AS c
ASOF LEFT JOIN
(
    SELECT arrayJoin(contact_keys) AS contact_key, assumeNotNull(occurred_at) AS occurred_at
    FROM ${database}.orders WHERE occurred_at IS NOT NULL
) AS o ON c.contact_key = o.contact_key AND o.occurred_at >= c.started
GROUP BY day, phone_number_id;

-- Customer messages by weekday (1 = Monday) and hour of the day, in local time of {tz}.
CREATE VIEW IF NOT EXISTS ${database}.activity_heatmap AS
SELECT toDayOfWeek(toTimeZone(ts, {tz:String})) AS weekday, toHour(toTimeZone(ts, {tz:String})) AS hour,
       count() AS messages, uniqExact(contact_key) AS contacts
FROM ${database}.messages FINAL
WHERE direction = 'inbound'
GROUP BY weekday, hour;

-- Daily and 30-day active customers (a customer is active on a day they wrote), per UTC day.
CREATE VIEW IF NOT EXISTS ${database}.active_customers AS
SELECT day, uniqExactIf(contact_key, back = 0) AS dau, uniqExact(contact_key) AS mau,
       round(dau / mau, 4) AS dau_mau
FROM
(
    SELECT contact_key, toDate(ts) + back AS day, back
    FROM ${database}.messages FINAL
    ARRAY JOIN range(30) AS back
    WHERE direction = 'inbound'
)
WHERE day <= (SELECT max(toDate(ts)) FROM ${database}.messages WHERE direction = 'inbound')
GROUP BY day;

-- Weekly retention: customers by the week (Monday) they first wrote, and how many wrote again
-- N weeks later.
CREATE VIEW IF NOT EXISTS ${database}.retention_weekly AS
SELECT cohort, weeks_later, uniqExact(contact_key) AS customers,
       round(customers / max(customers) OVER (PARTITION BY cohort), 4) AS retained
FROM
(
    SELECT m.contact_key AS contact_key, f.cohort AS cohort,
           intDiv(dateDiff('day', f.cohort, toMonday(m.ts)), 7) AS weeks_later
    FROM (SELECT contact_key, ts FROM ${database}.messages FINAL WHERE direction = 'inbound') AS m
    INNER JOIN
    (
        SELECT contact_key, toMonday(min(ts)) AS cohort
        FROM ${database}.messages FINAL WHERE direction = 'inbound' GROUP BY contact_key
    ) AS f USING (contact_key)
)
GROUP BY cohort, weeks_later;

-- Delivery, read and reply rates per template and send hour (local time of {tz}). A template
-- counts as replied when the customer wrote within 24 hours after it.
CREATE VIEW IF NOT EXISTS ${database}.template_performance AS
SELECT template, send_hour, count() AS sent,
       countIf(s.state IN ('delivered', 'read', 'played')) AS delivered,
       countIf(s.state IN ('read', 'played')) AS read,
       countIf(s.state = 'failed') AS failed,
       countIf(r.reply_ts > t.ts AND r.reply_ts <= t.ts + INTERVAL 24 HOUR) AS replied,
       round(delivered / sent, 4) AS delivery_rate, round(read / sent, 4) AS read_rate,
       round(replied / sent, 4) AS reply_rate
FROM
(
    SELECT wamid, contact_key, ts, JSONExtractString(payload_json, 'template', 'name') AS template,
           toHour(toTimeZone(ts, {tz:String})) AS send_hour
    FROM ${database}.messages FINAL
    WHERE direction = 'outbound' AND message_type = 'template'
) AS t
LEFT JOIN (SELECT wamid, state FROM ${database}.message_state FINAL) AS s ON s.wamid = t.wamid
ASOF LEFT JOIN
(
    SELECT contact_key, ts AS reply_ts FROM ${database}.messages FINAL WHERE direction = 'inbound'
) AS r ON t.contact_key = r.contact_key AND r.reply_ts > t.ts
GROUP BY template, send_hour;

-- Churn segments now: each contact's latest segment.
CREATE VIEW IF NOT EXISTS ${database}.segment_sizes AS
SELECT segment, count() AS contacts, round(avg(score), 3) AS avg_score
FROM
(
    SELECT contact_key, argMax(segment, (scored_at, src_offset)) AS segment,
           argMax(score, (scored_at, src_offset)) AS score
    FROM ${database}.churn_scores FINAL
    GROUP BY contact_key
)
GROUP BY segment;

-- Segment moves per day (event time): from -> to, how many contacts.
CREATE VIEW IF NOT EXISTS ${database}.segment_flows AS
SELECT toDate(scored_at) AS day, ifNull(previous_segment, 'none') AS from_segment, segment AS to_segment,
       uniqExact(contact_key) AS contacts
FROM ${database}.churn_scores FINAL
WHERE ifNull(previous_segment, '') != segment
GROUP BY day, from_segment, to_segment;

-- The words customers use most, per language: the keywords the tagging rules matched in their
-- messages. Language from the script (kana: ja; Han: zh) and otherwise from the number's country
-- (+55 pt, +52 and other Latin American codes es, else en).
CREATE VIEW IF NOT EXISTS ${database}.hot_words AS
SELECT language, word, tag, count() AS mentions, uniqExact(contact_key) AS contacts
FROM
(
    SELECT t.contact_key AS contact_key, t.tag AS tag,
           extract(t.reason, '^(?:keyword|count) \'([^\']+)\'') AS word,
           multiIf(match(m.text, '[\\x{3040}-\\x{30ff}]'), 'ja',
                   match(m.text, '[\\x{4e00}-\\x{9fff}]'), 'zh',
                   startsWith(ifNull(m.phone_e164, ''), '+55'), 'pt',
                   match(ifNull(m.phone_e164, ''), '^\\+(52|54|56|57|51|58|593|591|595|598|34)'), 'es',
                   'en') AS language
    FROM (SELECT * FROM ${database}.tags FINAL) AS t
    INNER JOIN (SELECT wamid, text, phone_e164 FROM ${database}.messages FINAL WHERE direction = 'inbound') AS m
        ON m.wamid = t.wamid
)
WHERE word != ''
GROUP BY language, word, tag;

-- Automation decisions per day, rule, outcome and reason.
CREATE VIEW IF NOT EXISTS ${database}.decisions_daily AS
SELECT toDate(decided_at) AS day, rule_id, outcome, reason, count() AS decisions
FROM ${database}.automation_decisions FINAL
GROUP BY day, rule_id, outcome, reason;

-- CRM write health per day and kind: final states, attempts, writes that met a 429.
CREATE VIEW IF NOT EXISTS ${database}.crm_write_health AS
SELECT toDate(decided_at) AS day, crm, kind, count() AS writes, countIf(state = 'written') AS written,
       countIf(state = 'failed') AS failed, countIf(state NOT IN ('written', 'failed')) AS other,
       countIf(rate_limited > 0) AS rate_limited_writes, sum(rate_limited) AS responses_429,
       round(avg(attempts), 2) AS avg_attempts,
       round(written / writes, 4) AS success_rate
FROM ${database}.crm_writes FINAL
GROUP BY day, crm, kind;

-- Alert: complaint rate above 5% of the day's conversations for three days running (per number).
-- A conversation is a complaint when one of its messages was tagged `complaint`.
CREATE VIEW IF NOT EXISTS ${database}.alert_complaint_rate AS
SELECT phone_number_id, day, conversations, complaints, complaint_rate
FROM
(
    SELECT phone_number_id, day, conversations, complaints, complaint_rate,
           min(complaint_rate) OVER (PARTITION BY phone_number_id ORDER BY day
                                     ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS low_of_3,
           count() OVER (PARTITION BY phone_number_id ORDER BY day ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS n_of_3,
           dateDiff('day', min(day) OVER (PARTITION BY phone_number_id ORDER BY day
                                          ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), day) AS span
    FROM
    (
        SELECT c.phone_number_id AS phone_number_id, toDate(c.started) AS day, count() AS conversations,
               countIf(c.conversation_id IN (SELECT conversation_id FROM ${database}.tags FINAL
                                             WHERE tag = 'complaint' AND conversation_id IS NOT NULL)) AS complaints,
               round(complaints / conversations, 4) AS complaint_rate
        FROM ${database}.conversations AS c FINAL
        GROUP BY phone_number_id, day
    )
)
WHERE n_of_3 = 3 AND span = 2 AND low_of_3 > 0.05;

-- Alert: high-value conversations whose first human response took more than 5 minutes. High
-- value: a sales conversation (a price, quote or size question) or a customer who has ordered.
CREATE VIEW IF NOT EXISTS ${database}.alert_slow_high_value AS
SELECT f.day AS day, f.phone_number_id AS phone_number_id, f.conversation_id AS conversation_id,
       f.contact_key AS contact_key, f.agent_id AS agent_id, f.human_frt_s AS human_frt_s,
       f.conversation_id IN (SELECT conversation_id FROM ${database}.tags FINAL
                             WHERE tag IN ('price_inquiry', 'quote_request', 'size')
                               AND conversation_id IS NOT NULL) AS sales,
       f.contact_key IN (SELECT arrayJoin(contact_keys) FROM ${database}.orders) AS customer
FROM ${database}.first_response_times AS f
WHERE f.human_frt_s > 300 AND (sales OR customer);
