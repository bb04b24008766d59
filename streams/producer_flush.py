"""Make Faust's producer flush wait until its buffer is drained (a guard, like ``offset_safety``).

``ProducerBuffer.flush()`` hands the buffered records to aiokafka one by one, and it returns
as soon as 0.1 s pass without one being handed over, even when records are still waiting
(``flush_atmost``). Faust commits offsets right after that flush, and the agents flush before
they write the state that produced their records. A slow hand-over, for example under CPU
pressure or while aiokafka waits for metadata or buffer space, could therefore commit an offset
ahead of the changelog and output records it depends on. A SIGKILL then lost them, while the
input was not read again.

Here a full flush (``max_messages=None``) waits until nothing is pending and nothing is being
handed over. It gives up after ``limit_s`` with a warning; a broker that long away fails the
sends themselves.

aiokafka's own ``flush`` waits for batches that are still lingering (``SCRM_PRODUCER_LINGER_MS``)
until their linger time ends, so every flush would cost up to the linger. Here it sends them at
once, as Java's ``KafkaProducer.flush`` does: the batches open at the call are closed, the sender
is woken, and the flush returns when those batches and the ones in flight are acknowledged."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka.producer.message_accumulator import MessageAccumulator
from faust.transport.producer import ProducerBuffer

logger = logging.getLogger(__name__)


def _drained(buffer: Any) -> asyncio.Event:
    """Set when the buffer's last pending record has been handed over."""
    event: asyncio.Event | None = getattr(buffer, "_scrm_drained", None)
    if event is None:
        event = buffer._scrm_drained = asyncio.Event()
    return event


def install(limit_s: float = 120.0) -> None:
    if getattr(ProducerBuffer, "_scrm_drains", False):
        return
    send_pending, flush_atmost = ProducerBuffer._send_pending, ProducerBuffer.flush_atmost

    async def _send_pending(self: Any, fut: Any) -> None:
        self._scrm_handing_over = getattr(self, "_scrm_handing_over", 0) + 1
        try:
            await send_pending(self, fut)
        finally:
            self._scrm_handing_over -= 1
            self._scrm_sent = getattr(self, "_scrm_sent", 0) + 1
            if not self._scrm_handing_over and not self.size:
                _drained(self).set()

    async def _flush_atmost(self: Any, max_messages: int | None) -> int:
        if max_messages is not None:
            result: int = await flush_atmost(self, max_messages)
            return result
        sent_before, deadline = getattr(self, "_scrm_sent", 0), time.monotonic() + limit_s
        drained = _drained(self)
        while self.size or getattr(self, "_scrm_handing_over", 0):
            if self.state != "running" and self.size:
                raise RuntimeError("Cannot flush: Producer not Running")
            if time.monotonic() > deadline:
                logger.warning("producer flush gave up after %.0fs with %d record(s) still buffered", limit_s,
                               self.size)
                break
            # one wake-up when the buffer is empty, not one per record handed over (a wait_for per
            # record was 2.6 % of the worker's samples); every 0.1 s the state and the limit are checked
            drained.clear()
            try:
                await asyncio.wait_for(drained.wait(), timeout=0.1)
            except TimeoutError:
                continue
        return int(getattr(self, "_scrm_sent", 0) - sent_before)

    # flush_for_commit closes the open batches and wakes the sender (no linger), then waits for them
    MessageAccumulator.flush = MessageAccumulator.flush_for_commit
    ProducerBuffer._send_pending = _send_pending  # type: ignore[method-assign]
    ProducerBuffer.flush_atmost = _flush_atmost  # type: ignore[method-assign]
    ProducerBuffer._scrm_drains = True  # type: ignore[attr-defined]
