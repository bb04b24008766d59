from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.settings import Settings


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
