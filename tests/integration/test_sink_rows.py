"""Schema -> row -> table contract: each record type a sink writes, encoded and decoded by the
real codec (fastavro gives datetimes for timestamp-millis), shaped by its row function and
inserted into the real ClickHouse engine (chDB) with the project's migrations."""

import json

import pytest

from schemas import SCHEMA_DIR
from sinks.clickhouse import rows
from sinks.clickhouse.migrate import migrate
from streams.catalog import load_catalog
from streams.codec import SingleObjectFraming

pytestmark = pytest.mark.clickhouse

# record type -> (row function, table, a column the row must carry through)
CASES = {
    "AutomationDecision": (rows.decision_row, "automation_decisions", "reason"),
    "ChurnScore": (rows.churn_score_row, "churn_scores", "segment"),
    "ContactProfile": (rows.contact_row, "contacts", "name"),
    "ContactMerge": (rows.contact_merge_row, "contact_merges", "evidence_kind"),
    "ContactConflict": (rows.contact_conflict_row, "contact_conflicts", "chosen"),
    "Conversation": (rows.conversation_row, "conversations", "status"),
    "TagEvent": (rows.tag_row, "tags", "tag"),
    "MessageState": (rows.message_state_row, "message_state", "state"),
    "SendResult": (rows.outbound_send_row, "outbound_sends", "wamid"),
    "CrmWriteResult": (rows.crm_write_row, "crm_writes", "attempt_log"),
    "WebhookEnvelope": (rows.raw_webhook_row, "raw_webhooks", "body"),
}


def decoded_example(name):
    framing = SingleObjectFraming(load_catalog())
    value = json.loads((SCHEMA_DIR / "examples" / f"{name}.v1.json").read_text())
    avro = {**value, "body": value["body"].encode()} if name == "WebhookEnvelope" else value  # bytes in JSON: text
    return framing.decode(name, "s", framing.encode(name, "s", avro)), value


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_record_lands_in_its_table(chdb_backend, database, name):
    migrate(chdb_backend, database)
    to_row, table, column = CASES[name]
    record, original = decoded_example(name)
    chdb_backend.insert_rows(f"{database}.{table}", [to_row(record, rows.SourcePosition("t", 0, 7))], "tok-1")
    got = chdb_backend.query(f"SELECT {column}, src_offset FROM {database}.{table} FINAL").rows
    assert got == [[original[column], 7]]


def test_contact_rows_keep_the_latest_profile_and_the_key_map_follows_merges(chdb_backend, database):
    migrate(chdb_backend, database)
    record, _ = decoded_example("ContactProfile")
    cid = record["contact_id"]
    absorbed = {**record, "contact_id": "ct_gone", "records": [], "contact_keys": [], "merged_into": cid}
    before = {**record, "contact_id": "ct_gone", "contact_keys": ["PN:1"], "merged_into": None}
    table = f"{database}.contacts"
    chdb_backend.insert_rows(table, [rows.contact_row(before, rows.SourcePosition("c", 0, 1)),
                                     rows.contact_row(record, rows.SourcePosition("c", 1, 2))], "c-1")
    chdb_backend.insert_rows(table, [rows.contact_row(absorbed, rows.SourcePosition("c", 0, 3))], "c-2")
    mapped = chdb_backend.query(f"SELECT contact_key, contact_id FROM {database}.contact_key_map "
                                "ORDER BY contact_key").rows
    assert mapped == [[k, cid] for k in sorted(record["contact_keys"])]


def test_conflict_values_keep_every_source_with_its_time(chdb_backend, database):
    migrate(chdb_backend, database)
    record, original = decoded_example("ContactConflict")
    chdb_backend.insert_rows(f"{database}.contact_conflicts",
                             [rows.contact_conflict_row(record, rows.SourcePosition("f", 0, 0))], "f-1")
    got = chdb_backend.query("SELECT tupleElement(v, 'value'), tupleElement(v, 'source'), "
                             "toUnixTimestamp64Milli(tupleElement(v, 'ts')) "
                             f"FROM {database}.contact_conflicts ARRAY JOIN `values` AS v ORDER BY 3 DESC").rows
    assert got == [[v["value"], v["source"], v["ts_ms"]] for v in original["values"]]
