from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from processors.events import Direction, MessageEvent, SenderKind
from sinks.clickhouse.rows import SourcePosition, ch_datetime64, epoch_ms, message_row
from streams.commands.output import render, width


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_epoch_ms_survives_the_avro_datetime_round_trip_exactly(ms):
    dt = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)
    assert epoch_ms(dt) == ms


def test_datetime64_text_keeps_milliseconds():
    assert ch_datetime64(1_795_136_000_007) == "2026-11-20 00:53:20.007"


@given(st.integers(min_value=-86_400_000, max_value=4_102_444_800_000))
def test_datetime64_text_is_strftime_of_the_instant(ms):
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    assert ch_datetime64(ms) == dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def test_message_row_carries_source_position_and_enum_values():
    msg = MessageEvent(wamid="w", direction=Direction.INBOUND, sender_kind=SenderKind.CUSTOMER,
                       phone_number_id="p", contact_key="p:1", message_type="text", timestamp_ms=1_795_136_000_000,
                       received_at_ms=1_795_136_000_500, envelope_sha256="e", text="運費")
    row = message_row(msg, SourcePosition("scrm.messages", 3, 42))
    assert row["direction"] == "inbound" and row["text"] == "運費"
    assert (row["src_topic"], row["src_partition"], row["src_offset"]) == ("scrm.messages", 3, 42)


def test_table_aligns_wide_cjk_characters():
    out = render(["name", "n"], [["陳大文", 1], ["Ana", None]], "table").splitlines()
    assert width(out[2]) == width("陳大文  1") and out[3] == "Ana     NULL" and out[-1] == "(2 rows)"


def test_json_and_csv_formats():
    assert render(["a", "b"], [[1, "x"]], "json") == '{"a": 1, "b": "x"}'
    assert render(["a", "b"], [[1, None]], "csv") == "a,b\n1,NULL"
