"""Real payloads, mutated: the parser never crashes; each body ends as events or as InvalidEvent
with a reason (which the agent turns into a dead letter carrying the original bytes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.errors import InvalidEvent
from processors.events import ParsedWebhook
from processors.whatsapp import parse_webhook
from tests.conftest import SHARED_DATA

FILES = sorted((SHARED_DATA / "whatsapp" / "webhooks").rglob("*.json")) if SHARED_DATA.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason=f"reference data not present at {SHARED_DATA}")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


def outcome(body: bytes) -> str:
    try:
        result = parse_webhook(body, received_at_ms=1_795_136_000_000, envelope_sha256="sha")
    except InvalidEvent as exc:
        assert exc.reason and str(exc)
        return "dead_letter"
    assert isinstance(result, ParsedWebhook)
    return "events"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FILES or [Path("/")]), st.data())
def test_replacing_or_deleting_any_node_never_crashes(path, data):
    doc = json.loads(path.read_bytes())
    target = data.draw(st.sampled_from([p for p in paths(doc) if p]))
    parent = doc
    for step in target[:-1]:
        parent = parent[step]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[target[-1]]
    else:
        parent[target[-1]] = data.draw(json_values)
    outcome(json.dumps(doc).encode())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FILES or [Path("/")]), st.integers(min_value=0), st.binary(max_size=8))
def test_truncated_or_corrupted_bytes_never_crash(path, cut, noise):
    raw = path.read_bytes()
    cut %= len(raw)
    outcome(raw[:cut] + noise + raw[cut + len(noise):])
