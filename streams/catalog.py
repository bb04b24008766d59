"""The topic catalog and the Avro schemas in ``schemas/``, loaded and checked once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas import SCHEMA_DIR

_FILE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)\.v(?P<version>\d+)\.avsc$")


@dataclass(frozen=True)
class SchemaVersion:
    name: str
    version: int
    parsed: Any
    fingerprint: bytes  # 8 bytes, CRC-64-AVRO, little-endian (single-object encoding)
    canonical: str


@dataclass(frozen=True)
class TopicSpec:
    name: str  # suffix after the prefix
    key: str
    value: str  # Avro record name
    partitions: int
    retention_ms: int
    cleanup: str
    doc: str

    def kafka_config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup}


@dataclass(frozen=True)
class Catalog:
    topics: tuple[TopicSpec, ...]
    versions: dict[str, tuple[SchemaVersion, ...]]  # name -> ascending versions
    by_fingerprint: dict[bytes, SchemaVersion]

    def latest(self, name: str) -> SchemaVersion:
        return self.versions[name][-1]

    def topic(self, suffix: str) -> TopicSpec:
        for spec in self.topics:
            if spec.name == suffix:
                return spec
        raise KeyError(suffix)


@cache
def load_catalog(root: Path = SCHEMA_DIR) -> Catalog:
    versions: dict[str, list[SchemaVersion]] = {}
    for path in sorted((root / "avro").glob("*.avsc")):
        match = _FILE.match(path.name)
        if not match:
            raise ValueError(f"{path}: schema files are named <Record>.v<N>.avsc")
        raw = json.loads(path.read_text())
        canonical = to_parsing_canonical_form(parse_schema(raw, _write_hint=False))
        # with fastavro's hint (``__fastavro_parsed``) its readers and writers take the schema as it is;
        # without it they parse it again on every record (half of a decode's time, bench/RESULTS.md)
        parsed = parse_schema(raw)
        name = match["name"]
        if raw.get("name") != name:
            raise ValueError(f"{path}: record name {raw.get('name')!r} does not match the file name")
        versions.setdefault(name, []).append(SchemaVersion(
            name=name, version=int(match["version"]), parsed=parsed,
            fingerprint=bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")), canonical=canonical))
    ordered = {n: tuple(sorted(v, key=lambda s: s.version)) for n, v in versions.items()}
    topics = tuple(TopicSpec(**t) for t in yaml.safe_load((root / "topics.yaml").read_text())["topics"])
    for spec in topics:
        if spec.value not in ordered:
            raise ValueError(f"topic {spec.name}: no schema {spec.value}.v<N>.avsc")
    by_fp = {s.fingerprint: s for vs in ordered.values() for s in vs}
    return Catalog(topics=topics, versions=ordered, by_fingerprint=by_fp)
