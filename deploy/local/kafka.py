#!/usr/bin/env python3
"""A real single-node Apache Kafka broker (KRaft) on loopback, without Docker.

The broker jars come from Maven Central through ``pom.xml`` beside this file and are cached
once under ``$SCRM_CACHE_DIR`` (default ``~/.cache/scrm``). Each broker keeps its config, data,
pid and log under a run directory (default ``./var/kafka``).

    python deploy/local/kafka.py start   [--run-dir DIR] [--port 9092] [--controller-port 9093]
    python deploy/local/kafka.py status  [--run-dir DIR]
    python deploy/local/kafka.py stop    [--run-dir DIR]
    python deploy/local/kafka.py fetch   # resolve the jars only

``start`` is idempotent: a broker already running from the same run directory is reused.
Standard library only, so it works before the project's virtualenv exists.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "3.9.2"
HERE = Path(__file__).resolve().parent
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 30.0


class BrokerError(Exception):
    """A problem the user can fix; the message says how."""


@dataclass(frozen=True)
class BrokerConfig:
    run_dir: Path
    port: int
    controller_port: int
    heap: str = "1g"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def cache_dir() -> Path:
    base = os.environ.get("SCRM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "scrm"
    )
    return Path(base) / f"kafka-{KAFKA_VERSION}"


def _need(tool: str, why: str, install: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BrokerError(f"'{tool}' was not found on PATH; it is needed {why}. Install it: {install}")
    return path


def fetch_jars() -> Path:
    """Resolve the broker classpath into the cache (once); return the lib directory."""
    lib = cache_dir() / "lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    mvn = _need("mvn", "once, to fetch the Kafka jars from Maven Central",
                "apt-get install -y maven (or run `make setup`)")
    lib.mkdir(parents=True, exist_ok=True)
    print(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central into {lib} ...", flush=True)
    cmd = [mvn, "-q", "-B", "-f", str(HERE / "pom.xml"), "dependency:copy-dependencies",
           f"-DoutputDirectory={lib}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BrokerError("maven could not resolve the Kafka jars:\n"
                          + (proc.stdout + proc.stderr)[-2000:])
    if not any(lib.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        raise BrokerError(f"maven finished but {lib} has no kafka_2.13-{KAFKA_VERSION}.jar")
    marker.write_text(KAFKA_VERSION)
    return lib


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours still answers kill(0); check its state
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _read_state(run_dir: Path) -> dict | None:
    path = run_dir / "broker.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


def _server_properties(cfg: BrokerConfig) -> str:
    data = cfg.run_dir / "data"
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{cfg.controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{cfg.port},CONTROLLER://127.0.0.1:{cfg.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{cfg.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.num.partitions": "10",
        "group.initial.rebalance.delay.ms": "0",
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "background.threads": "2",
        "num.recovery.threads.per.data.dir": "1",
        "log.cleaner.threads": "1",
        "log.cleaner.dedupe.buffer.size": "33554432",
        "log.retention.hours": "-1",
        "log.segment.bytes": "268435456",
        "group.min.session.timeout.ms": "1000",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


LOG4J = """\
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
"""


def status(run_dir: Path) -> dict:
    state = _read_state(run_dir)
    if not state:
        return {"running": False, "run_dir": str(run_dir)}
    alive = _pid_alive(state["pid"])
    ready = alive and _port_open(state["port"])
    return {**state, "running": alive, "ready": ready, "run_dir": str(run_dir)}


def _cluster_id() -> str:
    """A random cluster id as Kafka's ``Uuid.randomUuid`` makes them: base64url of 16 bytes, never
    starting with '-' (the storage tool's argument parser would take it for an option; 1 in 64)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def start(cfg: BrokerConfig) -> dict:
    run_dir = cfg.run_dir.resolve()
    cfg = BrokerConfig(run_dir, cfg.port, cfg.controller_port, cfg.heap)
    current = status(run_dir)
    if current["running"]:
        if current["port"] != cfg.port:
            raise BrokerError(
                f"a broker from {run_dir} is already running on port {current['port']}, not "
                f"{cfg.port}; stop it first: python deploy/local/kafka.py stop --run-dir {run_dir}")
        _wait_ready(current["pid"], cfg, run_dir / "broker.log")
        return {**status(run_dir), "reused": True}
    for port in (cfg.port, cfg.controller_port):
        if _port_open(port):
            raise BrokerError(
                f"port {port} on 127.0.0.1 is already in use by another process. Stop that process, "
                "or choose other ports (SCRM_KAFKA_PORT / SCRM_KAFKA_CONTROLLER_PORT).")
    java = _need("java", "to run the Kafka broker", "apt-get install -y openjdk-17-jre-headless")
    lib = fetch_jars()
    run_dir.mkdir(parents=True, exist_ok=True)
    props = run_dir / "server.properties"
    props.write_text(_server_properties(cfg))
    log4j = run_dir / "log4j.properties"
    log = run_dir / "broker.log"
    log4j.write_text(LOG4J.format(log=log))
    classpath = f"{lib}/*"
    if not (run_dir / "data" / "meta.properties").exists():
        cluster_id = _cluster_id()
        fmt = subprocess.run(
            [java, f"-Dlog4j.configuration=file:{log4j}", "-cp", classpath,
             "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)],
            capture_output=True, text=True)
        if fmt.returncode != 0:
            raise BrokerError("formatting the broker storage failed:\n" + (fmt.stdout + fmt.stderr)[-2000:])
    cmd = [java, "-Xms256m", f"-Xmx{cfg.heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           "-Djava.awt.headless=true", f"-Dlog4j.configuration=file:{log4j}",
           "-cp", classpath, "kafka.Kafka", str(props)]
    with open(run_dir / "broker.out", "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=run_dir)
    started = time.monotonic()
    state = {"pid": proc.pid, "port": cfg.port, "controller_port": cfg.controller_port,
             "bootstrap": cfg.bootstrap, "kafka_version": KAFKA_VERSION}
    (run_dir / "broker.json").write_text(json.dumps(state))
    _wait_ready(proc.pid, cfg, log)
    return {**status(run_dir), "reused": False, "start_seconds": round(time.monotonic() - started, 2)}


def _wait_ready(pid: int, cfg: BrokerConfig, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            raise BrokerError(f"the broker exited during start-up; see {log} and "
                              f"{cfg.run_dir / 'broker.out'}:\n{_tail(cfg.run_dir / 'broker.out')}")
        if _port_open(cfg.port):
            return
        time.sleep(0.2)
    raise BrokerError(f"the broker did not accept connections on {cfg.bootstrap} within "
                      f"{READY_TIMEOUT_S:.0f}s; see {log}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(run_dir: Path) -> dict:
    state = status(run_dir.resolve())
    if not state["running"]:
        (run_dir / "broker.json").unlink(missing_ok=True)
        return {**state, "stopped": False}
    pid = state["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.2)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _pid_alive(pid):
            time.sleep(0.1)
    _reap(pid)
    (run_dir / "broker.json").unlink(missing_ok=True)
    return {**state, "running": False, "stopped": True}


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a local single-node Kafka broker (KRaft).")
    parser.add_argument("command", choices=["start", "stop", "status", "fetch"])
    parser.add_argument("--run-dir", default=os.environ.get("SCRM_KAFKA_RUN_DIR", "var/kafka"),
                        help="where config, data, pid and log live (default: var/kafka)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SCRM_KAFKA_PORT", "9092")))
    parser.add_argument("--controller-port", type=int,
                        default=int(os.environ.get("SCRM_KAFKA_CONTROLLER_PORT", "9093")))
    parser.add_argument("--heap", default=os.environ.get("SCRM_KAFKA_HEAP", "1g"))
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir)
    try:
        if args.command == "fetch":
            result: dict = {"lib": str(fetch_jars())}
        elif args.command == "start":
            result = start(BrokerConfig(run_dir, args.port, args.controller_port, args.heap))
        elif args.command == "stop":
            result = stop(run_dir)
        else:
            result = status(run_dir)
    except BrokerError as exc:
        print(f"kafka: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(_describe(args.command, result))
    if args.command == "status" and not result.get("ready"):
        return 1
    return 0


def _describe(command: str, r: dict) -> str:
    if command == "fetch":
        return f"kafka jars ready in {r['lib']}"
    if command == "start":
        how = "already running, reused" if r.get("reused") else f"started in {r.get('start_seconds')}s"
        return f"kafka {KAFKA_VERSION} on {r['bootstrap']} ({how}; pid {r['pid']}, run dir {r['run_dir']})"
    if command == "stop":
        return "kafka stopped" if r.get("stopped") else "kafka was not running"
    if r.get("ready"):
        return f"kafka is running on {r['bootstrap']} (pid {r['pid']}, run dir {r['run_dir']})"
    if r.get("running"):
        return f"kafka process {r['pid']} is up but not accepting connections on {r['bootstrap']}"
    return f"kafka is not running (run dir {r['run_dir']})"


if __name__ == "__main__":
    sys.exit(main())
