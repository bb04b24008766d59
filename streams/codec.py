"""Avro wire formats for topic values.

* Single-object encoding (default): ``C3 01`` + 8-byte CRC-64-AVRO fingerprint + Avro binary,
  resolved against the local catalog, so no registry is needed.
* Confluent wire format (``SCRM_SCHEMA_REGISTRY_URL`` set): ``00`` + 4-byte schema id + Avro binary.

Both write the newest version of a topic's record and read every version of it (schema
resolution into the newest), so producers and consumers can be upgraded one at a time.
"""

from __future__ import annotations

import io
import struct
from typing import Any, Protocol

from fastavro import schemaless_reader, schemaless_writer
from faust.serializers.codecs import Codec

from streams.catalog import Catalog, SchemaVersion
from streams.errors import DecodeError
from streams.registry import RegistryClient

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"


class Framing(Protocol):
    def encode(self, record: str, subject: str, value: dict[str, Any]) -> bytes: ...
    def decode(self, record: str, subject: str, data: bytes) -> dict[str, Any]: ...


def _write(schema: SchemaVersion, value: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, schema.parsed, value)
    return buf.getvalue()


def _read(writer: Any, reader: SchemaVersion, payload: bytes) -> dict[str, Any]:
    try:
        result = schemaless_reader(io.BytesIO(payload), writer, reader.parsed)
    except Exception as exc:  # fastavro raises many types on corrupt input
        raise DecodeError(f"corrupt Avro payload for {reader.name}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, dict):
        raise DecodeError(f"{reader.name} payload did not decode to a record")
    return result


class SingleObjectFraming:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def encode(self, record: str, subject: str, value: dict[str, Any]) -> bytes:
        schema = self.catalog.latest(record)
        return SINGLE_OBJECT_MAGIC + schema.fingerprint + _write(schema, value)

    def decode(self, record: str, subject: str, data: bytes) -> dict[str, Any]:
        if len(data) < 10 or data[:2] != SINGLE_OBJECT_MAGIC:
            raise DecodeError(f"not Avro single-object encoding (expected C3 01, got {data[:2].hex() or 'nothing'})")
        writer = self.catalog.by_fingerprint.get(data[2:10])
        if writer is None:
            raise DecodeError(f"unknown schema fingerprint {data[2:10].hex()}: not in the local catalog "
                              "(a newer producer? upgrade this worker)")
        if writer.name != record:
            raise DecodeError(f"schema {writer.name} v{writer.version} is not a {record}")
        return _read(writer.parsed, self.catalog.latest(record), data[10:])


class ConfluentFraming:
    def __init__(self, catalog: Catalog, registry: RegistryClient) -> None:
        self.catalog = catalog
        self.registry = registry

    def encode(self, record: str, subject: str, value: dict[str, Any]) -> bytes:
        schema = self.catalog.latest(record)
        schema_id = self.registry.register(subject, schema.canonical)
        return CONFLUENT_MAGIC + struct.pack(">I", schema_id) + _write(schema, value)

    def decode(self, record: str, subject: str, data: bytes) -> dict[str, Any]:
        if len(data) < 5 or data[:1] != CONFLUENT_MAGIC:
            raise DecodeError(f"not Confluent wire format (expected magic 00, got {data[:1].hex() or 'nothing'})")
        (schema_id,) = struct.unpack(">I", data[1:5])
        writer = self.registry.schema(schema_id)
        if writer.get("name") not in (record, f"scrm.{record}"):
            raise DecodeError(f"registry schema id {schema_id} is {writer.get('name')!r}, not a {record}")
        return _read(writer, self.catalog.latest(record), data[5:])


class AvroCodec(Codec):
    """A Faust codec for one topic's value record."""

    def __init__(self, framing: Framing, record: str, subject: str, **kwargs: Any) -> None:
        super().__init__(framing=framing, record=record, subject=subject, **kwargs)
        self.framing = framing
        self.record = record
        self.subject = subject

    def _dumps(self, s: Any) -> bytes:
        return self.framing.encode(self.record, self.subject, s)

    def _loads(self, s: bytes) -> Any:
        return self.framing.decode(self.record, self.subject, s)


def make_framing(catalog: Catalog, registry_url: str | None) -> Framing:
    if registry_url:
        return ConfluentFraming(catalog, RegistryClient(registry_url))
    return SingleObjectFraming(catalog)
