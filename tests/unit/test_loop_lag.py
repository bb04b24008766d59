import asyncio
import time

from streams import loop_lag


def test_a_loop_held_for_300_ms_shows_as_lag():
    seen: list[float] = []

    async def go() -> None:
        sampler = asyncio.create_task(loop_lag.sample(seen.append, interval_s=0.05))
        await asyncio.sleep(0.2)
        free = list(seen)
        time.sleep(0.3)  # a stage that holds the loop
        await asyncio.sleep(0.1)
        sampler.cancel()
        return free

    free = asyncio.run(go())
    assert free and all(lag >= 0 for lag in seen)
    # the sleep that spanned the hold ended at least 0.3 - 0.05 s late
    assert max(seen[len(free):]) >= 0.25
