"""A real ``scrm worker`` process per module, isolated by topic prefix, group, web port and paths."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

SCRM = str(Path(sys.executable).parent / "scrm")
SAMPLE = Path(__file__).resolve().parents[2] / "streams" / "samples" / "sample.jsonl"
EXIT_STALLED = 70  # streams.watchdog: the worker asks its supervisor for a restart
COUNTS = "SELECT count() AS stored, uniqExact(wamid) AS distinct_ids FROM scrm.messages"


@dataclass
class Pipeline:
    env: dict[str, str]
    workdir: Path
    web: str
    worker: subprocess.Popen | None = None
    restarts: int = 0  # exits the supervisor restarted
    restart_any: bool = False  # restart after any failed exit (Kubernetes), not only a stall-watchdog exit
    _supervise: bool = False

    def scrm(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        proc = subprocess.run([SCRM, *args], env=self.env, cwd=self.workdir, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            log = self.workdir / "worker.log"
            tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no worker log)"
            raise AssertionError(f"scrm {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}\n"
                                 f"--- worker log tail ---\n{tail}")
        return proc

    def sql(self, query: str) -> list[dict]:
        out = self.scrm("sql", query, "--format", "json").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.web}/stats/", timeout=10) as response:
            return json.loads(response.read())

    def ready(self) -> bool:
        """The worker's readiness (``/readyz/``): partitions assigned, tables recovered, ClickHouse migrated."""
        try:
            with urllib.request.urlopen(f"{self.web}/readyz/", timeout=10) as response:
                return response.status == 200
        except OSError:  # 503 (HTTPError) while not ready, or not listening yet
            return False

    def _spawn(self) -> None:
        log = open(self.workdir / "worker.log", "ab")  # noqa: SIM115 - lives as long as the worker
        self.worker = subprocess.Popen([SCRM, "worker", "-l", "info"], env=self.env, cwd=self.workdir,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _supervisor(self) -> None:
        """Restart the worker when it exits asking for it (exit 70), as Kubernetes or compose would."""
        while self._supervise and self.worker is not None:
            proc = self.worker
            code = proc.wait()
            if not self._supervise or self.worker is not proc or code == 0 \
                    or (code != EXIT_STALLED and not self.restart_any):
                return  # stopped by the test, or a newer supervisor owns the worker
            self.restarts += 1
            self._spawn()

    def start_worker(self) -> None:
        self._spawn()
        self._supervise = True
        threading.Thread(target=self._supervisor, daemon=True).start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.worker.poll() is None, (self.workdir / "worker.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.web}/healthz/", timeout=1) as response:
                    health = json.loads(response.read())
            except OSError:
                time.sleep(0.3)
                continue
            # every e2e test runs the worker on the event loop a user gets (uvloop unless configured)
            assert health["event_loop"] == self.env.get("SCRM_EVENT_LOOP", "uvloop"), health
            return
        raise AssertionError("worker did not become healthy in 90s")

    def stop_worker(self, sig: int = signal.SIGTERM, timeout: float = 60) -> bool:
        """Signal the worker and wait; True when it exited by itself, False when it had to be killed."""
        self._supervise = False
        if self.worker and self.worker.poll() is None:
            self.worker.send_signal(sig)
            try:
                self.worker.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
                return False
        return True


def wait_for(what: str, check: Callable[[], bool], timeout: float = 90, poll: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def make_pipeline(kafka_bootstrap: str, workdir: Path, prefix: str, app_id: str, **extra: str) -> Pipeline:
    """A Pipeline (worker not started) with its own topics, consumer group, port and paths."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ,
           "SCRM_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "SCRM_TOPIC_PREFIX": f"{prefix}.",
           "SCRM_APP_ID": app_id,
           "SCRM_WEB_PORT": str(port),
           "SCRM_DATA_DIR": str(workdir / "faust"),
           "SCRM_CLICKHOUSE_PATH": str(workdir / "clickhouse"),
           "SCRM_SINK_BATCH_SECONDS": "0.3",
           "SCRM_STALL_SECONDS": "30",
           **extra}
    return Pipeline(env, workdir, f"http://127.0.0.1:{port}")


@contextmanager
def receiver_of(p: Pipeline, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``scrm receiver`` in front of the pipeline's broker, on a free port: (base URL, process)."""
    port = free_port()
    log = open(p.workdir / "receiver.log", "ab")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([SCRM, "receiver"], env={**p.env, **env, "SCRM_RECEIVER_PORT": str(port)}, cwd=p.workdir,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, (p.workdir / "receiver.log").read_text()
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "receiver did not start in 60s"
            time.sleep(0.2)
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def serving(p: Pipeline, *, start: bool = True) -> Iterator[Pipeline]:
    """For a fixture: create the pipeline's topics, start its worker (unless the tests do), and
    stop it at the end (``yield from serving(p)``)."""
    p.scrm("topics", "create")
    if start:
        p.start_worker()
    try:
        yield p
    finally:
        p.stop_worker()


@pytest.fixture(scope="module")
def pipeline(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, request) -> Iterator[Pipeline]:
    tag = request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")
    p = make_pipeline(kafka_bootstrap, tmp_path_factory.mktemp("pipeline"), tag, f"scrm-{tag}",
                      **getattr(request.module, "PIPELINE_ENV", {}))
    yield from serving(p)
