"""``scrm contacts unmerge MERGE_ID``: undo a merge from the merge log.

The merge is looked up on the ``contact.merges`` topic (the log the worker publishes), an unmerge
command goes to ``identity``, and the command waits until the worker has re-published the merge as
undone, then prints how the contact split. Conversation history never moved (messages stay keyed
by contact key), so both contacts keep theirs."""

from __future__ import annotations

import time
from typing import Any

import click
from aiokafka.errors import KafkaError

from streams.app import app, topics
from streams.commands import kafka_clients
from streams.commands.errors import fail
from streams.commands.operator import operator
from streams.faust_cli import argument, option
from streams.identity_records import unmerge_record

LIST_MERGES = ('scrm sql "SELECT merge_id, into, absorbed, evidence_detail, confidence FROM contact_merges FINAL '
               'WHERE NOT undone ORDER BY merged_at DESC LIMIT 20"')


@app.command(
    argument("action", type=click.Choice(["unmerge"])),
    argument("merge_id", type=str),
    option("--wait", "wait_s", type=float, default=60.0,
           help="seconds to wait for the worker to apply it (0: queue it and return)"),
)
async def contacts(self: Any, action: str, merge_id: str, wait_s: float) -> None:
    """unmerge MERGE_ID: split a merged contact again (the ids are in ClickHouse contact_merges)."""
    log = topics["contact.merges"]
    consumer = kafka_clients.consumer()
    await kafka_clients.start("contacts", consumer)
    try:
        merge = None
        async for msg in kafka_clients.read_to_end(consumer, log.name, log.spec.partitions):
            if msg.key == merge_id.encode() and (rec := log.decode(msg.value))["merge_id"] == merge_id:
                merge = rec
        if merge is None:
            fail("contacts", f"no merge {merge_id!r} in the merge log ({log.name}). Recent merges: {LIST_MERGES}")
        if merge["undone"]:
            print(f"merge {merge_id} was already undone; nothing to do")
            return
        await _send_unmerge(merge_id)
        if wait_s <= 0:
            print(f"unmerge of {merge_id} queued on {topics['identity'].name}")
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            for found in _matching(await consumer.getmany(timeout_ms=1000), log, merge_id):
                if found["undone"]:
                    print(f"merge {merge_id} undone: {found['into']} keeps {len(found['left'])} record(s), "
                          f"{found['absorbed']} gets back {len(found['right'])} record(s); "
                          "each keeps its own conversations")
                    return
    finally:
        await consumer.stop()
    fail("contacts", f"the unmerge is queued on {topics['identity'].name}, but no worker applied it within "
                     f"{wait_s:.0f} s. Is the worker running (`scrm wait` shows its lag)? It is applied when one "
                     "runs.", 1)


def _matching(batches: dict[Any, list[Any]], log: Any, merge_id: str) -> list[dict[str, Any]]:
    return [rec for batch in batches.values() for m in batch
            if m.key == merge_id.encode() and (rec := log.decode(m.value))["merge_id"] == merge_id]


async def _send_unmerge(merge_id: str) -> None:
    target = topics["identity"]
    producer = kafka_clients.producer()
    await kafka_clients.start("contacts", producer)
    try:
        record = unmerge_record(merge_id, int(time.time() * 1000), operator())
        await producer.send_and_wait(target.name, target.encode(record), key=b"unmerge:" + merge_id.encode())
    except KafkaError as exc:
        fail("contacts", f"sending the unmerge failed ({type(exc).__name__}: {exc}); nothing changed, run it again", 1)
    finally:
        await producer.stop()
