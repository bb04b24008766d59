-- Identity (DESIGN §5-§6): resolved contacts, the merge log and field conflicts for review.
--
-- contacts: one logical row per contact id. A profile is re-published whenever the contact
-- changes, and after an unmerge a contact can get smaller again, so event time (updated_at) is
-- not a usable version; the version is the record's offset in the `contacts` topic, which only
-- grows for a contact id (one key, one partition) and keeps growing across replays.
-- ReplacingMergeTree(src_offset) keeps the latest: query with FINAL, or argMax(..., src_offset).
-- A contact absorbed by a merge keeps a row with merged_into set and no records.
--
-- contact_conflicts: the current state of each contact's field conflict (one row per contact and
-- field): review the open ones with `SELECT * FROM contact_conflicts FINAL WHERE open`.
--
-- To reach every conversation of a contact, join through contact_key_map (contact_key ->
-- contact_id, current contacts only): messages, conversations, tags and scores are keyed by
-- contact_key and stay where they are when contacts merge or split.

CREATE TABLE IF NOT EXISTS ${database}.contacts
(
    contact_id            String COMMENT 'ct_<hash of the oldest record>',
    records               Array(String) COMMENT 'wa:<contact key> | crm:<system>:<contact id>',
    contact_keys          Array(String) COMMENT 'stream contact keys (phone_number_id:wa_id) of its WhatsApp records',
    phones                Array(String) COMMENT 'E.164',
    emails                Array(String),
    name                  Nullable(String) COMMENT 'last write by event time among its records',
    name_source           LowCardinality(Nullable(String)),
    first_seen            DateTime64(3, 'UTC'),
    updated_at            DateTime64(3, 'UTC') COMMENT 'latest event time of its records',
    merged_into           Nullable(String) COMMENT 'set when absorbed by another contact',
    src_partition         UInt16,
    src_offset            UInt64 COMMENT 'version: offset in the contacts topic',
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(src_offset)
ORDER BY contact_id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS ${database}.contact_merges
(
    merge_id              String,
    into                  String COMMENT 'surviving contact id',
    absorbed              String COMMENT 'contact id merged into it',
    left_records          Array(String),
    right_records         Array(String),
    evidence_kind         LowCardinality(String) COMMENT 'phone | name+email | name+sku',
    evidence_detail       String COMMENT 'masked shared key and name similarity',
    confidence            Float64,
    merged_at             DateTime64(3, 'UTC') COMMENT 'event time',
    undone                Bool,
    undone_at             Nullable(DateTime64(3, 'UTC')),
    undone_by             Nullable(String),
    src_partition         UInt16,
    src_offset            UInt64 COMMENT 'version: an unmerge re-emits the merge later with undone = true',
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(src_offset)
ORDER BY merge_id
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS ${database}.contact_conflicts
(
    contact_id            String,
    field                 LowCardinality(String) COMMENT 'name',
    conflict_id           String COMMENT 'hash of contact, field and the values',
    open                  Bool COMMENT 'false once the records agree again, or the contact was absorbed or split',
    chosen                String COMMENT 'the value kept: last write by event time',
    `values`              Array(Tuple(value String, source String, ts DateTime64(3, 'UTC'))),
    detected_at           DateTime64(3, 'UTC') COMMENT 'event time of the observation that revealed or closed it',
    src_partition         UInt16,
    src_offset            UInt64 COMMENT 'version',
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(src_offset)
ORDER BY (contact_id, field)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE VIEW IF NOT EXISTS ${database}.contact_key_map AS
SELECT arrayJoin(contact_keys) AS contact_key, contact_id, name
FROM ${database}.contacts FINAL
WHERE merged_into IS NULL;
