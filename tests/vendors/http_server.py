"""An aiohttp app served on a free local port from a background thread, so synchronous tests and
worker subprocesses reach a vendor contract server over real HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web

from tests.conftest import free_port


class ThreadedServer:
    def __init__(self, make_app: Callable[[], web.Application]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._make_app = make_app
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("contract server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._make_app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
