"""``scrm replay`` against a real worker: a dry run changes nothing; a replay of the raw topics
re-derives every event without adding a row, a decision or a side effect; after ClickHouse was
lost, a replay with side effects off restores the stream tables; and replayed events that reach
the automation stage anew cause sends and CRM writes that are recorded as skipped."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from processors.ingest_lines import envelope_from_line, raw_key
from streams.catalog import load_catalog
from streams.codec import AvroCodec, make_framing
from streams.mapping import to_avro
from tests.e2e.test_warehouse_idempotency import snapshot
from tests.e2e.traffic import T0, inbound, mixed, past_t0, reply, status, write

PIPELINE_ENV = {"SCRM_CLOCK_TICK_SECONDS": "0"}
FROM = "2020-01-01T00:00:00Z"  # every raw record of this module's topics was received after it
STREAM_TABLES = ("raw_webhooks", "messages", "statuses", "message_state", "conversations", "tags")


def traffic(tag: str, contacts: int = 30) -> list[dict]:
    lines = []
    for c in range(contacts):
        wa_id = f"8529{tag}{c:05d}"
        lines.append(inbound(wa_id, f"wamid.{tag}.{c}", T0 + c, "運費多少？"))  # shipping: an FAQ auto-reply
        lines.append(reply(wa_id, f"inbox.{tag}.{c}", T0 + c + 60, "滿 HK$300 免運費"))
        lines.append(status(wa_id, f"inbox.{tag}.{c}", T0 + c + 90, "read"))
    return lines


def figures(pipeline, text: str) -> dict[str, int]:
    return {what: int(n.replace(",", "")) for n, what in re.findall(r"^\s+([\d,]+)\s+(.+)$", text, re.M)}


def test_a_replay_rederives_everything_and_adds_nothing(pipeline, tmp_path):
    pipeline.scrm("ingest", str(write(tmp_path / "day.jsonl", traffic("1"))))
    pipeline.scrm("wait", "--timeout", "120")
    before = snapshot(pipeline)
    assert before["tables"]["outbound_sends"]["ids"] > 0  # the FAQ auto-replies (dry run)

    dry = pipeline.scrm("replay", "--from", FROM, "--dry-run").stdout
    assert "dry run, nothing was produced" in dry and "60 already in ClickHouse" in dry and "0 not there" in dry
    assert figures(pipeline, dry) == {"messages": 60, "receipts": 30}

    done = pipeline.scrm("replay", "--from", FROM).stdout
    got = figures(pipeline, done.partition("summary:")[2])
    assert got["raw records replayed"] == 90 and got["events re-derived (already seen by dedup)"] >= 90
    assert got["events new to the pipeline"] == 0 and got["new side effects: WhatsApp sends"] == 0
    assert got["new side effects: CRM writes"] == 0 and got["dead-lettered"] == 0
    assert snapshot(pipeline) == before

    again = pipeline.scrm("replay", "--from", FROM).stdout  # copies of a replay are never replayed again
    assert figures(pipeline, again.partition("summary:")[2])["raw records replayed"] == 90


def test_after_clickhouse_was_lost_a_replay_without_side_effects_restores_the_stream_tables(pipeline):
    before = snapshot(pipeline)["tables"]
    pipeline.stop_worker()
    shutil.rmtree(pipeline.workdir / "clickhouse")
    pipeline.start_worker()
    done = pipeline.scrm("replay", "--from", FROM, "--no-side-effects").stdout
    assert "with side effects off" in done
    after = snapshot(pipeline)["tables"]
    assert {t: after[t] for t in STREAM_TABLES} == {t: before[t] for t in STREAM_TABLES}
    assert after["outbound_sends"]["ids"] == 0  # decisions already taken are not re-made or re-sent


def test_events_of_a_replay_without_side_effects_cause_only_skipped_sends_and_writes(pipeline):
    """Events the automation stage has never seen, arriving as a --no-side-effects replay (as after
    its state was lost): its decisions are made, and each send and CRM write is recorded skipped."""
    prefix = pipeline.env["SCRM_TOPIC_PREFIX"]
    codec = AvroCodec(make_framing(load_catalog(), None), "WebhookEnvelope", subject=f"{prefix}raw.whatsapp-value")
    envelopes = [envelope_from_line(json.dumps(line), now_ms=1795136001000) for line in traffic("2", contacts=5)]

    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=pipeline.env["SCRM_KAFKA_BOOTSTRAP"], acks="all")
        await producer.start()
        try:
            for env in envelopes:
                await producer.send_and_wait(f"{prefix}raw.whatsapp", codec.dumps(to_avro(env)), key=raw_key(env),
                                             headers=[("scrm-replay", b"replay-test"), ("scrm-effects", b"off")])
        finally:
            await producer.stop()
    asyncio.run(go())
    pipeline.scrm("wait", "--timeout", "120")
    sends = pipeline.sql("SELECT state, detail, count() AS n FROM scrm.outbound_sends FINAL "
                         "WHERE contact_key LIKE '%:85292%' GROUP BY state, detail")
    assert sends == [{"state": "skipped", "detail": "replayed without side effects", "n": 5}]
    writes = pipeline.sql("SELECT DISTINCT state, crm FROM scrm.crm_writes FINAL WHERE contact_key LIKE '%:85292%'")
    assert writes in ([], [{"state": "skipped", "crm": "off"}])


def test_a_replay_of_long_histories_adds_nothing(pipeline, tmp_path):
    """Contacts with more messages and signals than the stages keep in their redelivery windows
    (``contact_state.RECENT``, ``engagement.SEEN``): a replay must still recognise every old event,
    not tag it again, re-score the contact or decide anything new."""
    since = datetime.now(UTC).isoformat()
    lines, _ = mixed(contacts=12, exchanges=30, first=5000, t0=past_t0())  # 60 messages and about 110 signals each
    pipeline.scrm("ingest", str(write(tmp_path / "long.jsonl", lines)))
    pipeline.scrm("wait", "--timeout", "300")
    before = snapshot(pipeline)
    assert before["tables"]["tags"]["ids"] > 0 and before["tables"]["automation_decisions"]["ids"] > 0

    done = pipeline.scrm("replay", "--from", since, "--wait", "300").stdout
    got = figures(pipeline, done.partition("summary:")[2])
    assert got["raw records replayed"] == len(lines) and got["events new to the pipeline"] == 0
    after = snapshot(pipeline)
    assert {t: n for t, n in after["tables"].items() if before["tables"][t] != n} == {}
    assert after == before
