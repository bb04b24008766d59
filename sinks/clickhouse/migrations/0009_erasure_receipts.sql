-- GDPR erasures (`scrm erase`): one row per erasure with what was removed. The subject appears
-- only as the SHA-256 of its canonical E.164 number, so the receipt itself holds no personal data
-- and can be kept as proof for as long as the law asks.

CREATE TABLE IF NOT EXISTS ${database}.erasure_receipts
(
    erasure_id            String,
    subject_sha256        String COMMENT 'SHA-256 hex of the canonical E.164 number',
    reason                String,
    operator              String COMMENT 'user@host that ran scrm erase',
    requested_at          DateTime64(3, 'UTC'),
    erased_before         DateTime64(3, 'UTC') COMMENT 'events of the subject up to this time are dropped, replays included',
    completed_at          DateTime64(3, 'UTC'),
    rows_deleted_json     String COMMENT 'ClickHouse table -> rows deleted',
    changelog_tombstones  UInt32 COMMENT 'stream-state keys tombstoned (contact-state, engagement, receipt-state)',
    contacts_erased       UInt32 COMMENT 'resolved contact ids erased (profile tombstones on the contacts topic)',
    crm_deletes_json      String COMMENT 'CRM delete write id -> state (written, dry_run, failed, queued)',
    inserted_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY erasure_id;
