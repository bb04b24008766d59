from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.settings import BUDGET_OPTION, STAGES, Settings


def test_defaults_are_the_embedded_setup():
    s = Settings.from_env({})
    assert s.kafka_bootstrap == "127.0.0.1:9092" and s.clickhouse_url is None
    assert s.clickhouse_path == Path("var/clickhouse") and s.topic("messages") == "scrm.messages"


def test_values_are_typed_from_scrm_variables():
    s = Settings.from_env({"SCRM_WEB_PORT": "7000", "SCRM_SINK_BATCH_SECONDS": "0.5",
                           "SCRM_DATA_DIR": "/tmp/x", "SCRM_TOPIC_PREFIX": "acme."})
    assert (s.web_port, s.sink_batch_seconds, s.data_dir) == (7000, 0.5, Path("/tmp/x"))
    assert s.topic("dlq") == "acme.dlq"


def test_a_malformed_value_names_the_variable():
    with pytest.raises(ConfigError, match="SCRM_WEB_PORT"):
        Settings.from_env({"SCRM_WEB_PORT": "eighty"})


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().web_port = 1  # type: ignore[misc]


def test_credentials_are_masked_in_repr_and_describe():
    s = Settings.from_env({"SCRM_CLICKHOUSE_URL": "https://user:s3cret@ch.example:8443"})
    assert "s3cret" not in repr(s)
    assert s.describe()["clickhouse_url"] == "https://***@ch.example:8443"


@pytest.mark.parametrize(("env", "message"), [
    ({"SCRM_DEDUP_RETENTION_DAYS": "3"}, "at least 7"),
    ({"SCRM_DEFAULT_TIMEZONE": "Asia/Atlantis"}, "not an IANA time zone"),
    ({"SCRM_ROCKSDB_MEMORY_MB": "8"}, "ROCKSDB_MEMORY_MB must be >= 16"),
    ({"SCRM_ROCKSDB_BLOCK_CACHE_MB": "32"}, "no longer read: set SCRM_ROCKSDB_MEMORY_MB"),  # a removed setting
    ({"SCRM_CONVERSATION_IDLE_HOURS": "0"}, "CONVERSATION_IDLE_HOURS"),
    ({"SCRM_PRODUCER_LINGER_MS": "-1"}, "PRODUCER_LINGER_MS"),
    ({"SCRM_EVENT_LOOP": "trio"}, "EVENT_LOOP"),
    ({"SCRM_PRODUCER_LINGER_MS": "5000"}, "PRODUCER_LINGER_MS"),
])
def test_stream_state_settings_are_validated(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_table_options_share_one_rocksdb_budget_and_set_the_retention():
    s = Settings.from_env({"SCRM_ROCKSDB_MEMORY_MB": "64", "SCRM_ROCKSDB_WRITE_BUFFER_MB": "4"})
    options = s.table_options(retention_days=8)
    assert options[BUDGET_OPTION] == 64 * 2**20 and options["write_buffer_size"] == 4 * 2**20
    assert options["max_write_buffer_number"] == 2 and options["ttl"] == 8 * 86400
    assert "ttl" not in s.table_options()
    assert s.changelog_config(8) == {"cleanup.policy": "compact,delete", "retention.ms": str(8 * 86_400_000)}


def test_stages_are_all_by_default_or_a_checked_list():
    assert Settings.from_env({}).stage_names == tuple(STAGES)
    assert Settings.from_env({"SCRM_STAGES": " normalize, sinks "}).stage_names == ("normalize", "sinks")
    for bad in ("normalize,churn", ",", "all,sinks"):
        with pytest.raises(ConfigError, match=r"SCRM_STAGES=.*use all, or a comma list of normalize, state"):
            Settings.from_env({"SCRM_STAGES": bad})
    with pytest.raises(ConfigError, match="automation needs normalize"):
        Settings.from_env({"SCRM_STAGES": "automation,sinks"})
