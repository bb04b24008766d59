import itertools

from hypothesis import given
from hypothesis import strategies as st

from processors.events import StatusEvent, StatusKind
from processors.receipts import apply_status

T0 = 1_795_136_000_000


def status(kind: StatusKind, offset_s: int, **kw) -> StatusEvent:
    return StatusEvent(wamid="wamid.1", status=kind, status_raw=kind.value, phone_number_id="P", contact_key="P:1",
                       timestamp_ms=T0 + offset_s * 1000, received_at_ms=T0, envelope_sha256="h", **kw)


def fold(events):
    state = None
    regressions = 0
    for ev in events:
        applied = apply_status(state, ev)
        state, regressions = applied.state, regressions + applied.regression
    return state, regressions


def test_read_before_sent_and_delivered_ends_read_with_all_three_times():
    state, regressions = fold([status(StatusKind.READ, 30), status(StatusKind.SENT, 0),
                               status(StatusKind.DELIVERED, 5)])
    assert state.state is StatusKind.READ and state.delivered
    assert (state.sent_ms, state.delivered_ms, state.read_ms) == (T0, T0 + 5000, T0 + 30000)
    assert regressions == 2 == state.regressions_prevented


def test_read_implies_delivered_without_its_receipt():
    state, _ = fold([status(StatusKind.SENT, 0), status(StatusKind.READ, 9)])
    assert state.delivered and state.delivered_ms is None


def test_failed_is_terminal_and_keeps_code_and_title():
    state, regressions = fold([status(StatusKind.SENT, 0),
                               status(StatusKind.FAILED, 2, error_code=131049, error_title="healthy ecosystem"),
                               status(StatusKind.DELIVERED, 3)])
    assert (state.state, state.error_code, state.error_title) == (StatusKind.FAILED, 131049, "healthy ecosystem")
    assert regressions == 1 and state.delivered_ms == T0 + 3000


def test_duplicate_status_keeps_the_earliest_meta_time_and_is_not_a_regression():
    state, regressions = fold([status(StatusKind.DELIVERED, 8), status(StatusKind.DELIVERED, 5)])
    assert state.delivered_ms == T0 + 5000 and regressions == 0


TIMES = {StatusKind.SENT: 0, StatusKind.DELIVERED: 5, StatusKind.READ: 30, StatusKind.PLAYED: 40}


@given(st.permutations(list(TIMES)),
       st.lists(st.sampled_from([StatusKind.SENT, StatusKind.DELIVERED, StatusKind.READ]), max_size=4))
def test_final_state_and_times_do_not_depend_on_arrival_order(order, repeats):
    """Meta retries (later copies of the same status) and any arrival order give one answer."""
    events = [status(k, TIMES[k]) for k in order] + [status(k, 100) for k in repeats]
    finals = {(f.state, f.sent_ms, f.delivered_ms, f.read_ms, f.played_ms)
              for f in (fold(p)[0] for p in itertools.islice(itertools.permutations(events), 40))}
    assert finals == {(StatusKind.PLAYED, T0, T0 + 5000, T0 + 30000, T0 + 40000)}


def test_a_redelivered_status_is_not_counted_as_a_second_regression():
    """At-least-once: after a crash the same status can be applied again; nothing changes."""
    events = [status(StatusKind.READ, 30), status(StatusKind.DELIVERED, 5)]
    state, regressions = fold([*events, status(StatusKind.DELIVERED, 5)])
    assert regressions == 1 == state.regressions_prevented
    assert apply_status(state, status(StatusKind.DELIVERED, 5)).changed is False


def test_version_grows_with_every_change_and_state_round_trips():
    from processors.receipts import dumps, loads

    state, _ = fold([status(StatusKind.SENT, 0), status(StatusKind.FAILED, 2, error_code=131026,
                                                        error_title="Message undeliverable")])
    assert state.version == 2 and state.rank == 5
    assert loads(dumps(state)) == state
