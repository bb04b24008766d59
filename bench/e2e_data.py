"""The end-to-end benchmark's traffic: raw WhatsApp webhook envelopes exactly as the receiver
produces them (Avro single-object records keyed by phone_number_id), the same bytes for every
contender (our worker, the aiokafka/confluent-kafka ceilings, the Quix Streams peer).

Per round and contact: an inbound text in one of six languages, an agent-inbox reply, its `read`
then `delivered` receipt (read first: a regression the receipts stage must absorb), and every
20th inbound webhook twice (a Meta retry: dedup must drop it). Contacts are spread over eight
business numbers chosen two to each of the raw topic's four partitions (the raw topic is keyed by
phone_number_id: one business number is one partition), so every partition carries a quarter of
the traffic and two workers split the normalize stage evenly (``partition_shares``).
``BENCH_E2E_CONTACTS`` (default 5,000) sets the number of contacts: every round's contacts write
within one minute of event time, so it is also how many contacts share a minute (the automation
stage's timer buckets grow with it)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiokafka.partitioner import murmur2

from processors.ingest_lines import envelope_of, raw_key
from streams.catalog import load_catalog
from streams.codec import AvroCodec, make_framing
from streams.mapping import to_avro

RAW_PARTITIONS = 4  # schemas/topics.yaml, raw.whatsapp


def partition_of(key: bytes, partitions: int = RAW_PARTITIONS) -> int:
    """The partition Kafka's default partitioner (aiokafka's, Java's) gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def _balanced_pnids(per_partition: int = 2) -> list[str]:
    """Business numbers, ``per_partition`` on each raw partition. The first eight of the series
    (…00000-…00007) fall 4/2/1/1 on four partitions and carried 50/25/12.5/12.5 % of the records;
    with two workers the one holding partition 0 then normalized up to three quarters of them."""
    chosen: dict[int, list[str]] = {p: [] for p in range(RAW_PARTITIONS)}
    i = 0
    while any(len(v) < per_partition for v in chosen.values()):
        pnid = f"1098765432{i:05d}"
        if len(chosen[partition_of(pnid.encode())]) < per_partition:
            chosen[partition_of(pnid.encode())].append(pnid)
        i += 1
    return [pnid for i in range(per_partition) for pnid in (v[i] for v in chosen.values())]


PNIDS = _balanced_pnids()
T0 = 1795136000
TEXTS = ["你好，這件外套多少錢？有折扣嗎？", "我的包裹到哪了？什么时候发货", "Quiero hacer una devolución, llegó roto",
         "このバッグはいくらですか？サイズは？", "Qual o status do pedido 99123?", "thanks! do you ship to Macau?"]
RETRY_EVERY = 20
RECEIVED_AFTER_S = 2  # a backlog webhook reached the receiver this long after its event time


def _contacts() -> int:
    raw = os.environ.get("BENCH_E2E_CONTACTS", "5000")
    if not raw.isdigit() or not 1 <= int(raw) <= 9_999_999:
        raise SystemExit(f"BENCH_E2E_CONTACTS: expected a number of contacts from 1 to 9,999,999, got {raw!r}")
    return int(raw)


CONTACTS = _contacts()


@dataclass
class Counts:
    raw: int = 0
    messages: int = 0  # unique messages (inbound + agent replies)
    statuses: int = 0
    retries: int = 0
    inbound: int = 0
    keys: set[bytes] = field(default_factory=set)


def raw_codec() -> AvroCodec:
    catalog = load_catalog()
    spec = next(t for t in catalog.topics if t.name == "raw.whatsapp")
    return AvroCodec(make_framing(catalog, None), spec.value, subject="raw.whatsapp-value")


def _whatsapp(pnid: str, value: dict) -> bytes:
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "85230001234",
                                                           "phone_number_id": pnid}, **value}
    return json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": "WABA1", "changes": [{"field": "messages", "value": value}]}]},
        ensure_ascii=False, separators=(",", ":")).encode()


def bodies(events: int, *, tag: str, contacts: int = CONTACTS, t0: int = T0) -> Iterator[tuple[str, bytes, int]]:
    """(source, body, event time in s) for about ``events`` raw webhooks (whole rounds) from ``t0``
    on; ids unique per ``tag``."""
    n = 0
    j = 0
    while n < events:
        for i in range(contacts):
            if n >= events:
                return
            pnid, wa_id, at = PNIDS[i % len(PNIDS)], f"8526{i:07d}", t0 + j * 300 + i % 60
            inbound = _whatsapp(pnid, {
                "contacts": [{"profile": {"name": "陳大文"}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": f"wamid.{tag}.{i}.{j}", "timestamp": str(at), "type": "text",
                              "text": {"body": TEXTS[(i + j) % len(TEXTS)]}}]})
            yield "whatsapp", inbound, at
            if (i + j * contacts) % RETRY_EVERY == 0:
                yield "whatsapp", inbound, at + 30  # Meta's retry, after our 200 was lost
            reply = {"message_id": f"inbox.{tag}.{i}.{j}", "phone_number_id": pnid, "wa_id": wa_id,
                     "agent_id": f"agent-{i % 5}", "text": "收到，請稍等 / recibido", "timestamp": at + 60}
            yield "agent_inbox", json.dumps(reply, ensure_ascii=False).encode(), at + 60
            for kind, dt in (("read", 90), ("delivered", 70)):
                status = {"id": f"inbox.{tag}.{i}.{j}", "status": kind, "timestamp": str(at + dt),
                          "recipient_id": wa_id}
                yield "whatsapp", _whatsapp(pnid, {"statuses": [status]}), at + dt
            n += 4 + ((i + j * contacts) % RETRY_EVERY == 0)
        j += 1


def count(events: int, *, tag: str) -> Counts:
    c = Counts()
    previous = None
    for source, body, _ in bodies(events, tag=tag):
        c.raw += 1
        if body == previous:
            c.retries += 1
        elif source == "agent_inbox":
            c.messages += 1
        elif b'"statuses"' in body:
            c.statuses += 1
        else:
            c.messages += 1
            c.inbound += 1
        previous = body
    return c


def partition_shares(events: int) -> list[float]:
    """Share of the raw records on each raw partition (the same for every ``tag``)."""
    counts = [0] * RAW_PARTITIONS
    for key, _, _ in records(events, tag="shares", codec=raw_codec()):
        counts[partition_of(key)] += 1
    return [round(n / max(sum(counts), 1), 3) for n in counts]


def records(events: int, *, tag: str, codec: AvroCodec,
            live: bool = False) -> Iterator[tuple[bytes, bytes, int | None]]:
    """(key, value, Kafka timestamp ms) raw-topic records.

    Default, a backlog: events from ``T0`` on, each received (``received_at_ms`` and the record's
    timestamp, as the receiver stamps them) ``RECEIVED_AFTER_S`` after its event time: traffic
    recorded while no worker ran (an outage's backlog, a replay). ``live``: events from about now,
    received at the time of encoding (timestamp None: the producer's clock), for the latency part."""
    t0 = int(time.time()) - 60 if live else T0
    for source, body, at in bodies(events, tag=tag, t0=t0):
        received_ms = int(time.time() * 1000) if live else (at + RECEIVED_AFTER_S) * 1000
        env = envelope_of(source, body, {"content-type": "application/json"}, received_at_ms=received_ms,
                          signature_verified=True)
        yield raw_key(env), codec.dumps(to_avro(env)), None if live else received_ms
