"""Every example event validates against its schema and is readable by every later version;
both wire framings round-trip; anything else is one clear DecodeError."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import SCHEMA_DIR
from streams.catalog import load_catalog
from streams.codec import SingleObjectFraming
from streams.errors import DecodeError

CATALOG = load_catalog()
BYTES_FIELDS = {"body", "original_key", "original_value"}


def example(path):
    doc = json.loads(path.read_text())
    return {k: v.encode() if k in BYTES_FIELDS and isinstance(v, str) else v for k, v in doc.items()}


EXAMPLES = sorted((SCHEMA_DIR / "examples").glob("*.json"))


def test_every_record_type_has_an_example():
    assert {p.name.split(".")[0] for p in EXAMPLES} == set(CATALOG.versions)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_readable_by_its_version_and_every_later_one(path):
    name, version = path.name.split(".")[0], int(path.name.split(".")[1][1:])
    framing = SingleObjectFraming(CATALOG)
    writer = next(v for v in CATALOG.versions[name] if v.version == version)
    from streams.codec import SINGLE_OBJECT_MAGIC, _write

    data = SINGLE_OBJECT_MAGIC + writer.fingerprint + _write(writer, example(path))
    for later in (v for v in CATALOG.versions[name] if v.version >= version):
        decoded = framing.decode(name, "s", data)
        assert {f["name"] for f in later.parsed["fields"]} <= set(decoded)


def test_single_object_framing_is_c3_01_fingerprint_payload_and_round_trips():
    framing = SingleObjectFraming(CATALOG)
    value = example(SCHEMA_DIR / "examples" / "MessageEvent.v1.json")
    data = framing.encode("MessageEvent", "scrm.messages-value", value)
    assert data[:2] == b"\xc3\x01" and data[2:10] == CATALOG.latest("MessageEvent").fingerprint
    decoded = framing.decode("MessageEvent", "scrm.messages-value", data)
    assert decoded["text"] == value["text"] and decoded["wamid"] == value["wamid"]


def test_a_record_of_another_type_is_refused():
    framing = SingleObjectFraming(CATALOG)
    data = framing.encode("DeadLetter", "s", example(SCHEMA_DIR / "examples" / "DeadLetter.v1.json"))
    with pytest.raises(DecodeError, match="is not a MessageEvent"):
        framing.decode("MessageEvent", "s", data)


def test_unknown_fingerprint_says_so():
    with pytest.raises(DecodeError, match="unknown schema fingerprint"):
        SingleObjectFraming(CATALOG).decode("MessageEvent", "s", b"\xc3\x01" + b"\x00" * 8 + b"\x02")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_decode_error(data):
    framing = SingleObjectFraming(CATALOG)
    fp = CATALOG.latest("MessageEvent").fingerprint
    for candidate in (data, b"\xc3\x01" + fp + data):
        try:
            assert isinstance(framing.decode("MessageEvent", "s", candidate), dict)
        except DecodeError as exc:
            assert str(exc)
