"""Dedup state survives a crashed worker: SIGKILL, lose the local RocksDB directory, restart, and
the table is rebuilt from its changelog topic, so a re-ingested sample adds nothing."""

import shutil
import signal

from tests.e2e.conftest import COUNTS, SAMPLE


def test_dedup_state_recovers_from_the_changelog_after_sigkill(pipeline):
    pipeline.scrm("ingest", str(SAMPLE))
    pipeline.scrm("wait", "--timeout", "120")
    assert pipeline.sql(COUNTS) == [{"stored": 9, "distinct_ids": 9}]

    pipeline.stop_worker(signal.SIGKILL)
    shutil.rmtree(pipeline.env["SCRM_DATA_DIR"])  # local table state gone: only the changelog remains
    pipeline.start_worker()

    pipeline.scrm("ingest", str(SAMPLE))
    pipeline.scrm("wait", "--timeout", "120")
    assert pipeline.sql(COUNTS) == [{"stored": 9, "distinct_ids": 9}]
    normalize = pipeline.stats().get("normalize", {})
    # Faust may hand an event to the agent again after recovery seeks to the committed offsets
    # (at-least-once): every copy must be absorbed, none forwarded.
    assert normalize.get("messages_out", 0) == 0
    # Counts are per process. A worker recovering without its local directory sometimes stops
    # committing (Faust's recovery race, docs/stream-state.md) and the stall watchdog restarts it;
    # the instance that deduplicated the sample is then gone, and the rows above are the evidence.
    if not pipeline.restarts:
        assert normalize["messages_deduplicated"] >= 9
