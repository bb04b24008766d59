"""The debugging commands users run by hand: ``scrm phone normalize``, ``scrm webhook parse``, ``scrm rules``."""

from __future__ import annotations

import json
import subprocess

from tests.e2e.conftest import SCRM


def scrm(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SCRM, *args], input=stdin, capture_output=True, timeout=120)


def test_phone_normalize_prints_e164_and_candidate_keys():
    proc = scrm("phone", "normalize", "+55 41 98888-7777")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["e164"] == "+5541988887777" and "+554188887777" in out["keys"]
    unquoted = json.loads(scrm("phone", "normalize", "5123", "4567", "--region", "HK").stdout)
    assert unquoted["e164"] == "+85251234567"


def test_phone_normalize_says_what_is_wrong_without_a_traceback():
    proc = scrm("phone", "normalize", "12", "--region", "hk")
    assert proc.returncode == 2
    assert b"not a possible phone number for region HK" in proc.stderr and b"Traceback" not in proc.stderr


def test_webhook_parse_prints_events_and_flags_what_would_be_dead_lettered(tmp_path):
    body = {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "P", "display_phone_number": "85230001234"},
        "messages": [{"from": "886912345678", "id": "wamid.1", "timestamp": "1795136000", "type": "text",
                      "text": {"body": "運費多少？"}}],
        "statuses": [{"id": "wamid.0", "status": "read", "timestamp": "1795136001", "recipient_id": "886912345678"}],
    }}]}]}
    good = tmp_path / "good.json"
    good.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    proc = scrm("webhook", "parse", str(good))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [(e["kind"], e["wamid"]) for e in events] == [("message", "wamid.1"), ("status", "wamid.0")]
    assert events[0]["text"] == "運費多少？" and events[0]["phone_e164"] == "+886912345678"
    proc = scrm("webhook", "parse", "-", stdin=b"{not json")
    assert proc.returncode == 1 and b"would be dead-lettered: bad_json" in proc.stderr


def test_rules_test_shows_which_rules_fire_and_why(tmp_path):
    proc = scrm("rules", "test", "default", "我想退货，運費怎麼算？", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["tag"]: r for r in map(json.loads, proc.stdout.decode().splitlines())}
    assert rows["returns"] == {"tag": "returns", "fires": "yes", "department": "returns", "why": "keyword '退货'"}
    assert rows["shipping"]["fires"] == "yes" and "price_inquiry" not in rows
    pack = tmp_path / "pack.yaml"
    pack.write_text('pack: mine\nversion: "3"\nrules:\n  - tag: vip\n    keywords: [VIP, 貴賓]\n', encoding="utf-8")
    proc = scrm("rules", "test", str(pack), "我是贵宾")
    assert proc.returncode == 0 and "pack mine version 3" in proc.stdout.decode()
    assert "keyword '贵宾'" in proc.stdout.decode()


def test_rules_check_reports_a_bad_pack_without_a_traceback(tmp_path):
    pack = tmp_path / "bad.yaml"
    pack.write_text("pack: mine\nversion: 1\nrules:\n  - tag: vip\n    regex: ['(']\n", encoding="utf-8")
    proc = scrm("rules", "check", str(pack))
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    assert b"rules[0] (tag vip): regex '(' does not compile" in proc.stderr
    assert scrm("rules", "check", "default").returncode == 0
