"""Every real webhook payload under ../shared/data/whatsapp/webhooks parses into the event kinds
its CATALOG.tsv row names, with ids, contact keys, event times and error codes; none raises
anything but InvalidEvent (and only the two Graph API error responses, which are not webhooks)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from processors.errors import InvalidEvent
from processors.events import Direction, ParsedWebhook
from processors.whatsapp import parse_webhook

WEBHOOKS = "whatsapp/webhooks"
RECEIVED_AT_MS = 1_795_136_000_000
NOT_WEBHOOKS = {"graph_error_response", "graph_error_object"}  # Graph API send responses


@pytest.fixture(scope="module")
def catalog(shared_data: Path) -> list[dict[str, str]]:
    with (shared_data / WEBHOOKS / "CATALOG.tsv").open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def parse_file(path: Path) -> ParsedWebhook:
    return parse_webhook(path.read_bytes(), received_at_ms=RECEIVED_AT_MS, envelope_sha256="sha")


def expected_kinds(row: dict[str, str]) -> list[tuple[str, str]]:
    """CATALOG kinds ("msg:text;msg:text", "status:failed", "event:FLAGGED", ...) as (family, kind)."""
    kinds = [k.strip() for k in row["kinds"].replace(",", ";").split(";") if k.strip()]
    return [(k.split(":", 1)[0], k.split(":", 1)[1]) if ":" in k else ("", k) for k in kinds]


def test_catalog_lists_every_payload_file(shared_data, catalog):
    files = {p.relative_to(shared_data / WEBHOOKS).as_posix() for p in (shared_data / WEBHOOKS).rglob("*.json")}
    assert files == {row["file"] for row in catalog}
    print(f"\n{len(files)} webhook payload files")


def test_every_payload_yields_its_catalogued_events(shared_data, catalog):
    checked = 0
    totals = {"messages": 0, "statuses": 0, "preferences": 0, "business": 0}
    for row in catalog:
        path = shared_data / WEBHOOKS / row["file"]
        kinds = expected_kinds(row)
        if {k for _, k in kinds} & NOT_WEBHOOKS:
            with pytest.raises(InvalidEvent) as err:
                parse_file(path)
            assert err.value.reason == "not_whatsapp", row["file"]
            checked += 1
            continue
        parsed = parse_file(path)
        assert parsed.count >= 1, f"{row['file']}: no events"
        _check_kinds(row, kinds, parsed)
        _check_common(row, parsed)
        for kind in totals:
            totals[kind] += len(getattr(parsed, kind))
        checked += 1
    assert checked == len(catalog) == 169
    print(f"\n{checked} payloads: {totals}")


def _check_kinds(row: dict[str, str], kinds: list[tuple[str, str]], parsed: ParsedWebhook) -> None:
    name = row["file"]
    codes = {int(c) for c in row["error_codes"].replace(";", ",").split(",") if c.strip()}
    msgs = [m for m in parsed.messages if m.direction is Direction.INBOUND]
    echoes = [m for m in parsed.messages if m.direction is Direction.OUTBOUND]
    want_msgs = [k for fam, k in kinds if fam == "msg"]
    want_echoes = [k for fam, k in kinds if fam == "echo"]
    want_statuses = [k for fam, k in kinds if fam == "status"]
    want_events = [k for fam, k in kinds if fam == "event"]
    assert [_msg_kind(m) for m in msgs] == [_catalog_msg_kind(k) for k in want_msgs], name
    assert [m.message_type for m in echoes] == want_echoes, name
    assert [s.status.value for s in parsed.statuses] == want_statuses, name
    field = row["webhook_field"]
    if want_events:
        assert [b.event for b in parsed.business] == want_events, name
    elif field == "user_preferences":
        assert parsed.preferences and all(p.value for p in parsed.preferences), name
    elif field not in ("messages", "smb_message_echoes"):
        assert [b.field for b in parsed.business] == [field], name
    elif not (want_msgs or want_statuses or want_echoes):  # a webhook-level errors[] change
        assert [b.event for b in parsed.business] == ["error"], name
    if codes:
        found = {m.error_code for m in parsed.messages} | {s.error_code for s in parsed.statuses} | {
            b.error_code for b in parsed.business}
        assert codes <= found, f"{name}: error codes {codes} not in {found}"
    if "referral" in "".join(want_msgs):
        assert all(m.referral_json for m in msgs), name


def _catalog_msg_kind(kind: str) -> str:
    base = kind.split("+")[0]
    return {"unknown": "unsupported/unknown", "unsupported": "unsupported"}.get(base, base)


def _msg_kind(msg) -> str:  # type: ignore[no-untyped-def]
    if msg.message_type == "interactive" and msg.message_subtype:
        return f"interactive/{msg.message_subtype}"
    if msg.message_type == "unsupported" and msg.message_subtype not in (None, "unsupported"):
        return f"unsupported/{msg.message_subtype}"
    return str(msg.message_type)


def _check_common(row: dict[str, str], parsed: ParsedWebhook) -> None:
    name = row["file"]
    for event in (*parsed.messages, *parsed.statuses, *parsed.preferences):
        assert event.contact_key.startswith(f"{event.phone_number_id}:"), name
        assert event.contact_key.split(":", 1)[1] in (event.wa_id, event.user_id), name
        assert 1_000_000_000_000 <= event.timestamp_ms < 10_000_000_000_000, name
    for event in (*parsed.messages, *parsed.statuses):
        assert event.wamid, name
    for msg in parsed.messages:
        json.loads(msg.payload_json) if msg.payload_json else None
    assert len({b.event_id for b in parsed.business}) == len(parsed.business), name
