"""Identity resolution against the real broker and embedded ClickHouse: WhatsApp contacts and CRM
records (contacts and orders) resolve to contacts through a worker; an unmerge with the CLI splits
one again; every conversation stays reachable through contact_key_map."""

from __future__ import annotations

from tests.e2e.traffic import T0, cdc, contact_key, inbound, write

PIPELINE_ENV = {"SCRM_CLOCK_TICK_SECONDS": "0"}
TAI_MAN, MARY = "85291234567", "5215512345678"  # Mexico: WhatsApp ids carry the old mobile "1"


LINES = [
    inbound(TAI_MAN, "wamid.I1", T0, "運費多少？", name="Tai Man"),
    inbound(TAI_MAN, "wamid.I2", T0 + 60, "今日寄出嗎？", name="Tai Man"),
    inbound(MARY, "wamid.I3", T0 + 5, "¿Tienen talla M?", name="Mary Lee"),
    # the same number typed in the CRM (HK, no country code): one contact; the names disagree
    cdc("c1", "contact", "C-1", T0 + 10, phone="9123 4567", region="HK", name="陳大文", email="tm@example.com"),
    # Mexico without the "1": the candidate keys meet the WhatsApp id
    cdc("c2", "contact", "C-2", T0 + 20, phone="+52 55 1234 5678", name="Mary Lee"),
    # another number, a similar name, and the same SKU bought 30 days apart: the same person
    cdc("c3", "contact", "C-3", T0 + 30, phone="+852 6000 0000", name="Lee, Mary"),
    cdc("o1", "order", "O-1", T0 + 40, contact_id="C-2", items=[{"sku": "JKT-M"}]),
    cdc("o2", "order", "O-2", T0 + 30 * 86400, contact_id="C-3", items=[{"sku": "JKT-M"}]),
    # a similar name without corroborating evidence stays apart
    cdc("c4", "contact", "C-4", T0 + 50, phone="+852 6111 1111", name="陈大文", email="other@example.com"),
]


def current(pipeline) -> dict[str, list[str]]:
    rows = pipeline.sql("SELECT contact_id, records FROM scrm.contacts FINAL WHERE merged_into IS NULL")
    return {r["contact_id"]: sorted(r["records"]) for r in rows}


def test_whatsapp_and_crm_records_resolve_and_an_unmerge_splits_them(pipeline, tmp_path):
    pipeline.scrm("ingest", str(write(tmp_path / "identity.jsonl", LINES)))
    pipeline.scrm("wait", "--timeout", "120")

    groups = sorted(current(pipeline).values())
    assert groups == sorted([
        ["crm:shop:C-1", f"wa:{contact_key(TAI_MAN)}"],
        ["crm:shop:C-2", "crm:shop:C-3", f"wa:{contact_key(MARY)}"],
        ["crm:shop:C-4"],
    ])
    merges = pipeline.sql("SELECT merge_id, evidence_kind, left_records, right_records, undone "
                          "FROM scrm.contact_merges FINAL")
    assert {m["evidence_kind"] for m in merges} == {"phone", "name+sku"}
    # "Lee, Mary" and "Mary Lee" are one name; 陳大文 and Tai Man are not: the later write wins
    conflict = pipeline.sql("SELECT chosen, length(`values`) AS n FROM scrm.contact_conflicts FINAL WHERE open")
    assert conflict == [{"chosen": "陳大文", "n": 2}]

    # every conversation of the contact is reachable through the key map
    (tai,) = pipeline.sql(f"SELECT contact_id FROM scrm.contact_key_map WHERE contact_key = '{contact_key(TAI_MAN)}'")
    history = pipeline.sql("SELECT count() AS n FROM scrm.messages WHERE contact_key IN "
                           f"(SELECT contact_key FROM scrm.contact_key_map WHERE contact_id = '{tai['contact_id']}')")
    assert history == [{"n": 2}]

    (phone_merge,) = [m for m in merges if "crm:shop:C-1" in m["left_records"] + m["right_records"]]
    out = pipeline.scrm("contacts", "unmerge", phone_merge["merge_id"], "--wait", "60").stdout
    assert "undone" in out
    pipeline.scrm("wait", "--timeout", "60")
    groups = sorted(current(pipeline).values())
    assert ["crm:shop:C-1"] in groups and [f"wa:{contact_key(TAI_MAN)}"] in groups and len(groups) == 4
    (undone,) = pipeline.sql(f"SELECT undone, undone_by FROM scrm.contact_merges FINAL "
                             f"WHERE merge_id = '{phone_merge['merge_id']}'")
    assert undone["undone"] is True and "@" in undone["undone_by"]
    assert pipeline.sql(f"SELECT contact_id FROM scrm.contact_key_map WHERE contact_key = '{contact_key(TAI_MAN)}'") \
        == [tai]  # the WhatsApp side keeps its contact id (it was seen first) and its history
    assert pipeline.sql("SELECT count() AS n FROM scrm.contact_conflicts FINAL WHERE open") == [{"n": 0}]

    again = pipeline.scrm("contacts", "unmerge", phone_merge["merge_id"]).stdout
    assert "already undone" in again
    missing = pipeline.scrm("contacts", "unmerge", "nope", check=False)
    assert missing.returncode == 2 and "no merge 'nope'" in missing.stderr and "Traceback" not in missing.stderr
