from processors.dlq_limit import DlqGuard, DlqLimit


def test_consecutive_dead_letters_trip_the_limit_and_a_good_record_resets_the_run():
    guard = DlqGuard(DlqLimit(max_consecutive=3, max_ratio=0))
    assert guard.observe("normalize", "raw", 0, 10) is None
    assert guard.observe("normalize", "raw", 0, 11) is None
    assert guard.observe("normalize", "raw", 0, 13) is None  # offset 12 went through: the run restarts
    assert guard.observe("normalize", "raw", 1, 14) is None  # another partition counts on its own
    assert guard.observe("sink.messages", "raw", 0, 14) is None  # and another stage
    assert guard.observe("normalize", "raw", 0, 14) is None
    reason = guard.observe("normalize", "raw", 0, 15)
    assert reason == "stage normalize on raw[0] dead-lettered 3 consecutive records (limit 3)"


def test_a_ratio_over_the_window_trips_the_limit():
    guard = DlqGuard(DlqLimit(max_consecutive=0, max_ratio=0.5, window=10))
    tripped = [guard.observe("state", "messages", 2, offset) for offset in range(0, 40, 2)]  # every other record
    assert not any(tripped)
    assert guard.observe("state", "messages", 2, 39) == ("stage state on messages[2] dead-lettered 6 of the last "
                                                         "10 records (limit 50%)")


def test_rejections_before_a_topic_and_reread_records_do_not_accumulate():
    guard = DlqGuard(DlqLimit(max_consecutive=2, max_ratio=0))
    assert guard.observe("ingest", "file:x", 0, -1) is None and guard.observe("ingest", "file:x", 0, -1) is None
    assert guard.observe("normalize", "raw", 0, 5) is None
    assert guard.observe("normalize", "raw", 0, 5) is None  # re-read after a restart: counted afresh
    assert guard.observe("normalize", "raw", 0, 6) is not None
