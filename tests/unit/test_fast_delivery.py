"""streams/fast_delivery.py: Faust's fetch loop hands a record over without Service.wait_first's
four tasks when the hand-over finishes at once, and keeps wait_first's behaviour otherwise: a
hand-over that has to wait is still interrupted by a flow suspension (a rebalance) or a stop."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from faust.transport.consumer import Consumer
from mode import Service

from streams import fast_delivery


class FetchLoop(Service):
    """What the patched ``wait_first`` reads of a consumer: its flow-suspension event, and the
    service's stopped and crashed events and loop."""

    def __post_init__(self) -> None:
        self.suspend_flow = asyncio.Event()


def _run(scenario):  # type: ignore[no-untyped-def]
    fast_delivery.install()
    fast_delivery.install()  # twice changes nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a suspension wait never awaited would warn
        return asyncio.run(scenario())


def test_a_hand_over_that_finishes_at_once_returns_its_result_in_one_task():
    async def scenario():  # type: ignore[no-untyped-def]
        loop, created = FetchLoop(), []
        running = asyncio.get_running_loop()

        def count(lp, coro):  # type: ignore[no-untyped-def]
            created.append(getattr(coro, "__qualname__", "?"))
            return asyncio.Task(coro, loop=lp)

        running.set_task_factory(count)

        async def deliver() -> str:
            return "delivered"

        result = await Consumer.wait_first(loop, deliver(), loop.suspend_flow.wait())
        return result, list(created)

    result, created = _run(scenario)
    assert result.results == ["delivered"] and not result.stopped
    assert len(created) == 1  # Service.wait_first made four: the hand-over, the suspension, stopped, crashed


def test_a_hand_over_that_waits_finishes_when_it_can():
    async def scenario():  # type: ignore[no-untyped-def]
        loop, room = FetchLoop(), asyncio.Event()

        async def deliver() -> str:
            await room.wait()  # a full stream queue
            return "delivered"

        asyncio.get_running_loop().call_later(0.05, room.set)
        return await Consumer.wait_first(loop, deliver(), loop.suspend_flow.wait())

    result = _run(scenario)
    assert result.results == ["delivered"] and not result.stopped


def test_a_flow_suspension_interrupts_a_hand_over_that_waits():
    async def scenario():  # type: ignore[no-untyped-def]
        loop, cancelled = FetchLoop(), []

        async def deliver() -> None:
            try:
                await asyncio.sleep(60)  # a stream queue that never gets room
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        asyncio.get_running_loop().call_later(0.05, loop.suspend_flow.set)  # a rebalance starts
        result = await asyncio.wait_for(Consumer.wait_first(loop, deliver(), loop.suspend_flow.wait()), 5)
        await asyncio.sleep(0)
        return result, cancelled

    result, cancelled = _run(scenario)
    assert result.results == [True] and not result.stopped  # the suspension won
    assert cancelled == [True]


def test_a_hand_over_that_fails_raises_as_before():
    async def scenario():  # type: ignore[no-untyped-def]
        loop = FetchLoop()

        async def deliver() -> None:
            raise ValueError("bad record")

        await Consumer.wait_first(loop, deliver(), loop.suspend_flow.wait())

    with pytest.raises(ValueError, match="bad record"):
        _run(scenario)


def test_other_calls_keep_wait_first():
    async def scenario():  # type: ignore[no-untyped-def]
        loop = FetchLoop()

        async def one() -> int:
            return 1

        async def two() -> int:
            await asyncio.sleep(60)
            return 2

        return await Consumer.wait_first(loop, one(), two(), timeout=5)

    result = _run(scenario)
    assert result.results == [1]
