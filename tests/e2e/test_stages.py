"""A worker that runs some stages (``SCRM_STAGES``): analytics only first, automations switched on later.

With ``normalize,state,sinks`` the warehouse fills and nothing reads ``signals``, so ``scrm wait``
does not wait for it and no automation runs; the signals stay in their topic. The same app id
restarted with every stage then works through them from the start."""

import json
import urllib.request

from tests.e2e.conftest import SAMPLE

PIPELINE_ENV = {"SCRM_STAGES": "normalize,state,sinks", "SCRM_CLOCK_TICK_SECONDS": "0"}


def _health(pipeline) -> dict:
    with urllib.request.urlopen(f"{pipeline.web}/healthz/", timeout=10) as response:
        return json.loads(response.read())


def test_analytics_only_then_automations_switched_on(pipeline):
    assert _health(pipeline)["stages"] == ["normalize", "state", "sinks"]
    pipeline.scrm("ingest", str(SAMPLE))
    pipeline.scrm("wait", "--timeout", "120")  # would time out if it waited for the unread signals
    (messages,) = pipeline.sql("SELECT count() AS n FROM scrm.messages FINAL")
    assert messages["n"] == 9
    assert pipeline.sql("SELECT count() AS n FROM scrm.conversations FINAL")[0]["n"] > 0
    stats = pipeline.stats()
    # every message, status and preference forwarded also went to ``signals``
    signals = sum(stats["normalize"].get(f"{kind}_out", 0) for kind in ("messages", "statuses", "preferences"))
    assert "automation" not in stats and "state.conversations" in stats
    assert pipeline.sql("SELECT count() AS n FROM scrm.automation_decisions")[0]["n"] == 0

    pipeline.stop_worker()
    del pipeline.env["SCRM_STAGES"]
    pipeline.start_worker()
    assert _health(pipeline)["stages"] == ["normalize", "state", "automation", "identity", "crm", "sender", "sinks"]
    pipeline.scrm("wait", "--timeout", "120")
    automation = pipeline.stats()["automation"]
    assert automation["processed"] - automation.get("ticks", 0) == signals
    assert pipeline.sql("SELECT count() AS n FROM scrm.contacts FINAL")[0]["n"] > 0  # identity ran on them too
    (again,) = pipeline.sql("SELECT count() AS n FROM scrm.messages")
    assert again["n"] == 9  # the raw topic was not read twice
