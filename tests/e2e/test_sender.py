"""The WhatsApp sender in a real worker, live against the local Cloud API contract server: a
SIGKILL between the outbox record and the send, then a restart, gives exactly one send per
action_id; a SIGKILL after the send but before it was recorded gives *no* second send (in doubt);
replayed commands send nothing; real sends come back as outbound messages in ClickHouse."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaProducer

from streams.catalog import load_catalog
from streams.codec import AvroCodec, make_framing
from tests.e2e.conftest import Pipeline, make_pipeline, serving, wait_for
from tests.e2e.traffic import PNID, T0, contact_key
from tests.vendors.whatsapp_cloud import CloudApiServer, CloudApiState

PREFIX = "sender"


@pytest.fixture(scope="module")
def api() -> Iterator[CloudApiServer]:
    with CloudApiServer(CloudApiState(token="e2e-token")) as server:
        yield server


@pytest.fixture(scope="module")
def pipeline(kafka_bootstrap, tmp_path_factory, api) -> Iterator[Pipeline]:
    p = make_pipeline(kafka_bootstrap, tmp_path_factory.mktemp("sender"), PREFIX, "scrm-sender",
                      SCRM_SENDER_MODE="live", SCRM_WHATSAPP_TOKEN="e2e-token", SCRM_WHATSAPP_API_URL=api.url,
                      SCRM_SENDER_RECIPIENT_GAP_SECONDS="0", SCRM_SENDER_MAX_AGE_SECONDS=str(10 * 365 * 86400),
                      SCRM_CLOCK_TICK_SECONDS="0")
    yield from serving(p, start=False)  # each test starts the worker with its failpoint


def command(action_id: str, wa_id: str, kind: str = "template") -> dict:
    return {"action_id": action_id, "contact_key": contact_key(wa_id), "phone_number_id": PNID, "to": wa_id,
            "kind": kind, "category": "marketing" if kind == "template" else "service",
            "template": "coupon_10" if kind == "template" else None, "language": "zh_HK",
            "text": "運費：滿 HK$300 免運費" if kind == "text" else None, "rule_id": "high_intent_coupon",
            "trigger": f"test@{action_id}", "created_at_ms": T0 * 1000, "payload_json": None}


def produce(bootstrap: str, commands: list[dict], prefix: str = PREFIX, topic: str = "outbound",
            record: str = "OutboundCommand") -> None:
    """Send command records straight onto a topic, keyed by contact key."""
    codec = AvroCodec(make_framing(load_catalog(), None), record, subject=f"{prefix}.{topic}-value")

    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for c in commands:
                await producer.send_and_wait(f"{prefix}.{topic}", codec.dumps(c), key=c["contact_key"].encode())
        finally:
            await producer.stop()
    asyncio.run(go())


def killed(p: Pipeline) -> bool:
    assert p.worker is not None
    return p.worker.poll() is not None


def sends(p: Pipeline) -> dict[str, dict]:
    rows = p.sql("SELECT action_id, state, wamid, attempts, detail FROM scrm.outbound_sends FINAL")
    return {r["action_id"]: r for r in rows}


def test_sigkill_between_outbox_record_and_send_then_restart_sends_exactly_once(pipeline, api, kafka_bootstrap):
    pipeline.env["SCRM_FAILPOINTS"] = "outbox.recorded"
    pipeline.start_worker()
    batch = [command("act-1", "85291230001"), command("act-2", "85291230002", kind="text"),
             command("act-3", "85291230003")]
    produce(kafka_bootstrap, batch)
    wait_for("the failpoint to kill the worker", lambda: killed(pipeline))
    assert pipeline.worker.returncode == -9
    assert api.state.requests == 0  # killed after the outbox record, before the request

    del pipeline.env["SCRM_FAILPOINTS"]
    pipeline.start_worker()
    wait_for("three sends recorded", lambda: len(sends(pipeline)) == 3)
    assert {a: r["state"] for a, r in sends(pipeline).items()} == {"act-1": "sent", "act-2": "sent", "act-3": "sent"}
    assert sorted(s["body"]["biz_opaque_callback_data"] for s in api.state.sends) == ["act-1", "act-2", "act-3"]

    # each real send comes back through the raw topic as an outbound message with its wamid
    wamids = {s["wamid"] for s in api.state.sends}
    query = ("SELECT wamid, sender_kind, message_type, agent_id FROM scrm.messages FINAL "
             "WHERE direction = 'outbound' ORDER BY wamid")
    wait_for("the sends as outbound messages", lambda: len(pipeline.sql(query)) == 3)
    rows = pipeline.sql(query)
    assert {r["wamid"] for r in rows} == wamids
    assert sorted(r["sender_kind"] for r in rows) == ["bot", "template", "template"]
    assert {r["agent_id"] for r in rows} == {"automation:high_intent_coupon"}

    # the same commands again (a replay): nothing is sent
    produce(kafka_bootstrap, batch)
    wait_for("the replayed commands", lambda: pipeline.stats().get("sender", {}).get("duplicates", 0) >= 3)
    assert len(api.state.sends) == 3


def test_sigkill_after_the_send_before_it_was_recorded_is_in_doubt_and_not_resent(pipeline, api, kafka_bootstrap):
    pipeline.stop_worker()
    pipeline.env["SCRM_FAILPOINTS"] = "outbox.sent_unrecorded"
    pipeline.start_worker()
    produce(kafka_bootstrap, [command("act-4", "85291230004")])
    wait_for("the failpoint to kill the worker", lambda: killed(pipeline))
    assert len(api.state.sent_to("act-4")) == 1

    del pipeline.env["SCRM_FAILPOINTS"]
    pipeline.start_worker()
    wait_for("act-4 recorded", lambda: "act-4" in sends(pipeline))
    row = sends(pipeline)["act-4"]
    assert (row["state"], row["attempts"]) == ("in_doubt", 1)
    assert "worker stopped" in row["detail"]
    assert len(api.state.sent_to("act-4")) == 1  # at most once: never sent a second time
