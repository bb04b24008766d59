"""``scrm dlq list | show | redrive`` against a real worker, and the DLQ limit that stops a worker
whose stage dead-letters a run of records instead of flooding the DLQ (raw keys of these broken
bodies are their hashes, so they spread over the partitions: the limit is per partition)."""

from __future__ import annotations

import asyncio
import json
import re

from aiokafka import AIOKafkaProducer

from processors.ingest_lines import envelope_from_line
from streams.catalog import load_catalog
from streams.codec import AvroCodec, make_framing
from streams.mapping import to_avro
from tests.e2e.conftest import wait_for
from tests.e2e.traffic import inbound, write

PIPELINE_ENV = {"SCRM_DLQ_MAX_CONSECUTIVE": "5", "SCRM_DLQ_MAX_RATIO": "0"}
BROKEN = {"source": "whatsapp", "body": {"object": "whatsapp_business_account", "entry": "not a list"}}


def ids_by_stage(pipeline, *filters: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in pipeline.scrm("dlq", "list", "--limit", "0", *filters).stdout.splitlines():
        m = re.match(r"^(\d+:\d+)\s+\S+\s+(\S+)", line)
        if m:
            out.setdefault(m.group(2), []).append(m.group(1))
    return out


def dead_letter_of_a_good_message(pipeline, wamid: str) -> None:
    """A dead letter an older, buggy worker left behind: a good webhook refused by normalize."""
    catalog = load_catalog()
    framing = make_framing(catalog, None)
    prefix = pipeline.env["SCRM_TOPIC_PREFIX"]
    env = envelope_from_line(json.dumps(inbound("85291110000", wamid, 1795136000, "有貨嗎？")), now_ms=1795136001000)
    raw = AvroCodec(framing, "WebhookEnvelope", subject=f"{prefix}raw.whatsapp-value").dumps(to_avro(env))
    letter = {"original_key": b"109876543210001", "original_value": raw, "topic": f"{prefix}raw.whatsapp",
              "partition": 0, "offset": 0, "stage": "normalize", "error_class": "KeyError",
              "error_message": "'profile' (fixed in the next release)", "attempts": 1,
              "first_failure_ms": 1795136002000, "last_failure_ms": 1795136002000}
    codec = AvroCodec(framing, "DeadLetter", subject=f"{prefix}dlq-value")

    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=pipeline.env["SCRM_KAFKA_BOOTSTRAP"], acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(f"{prefix}dlq", codec.dumps(letter), key=letter["original_key"])
        finally:
            await producer.stop()
    asyncio.run(go())


def test_list_show_and_redrive_dead_letters(pipeline, tmp_path):
    lines = [inbound("85291110001", "wamid.dlq.ok", 1795136000, "你好"), BROKEN]
    path = write(tmp_path / "mixed.jsonl", lines)
    path.write_text(path.read_text() + '{"source": "whatsapp", "body": \n')  # a line cut short
    assert pipeline.scrm("ingest", str(path), check=False).returncode == 1
    dead_letter_of_a_good_message(pipeline, "wamid.dlq.redriven")
    pipeline.scrm("wait", "--timeout", "120")

    stages = ids_by_stage(pipeline)
    assert sorted((s, len(i)) for s, i in stages.items()) == [("ingest", 1), ("normalize", 2)]
    (broken,) = ids_by_stage(pipeline, "--error-class", "InvalidEvent", "--stage", "normalize")["normalize"]
    shown = pipeline.scrm("dlq", "show", broken).stdout
    assert "InvalidEvent: bad_shape: entry is not a list" in shown and "Avro WebhookEnvelope" in shown
    assert '"entry": "not a list"' in shown  # the raw request body, decoded from the envelope

    assert pipeline.scrm("dlq", "redrive", check=False).returncode == 2  # no filter, no --all
    missing = pipeline.scrm("dlq", "show", "7:7", check=False)
    assert missing.returncode == 1 and "no dead letter '7:7'" in missing.stderr and "Traceback" not in missing.stderr

    dry = pipeline.scrm("dlq", "redrive", "--all", "--dry-run").stdout
    assert "dry run: 1 would re-ingest, 2 would redrive" in dry
    done = pipeline.scrm("dlq", "redrive", "--all").stdout
    assert "2 redriven, 1 still_invalid" in done
    pipeline.scrm("wait", "--timeout", "120")
    # the good message the old worker refused is in ClickHouse now; the broken one failed again
    got = pipeline.sql("SELECT wamid FROM scrm.messages FINAL WHERE wamid LIKE 'wamid.dlq.%' ORDER BY wamid")
    assert got == [{"wamid": "wamid.dlq.ok"}, {"wamid": "wamid.dlq.redriven"}]
    wait_for("the broken body dead-lettered again", lambda: len(ids_by_stage(pipeline)["normalize"]) == 3)
    listed = pipeline.scrm("dlq", "list", "--stage", "normalize").stdout
    assert listed.count("redriven →") == 2 and "3 shown of 4" in listed

    again = pipeline.scrm("dlq", "redrive", "--stage", "normalize").stdout  # the new letter only
    assert "2 already redriven (--force to repeat), 1 redriven" in again


def test_a_run_of_dead_letters_stops_the_worker_loudly(pipeline, tmp_path):
    broken = [{**BROKEN, "body": {**BROKEN["body"], "n": i}} for i in range(60)]
    pipeline.scrm("ingest", str(write(tmp_path / "broken.jsonl", broken)))
    assert pipeline.worker is not None
    code = pipeline.worker.wait(timeout=120)
    assert code == 71
    log = (pipeline.workdir / "worker.log").read_text()
    assert "DLQ limit: stage normalize" in log and "5 consecutive records (limit 5)" in log
    assert "scrm dlq list --stage normalize" in log
    pipeline.worker = None  # it stopped by itself; nothing left to stop
