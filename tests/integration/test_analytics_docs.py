"""docs/analytics.md against the real ClickHouse engine (chDB): every SQL recipe runs, the two an
analyst asks first give the right answer on known data (inserted twice, as a replay would), and
the generated table reference matches the migrations."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sinks.clickhouse.migrate import migrate
from sinks.clickhouse.reference import DOC, END, START, reference_markdown
from tests.integration.test_rollups import conversation

pytestmark = pytest.mark.clickhouse
HK = ZoneInfo("Asia/Hong_Kong")
RECIPE = re.compile(r"^### (.+?)\n.*?```sql\n(.+?)```", re.S | re.M)


def recipes() -> dict[str, str]:
    return {title: sql for title, sql in RECIPE.findall(DOC.read_text().partition(START)[0])}


def ch(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.000")


def last_week(days: int, hh: int) -> str:
    """Monday of last week (Hong Kong) + days, at hh:00 Hong Kong time."""
    today = datetime.now(HK).date()
    monday = today - timedelta(days=today.weekday() + 7)
    return ch(datetime(monday.year, monday.month, monday.day, hh, tzinfo=HK) + timedelta(days=days))


def first_responses() -> list[dict]:
    at = last_week
    return [conversation("c1", 1, bot_ms=5_000, started=at(1, 10)),
            conversation("c1", 2, agent="agent-a", human_ms=60_000, bot_ms=5_000, started=at(1, 10)),
            conversation("c1", 3, agent="agent-b", human_ms=60_000, bot_ms=5_000, started=at(1, 10)),
            conversation("c2", 1, agent="agent-a", human_ms=120_000, started=at(3, 23)),  # Thu 23:00 HK
            conversation("c3", 1, agent="agent-a", human_ms=300_000, started=at(6, 21)),  # Sunday night
            conversation("c4", 1, agent="agent-b", human_ms=30_000, started=at(4, 9)),
            conversation("c5", 1, agent="agent-b", human_ms=999_000, started=at(-1, 22)),  # the week before
            conversation("c6", 1, agent="agent-c", started=at(2, 11))]  # not answered


def send(action, template, wamid, state="sent"):
    now = ch(datetime.now(UTC))
    return {"action_id": action, "contact_key": "PN:1", "phone_number_id": "PN", "rule_id": "r", "kind": "template",
            "category": "marketing", "template": template, "language": "zh_HK", "state": state, "mode": "live",
            "wamid": wamid, "attempts": 1, "decided_at": now, "recorded_at": now, "completed_at": now,
            "src_partition": 0, "src_offset": 0}


def state(wamid, value, version):
    rank = {"sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 5}[value]
    now = ch(datetime.now(UTC))
    return {"wamid": wamid, "contact_key": "PN:1", "state": value, "state_rank": rank, "updated": now,
            "regressions_prevented": 0, "version": version, "src_partition": 0, "src_offset": version}


SENDS = [send("a1", "welcome", "t1"), send("a2", "welcome", "t2"), send("a3", "welcome", "t3"),
         send("a4", "welcome", "t4"), send("a5", "winback", "w1"), send("a6", "winback", "w2"),
         send("a7", "welcome", None, "failed"), send("a8", "welcome", None, "dry_run")]
STATES = [state("t1", "delivered", 1), state("t1", "read", 2), state("t2", "played", 1), state("t3", "delivered", 1),
          state("w1", "delivered", 1), state("w2", "failed", 1)]


@pytest.fixture
def db(chdb_backend, database):
    migrate(chdb_backend, database)
    for token in ("first", "replay"):  # everything twice, under other dedup tokens
        chdb_backend.insert_rows(f"{database}.conversations", first_responses(), f"c-{token}")
        chdb_backend.insert_rows(f"{database}.outbound_sends", SENDS, f"s-{token}")
        chdb_backend.insert_rows(f"{database}.message_state", STATES, f"m-{token}")
    return database


def run(backend, database, sql):
    result = backend.query(sql.replace("scrm.", f"{database}."))
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_median_first_response_time_per_agent_last_week(chdb_backend, db):
    got = run(chdb_backend, db, recipes()["Median first response time per agent, last week"])
    assert got == [{"agent_id": "agent-b", "conversations": 1, "median_frt_s": 30.0, "p90_frt_s": 30.0},
                   {"agent_id": "agent-a", "conversations": 3, "median_frt_s": 120, "p90_frt_s": 300}]


def test_read_rate_per_template(chdb_backend, db):
    got = run(chdb_backend, db, recipes()["Read rate per template"])
    assert got == [{"template": "welcome", "language": "zh_HK", "sent": 4, "delivered": 3, "opened": 2,
                    "read_rate": 0.5},
                   {"template": "winback", "language": "zh_HK", "sent": 2, "delivered": 1, "opened": 0,
                    "read_rate": 0.0}]


def test_every_recipe_runs(chdb_backend, db):
    found = recipes()
    assert len(found) >= 12
    for title, sql in found.items():
        try:
            run(chdb_backend, db, sql)
        except Exception as exc:  # noqa: BLE001 - name the recipe that broke
            pytest.fail(f"recipe {title!r} failed: {exc}")


def test_the_reference_section_matches_the_migrations(chdb_backend, database):
    migrate(chdb_backend, database)
    in_doc = DOC.read_text().partition(START)[2].partition(END)[0].strip("\n")
    assert in_doc == reference_markdown(chdb_backend, database).strip("\n"), "run `make docs`"
    for table in ("raw_webhooks", "messages", "statuses", "message_state", "conversations", "contacts",
                  "contact_merges", "contact_conflicts", "tags", "churn_scores", "automation_decisions",
                  "crm_writes", "outbound_sends", "dead_letters", "messages_hourly", "receipts_hourly"):
        assert f"| `{table}` |" in DOC.read_text(), f"{table} is not described in the Tables section"
