"""One event end to end: file -> raw topic -> normalize agent -> messages topic -> ClickHouse sink."""

import json

import pytest

from tests.e2e.conftest import COUNTS, SAMPLE


def test_the_bundled_sample_lands_in_clickhouse(pipeline):
    out = pipeline.scrm("ingest", str(SAMPLE)).stdout
    assert "ingested 12 of 12 lines" in out
    pipeline.scrm("wait", "--timeout", "120")
    rows = pipeline.sql("SELECT wamid, direction, message_type, contact_key, text "
                        "FROM scrm.messages FINAL ORDER BY wamid")
    assert len(rows) == 9
    first = rows[0]
    assert first["contact_key"] == "109876543210001:85251234567" and first["text"].startswith("你好")
    assert {r["direction"] for r in rows} == {"inbound", "outbound"}
    dead = pipeline.sql("SELECT topic, stage, error_message, original_value_b64 FROM scrm.dead_letters FINAL")
    assert [(d["stage"], d["error_message"].split(":")[0]) for d in dead] == [("normalize", "bad_json")]
    stats = pipeline.stats()["normalize"]
    assert stats["in"] == stats["processed"] + stats["dead_lettered"] == 11


def test_ingesting_the_same_sample_again_adds_no_rows(pipeline):
    before = pipeline.stats()["normalize"]
    pipeline.scrm("ingest", str(SAMPLE))
    pipeline.scrm("wait", "--timeout", "120")
    (counts,) = pipeline.sql(COUNTS)
    assert counts == {"stored": 9, "distinct_ids": 9}  # physical rows, not only FINAL
    after = pipeline.stats()["normalize"]
    assert after["messages_deduplicated"] - before.get("messages_deduplicated", 0) == 9
    assert after["messages_out"] == before["messages_out"] == 9


def test_a_malformed_line_is_reported_and_the_good_lines_still_land(pipeline, tmp_path):
    good = [json.loads(line) for line in SAMPLE.read_text().splitlines()[:2]]
    for i, doc in enumerate(good):
        msg = doc["body"]["entry"][0]["changes"][0]["value"]["messages"][0]
        msg["id"] = f"wamid.partial.{i}"
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(good[0], ensure_ascii=False) + "\n{this is not json\n"
                    + json.dumps(good[1], ensure_ascii=False) + "\n")
    proc = pipeline.scrm("ingest", str(path), check=False)
    assert proc.returncode == 1
    assert "ingested 2 of 3 lines" in proc.stdout
    assert f"{path}:2: skipped: bad_json" in proc.stderr and "Traceback" not in proc.stderr
    pipeline.scrm("wait", "--timeout", "120")
    assert len(pipeline.sql("SELECT wamid FROM scrm.messages FINAL WHERE wamid LIKE 'wamid.partial.%'")) == 2
    dead = pipeline.sql("SELECT topic, offset, stage FROM scrm.dead_letters FINAL WHERE stage = 'ingest'")
    assert dead == [{"topic": f"file:{path}", "offset": 2, "stage": "ingest"}]


@pytest.mark.parametrize(("args", "code", "message"), [
    (("sql", "DROP TABLE scrm.messages"), 2, "add --write"),
    (("sql", "SELECT nope FROM scrm.messages"), 1, "UNKNOWN_IDENTIFIER"),
    (("ingest", "/nonexistent.jsonl"), 2, "no such file"),
    (("wait", "--group", "nobody-consumes-this", "--timeout", "2"), 1, "still lags"),
])
def test_user_mistakes_get_a_clear_message_and_no_traceback(pipeline, args, code, message):
    proc = pipeline.scrm(*args, check=False)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_after_the_worker_stops_sql_opens_the_database_directly(pipeline):
    pipeline.stop_worker()
    (final,) = pipeline.sql("SELECT count() AS n FROM scrm.messages FINAL WHERE wamid LIKE 'wamid.demo.%'")
    assert final["n"] == 9
