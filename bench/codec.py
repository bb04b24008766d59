"""Avro codec cost per record, for the records every event crosses (schemas/examples), through the
codec the worker uses (single-object framing, catalog schemas), against the same codec with
schemas parsed without fastavro's hint: what the catalog held before it kept the hint, when fastavro parsed
the schema again for every record. Interleaved, median of five rounds.

    .venv/bin/python -m bench codec
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from fastavro import parse_schema

from streams.catalog import Catalog, load_catalog
from streams.codec import SingleObjectFraming

RECORDS = ["MessageEvent", "StatusEvent", "Signal", "MessageState", "Conversation", "TagEvent", "AutomationDecision"]
EXAMPLES = Path(__file__).resolve().parent.parent / "schemas" / "examples"
SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "avro"


def unhinted(catalog: Catalog) -> Catalog:
    def strip(name: str, version: int) -> Any:
        return parse_schema(json.loads((SCHEMAS / f"{name}.v{version}.avsc").read_text()), _write_hint=False)
    versions = {n: tuple(replace(v, parsed=strip(n, v.version)) for v in vs) for n, vs in catalog.versions.items()}
    by_fp = {v.fingerprint: v for vs in versions.values() for v in vs}
    return Catalog(topics=catalog.topics, versions=versions, by_fingerprint=by_fp)


def _us(fn: Any, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def run(n: int = 2000, rounds: int = 5) -> dict[str, dict[str, float]]:
    now, before = load_catalog(), unhinted(load_catalog())
    out: dict[str, dict[str, float]] = {}
    for name in RECORDS:
        version = now.latest(name).version
        record = json.loads((EXAMPLES / f"{name}.v{version}.json").read_text())
        figures: dict[str, list[float]] = {}
        for _ in range(rounds):
            for label, catalog in (("before", before), ("now", now)):
                framing = SingleObjectFraming(catalog)
                data = framing.encode(name, "bench", record)
                encode = partial(framing.encode, name, "bench", record)
                decode = partial(framing.decode, name, "bench", data)
                figures.setdefault(f"encode_us_{label}", []).append(_us(encode, n))
                figures.setdefault(f"decode_us_{label}", []).append(_us(decode, n))
        out[name] = {k: round(statistics.median(v), 1) for k, v in sorted(figures.items())}
    return out
