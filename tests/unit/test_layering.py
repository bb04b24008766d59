"""processors/ is pure: no I/O libraries, no clock, no environment (STYLE.md rule 1)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IMPORTS = {"faust", "mode", "aiokafka", "httpx", "clickhouse_connect", "chdb", "fastavro",
                     "streams", "sinks", "socket", "requests", "aiohttp", "subprocess"}
FORBIDDEN_CALLS = {("time", "time"), ("time", "monotonic"), ("datetime", "now"), ("datetime", "utcnow"),
                   ("os", "getenv"), ("date", "today")}


def _modules():
    return sorted((ROOT / "processors").rglob("*.py"))


def test_processors_import_no_io_libraries():
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN_IMPORTS]
    assert offenders == []


def test_processors_read_no_clock_or_environment():
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
                continue
            if (node.value.id, node.attr) in FORBIDDEN_CALLS or (node.value.id, node.attr) == ("os", "environ"):
                offenders.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []
