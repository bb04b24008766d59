"""A minimal Faust worker for ``test_rebalance.py``: one slow agent that logs what it processed.

It installs only the consumer guards the real worker installs (``streams.offset_safety``) and uses
the worker's commit and stream settings, so a rebalance between two of them exercises the same
Faust paths as two ``scrm worker`` processes, without the pipeline's other stages in the way.

Run as ``python -m tests.reliability.rebalance_app worker -l warn --web-port P``; configured by
``REBALANCE_BROKER``, ``REBALANCE_TOPIC``, ``REBALANCE_GROUP``, ``REBALANCE_LOG`` (one
``partition offset`` line per processed record), ``REBALANCE_DATADIR``, ``REBALANCE_FIRST_HOLD``
(seconds the agent holds its first event), ``REBALANCE_LOSE`` (``partition:offset`` of a record whose
first acknowledgement is made to look like one from an earlier generation: read past, never
committable) and ``REBALANCE_GUARD`` (``0`` leaves Faust unguarded,
to show the loss the guards prevent)."""

from __future__ import annotations

import asyncio
import os

import faust

from streams import offset_safety

if os.environ.get("REBALANCE_GUARD", "1") == "1":
    offset_safety.install(lambda topic: False)

app = faust.App(
    os.environ["REBALANCE_GROUP"],
    broker=f"kafka://{os.environ['REBALANCE_BROKER']}",
    datadir=os.environ["REBALANCE_DATADIR"],
    autodiscover=False,
    consumer_auto_offset_reset="earliest",
    broker_commit_every=1000,
    broker_commit_interval=0.5,
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.0,
    stream_wait_empty=False,
    web_in_thread=False,
)
topic = app.topic(os.environ["REBALANCE_TOPIC"], key_type=bytes, value_type=bytes, value_serializer="raw",
                  key_serializer="raw")
seen = app.Table(f"{os.environ['REBALANCE_GROUP']}-seen", default=int, partitions=4)
processed = open(os.environ["REBALANCE_LOG"], "a", buffering=1)  # noqa: SIM115 - the worker's lifetime


lose = tuple(int(n) for n in os.environ["REBALANCE_LOSE"].split(":")) if os.environ.get("REBALANCE_LOSE") else None


@app.agent(topic)
async def record(stream: faust.StreamT) -> None:
    hold = float(os.environ.get("REBALANCE_FIRST_HOLD", "0"))
    lost = False
    async for event in stream.events():
        if hold:  # a stage slow to get going: nothing is acked, so nothing committed, for a while
            await asyncio.sleep(hold)
            hold = 0
        await asyncio.sleep(0.001)  # slow enough that a backlog sits in the stream buffer
        seen[event.key] += 1  # a table: each rebalance recovers its changelog, flow stays suspended meanwhile
        processed.write(f"{event.message.partition} {event.message.offset}\n")
        if not lost and (event.message.partition, event.message.offset) == lose:
            lost = True
            event.message.generation_id = -1  # its ack now cannot count towards a commit


if __name__ == "__main__":
    app.main()
