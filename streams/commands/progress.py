"""Progress of a long command: a bar with rate and ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, what: str, total: int, out: TextIO = sys.stderr, every_s: float = 5.0) -> None:
        self.what, self.total, self.out, self.every_s = what, total, out, every_s
        self.done = 0
        self.started = self._last = time.monotonic()
        self.tty = out.isatty()

    def add(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.tty and now - self._last >= 0.1:
            self._last = now
            self.out.write(f"\r{self._line(now)}\033[K")
            self.out.flush()
        elif not self.tty and now - self._last >= self.every_s:
            self._last = now
            print(self._line(now), file=self.out, flush=True)

    def finish(self) -> float:
        now = time.monotonic()
        end = "\n" if self.tty else ""
        self.out.write(("\r" if self.tty else "") + self._line(now) + end + ("" if self.tty else "\n"))
        self.out.flush()
        return now - self.started

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * int(share * 30)
        return (f"{self.what} [{bar:<30}] {self.done:,}/{self.total:,} ({share:.0%}) "
                f"{rate:,.0f}/s ETA {eta:,.0f}s")
