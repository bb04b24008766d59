"""The WhatsApp sender (DESIGN §5): ``outbound`` commands -> Cloud API sends through the outbox
(``sinks.whatsapp.sender``), results on ``outbound.sends`` (-> ClickHouse ``outbound_sends``) and
each real send as an outbound message on the raw topic (``source: sender``), so first-response
times, conversations and replays see it like any other message.

``SCRM_SENDER_MODE``: ``dry_run`` (default: record what would be sent), ``live`` (needs
``SCRM_WHATSAPP_TOKEN``), ``off`` (side effects off: record commands as skipped). The outbox table
(``outbox``, keyed by action_id, kept forever) is written on the partition of the command, which is
keyed by contact key like every command for that contact."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from processors.errors import InvalidEvent
from processors.ingest_lines import envelope_of
from processors.outbox import Entry, State
from processors.wa_send import Pacer, SendCommand
from sinks.clickhouse.rows import epoch_ms
from sinks.whatsapp.cloud_api import CloudApi
from sinks.whatsapp.sender import Mode, Sender, SenderConfig
from streams.app import app, dead_letters, settings, stats, topics
from streams.errors import DecodeError
from streams.failpoints import failpoints
from streams.headers import effects_off
from streams.json_store import BatchJsonTable
from streams.mapping import to_avro
from streams.tables import bytes_table

logger = logging.getLogger(__name__)
STAGE = "sender"
source = topics["outbound"]
outbox_table = bytes_table("outbox", partitions=source.spec.partitions,
                           help="action_id -> the sender's outbox entry (JSON): each action is sent at most once")


def command(rec: dict[str, Any], *, effects_off: bool = False) -> SendCommand:
    return SendCommand(action_id=rec["action_id"], contact_key=rec["contact_key"],
                       phone_number_id=rec["phone_number_id"], to=rec.get("to"), kind=rec["kind"],
                       category=rec["category"], rule_id=rec["rule_id"], created_at_ms=epoch_ms(rec["created_at_ms"]),
                       template=rec.get("template"), language=rec.get("language"), text=rec.get("text"),
                       payload_json=rec.get("payload_json"), effects_off=effects_off)


def result_record(cmd: SendCommand, entry: Entry, mode: Mode) -> dict[str, Any]:
    return {"action_id": cmd.action_id, "contact_key": cmd.contact_key, "phone_number_id": cmd.phone_number_id,
            "wa_id": cmd.to, "rule_id": cmd.rule_id, "kind": cmd.kind, "category": cmd.category,
            "template": cmd.template, "language": cmd.language, "state": entry.state.value, "mode": mode.value,
            "wamid": entry.wamid, "attempts": entry.attempts, "error_code": entry.error_code,
            "error_title": entry.error_title, "error_class": entry.error_class, "detail": entry.detail,
            "decided_at_ms": cmd.created_at_ms, "recorded_at_ms": entry.recorded_ms,
            "completed_at_ms": entry.updated_ms}


def sent_message_body(cmd: SendCommand, entry: Entry) -> bytes:
    """The raw-topic record of a real send, in the agent-inbox shape (``processors.agent_inbox``)."""
    doc: dict[str, object] = {"message_id": entry.wamid, "phone_number_id": cmd.phone_number_id, "wa_id": cmd.to,
           "sender_kind": "template" if cmd.kind == "template" else "bot", "message_type": cmd.kind,
           "text": cmd.text if cmd.kind == "text" else None, "timestamp": entry.updated_ms / 1000,
           "agent_id": f"automation:{cmd.rule_id}"}
    if cmd.kind == "template" and cmd.template:  # template name and language, for rates per template
        doc["template"] = {"name": cmd.template, "language": cmd.language}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


async def publish(cmd: SendCommand, entry: Entry) -> None:
    await topics["outbound.sends"].send(cmd.contact_key, result_record(cmd, entry, MODE))
    if entry.state == State.SENT:
        env = envelope_of("sender", sent_message_body(cmd, entry), {}, received_at_ms=entry.updated_ms,
                          signature_verified=True, request_id=f"sender-{cmd.action_id}")
        await topics["raw.whatsapp"].send(cmd.phone_number_id, to_avro(env))


async def durable() -> None:
    await app.producer.flush()


MODE = Mode(settings.sender_mode)
_outbox = BatchJsonTable(outbox_table)
_sender: Sender | None = None


def sender_for_worker() -> Sender:
    global _sender
    if _sender is None:
        api = CloudApi(settings.whatsapp_token or "", base_url=settings.whatsapp_api_url,
                       version=settings.whatsapp_api_version) if MODE == Mode.LIVE else None
        config = SenderConfig(mode=MODE, max_attempts=settings.sender_max_attempts,
                              max_age_s=settings.sender_max_age_seconds)
        pacer = Pacer(per_number_mps=settings.sender_number_mps, burst=max(1, int(settings.sender_number_mps)),
                      recipient_gap_ms=int(settings.sender_recipient_gap_seconds * 1000))
        _sender = Sender(_outbox, durable=durable, publish=publish, api=api, config=config,
                         clock_ms=lambda: int(time.time() * 1000), pacer=pacer,
                         failpoint=failpoints(settings.failpoints), defer_reports=True)
        logger.info("WhatsApp sender mode: %s", MODE.value)
    return _sender


@app.agent(source.topic, name="scrm.sender")
async def sender(stream):  # type: ignore[no-untyped-def]
    """Commands in batches (SCRM_AUTOMATION_BATCH_SIZE within SCRM_AUTOMATION_BATCH_SECONDS): the
    outcomes of commands that send nothing (dry run, side effects off, expired, held, invalid) are
    published together once the batch is handled (``Sender.settle``: two producer flushes per
    batch instead of two per command), then the batch is acked. A command that made a request is
    settled at once, so a live send's result is not held back behind the batch's pacing."""
    async for events in stream.noack_take(settings.automation_batch_size, settings.automation_batch_seconds):
        worker_sender = sender_for_worker()
        rejected = False
        for event in events:
            stats.add(STAGE, "in")
            try:
                cmd = command(source.decode(event.message.value), effects_off=effects_off(event))
            except (DecodeError, InvalidEvent, KeyError, TypeError, ValueError) as exc:
                await dead_letters.reject(event, STAGE, exc)
                rejected = True
                continue
            _outbox.events[cmd.action_id] = event  # the outbox entry lives in the command's partition
            before = worker_sender.stats.duplicates
            entry = await worker_sender.handle(cmd)
            stats.add(STAGE, "duplicates" if worker_sender.stats.duplicates > before else entry.state.value)
            if entry.attempts:
                await worker_sender.settle()
        await worker_sender.settle()
        if rejected:
            await app.producer.flush()  # dead letters are durable before the batch is acked
        _outbox.events.clear()
        for event in events:
            await stream.ack(event)
