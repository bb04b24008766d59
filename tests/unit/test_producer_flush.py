"""streams/producer_flush.py: a full flush of Faust's producer buffer returns only once every
buffered record was handed to the Kafka client, however slow each hand-over is (Faust's own
flush gave up after 0.1 s without progress, and an offset commit could then run ahead of the
changelog)."""

from __future__ import annotations

import asyncio

import faust
from faust.transport.producer import ProducerBuffer

from streams import producer_flush


class SlowChannel:
    """Stands in for a topic whose client takes 0.25 s to accept each record (a slow hand-over)."""

    def __init__(self) -> None:
        self.published: list[int] = []

    async def publish_message(self, fut: object, wait: bool = False) -> None:
        await asyncio.sleep(0.25)
        self.published.append(fut.n)  # type: ignore[attr-defined]


class Pending:
    def __init__(self, channel: SlowChannel, n: int) -> None:
        self.n = n
        self.message = type("Message", (), {"channel": channel})()


def test_a_full_flush_returns_only_when_every_record_was_handed_over():
    producer_flush.install()
    producer_flush.install()  # twice changes nothing

    async def scenario() -> tuple[list[int], int, list[int]]:
        buffer = ProducerBuffer(loop=asyncio.get_running_loop())
        buffer.app = faust.App("flush-test")
        channel = SlowChannel()
        await buffer.start()
        try:
            for n in range(4):
                buffer.put(Pending(channel, n))  # type: ignore[arg-type]
            await buffer.flush_atmost(1)  # a bounded flush keeps Faust's meaning: at most that many
            after_bounded = list(channel.published)
            flushed = await buffer.flush_atmost(None)
            return after_bounded, flushed, list(channel.published)
        finally:
            await buffer.stop()

    after_bounded, flushed, published = asyncio.run(scenario())
    assert len(after_bounded) <= 1
    assert published == [0, 1, 2, 3] and flushed >= 3
