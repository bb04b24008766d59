"""The receiver keeps forged requests in the DLQ only within a token bucket: a burst of ten
seconds' worth, then the rate; a flood cannot fill the dead-letter topic."""

from streams.receiver.handlers import RejectBudget


def test_a_burst_of_ten_seconds_then_the_rate_and_none_at_zero():
    now = [0.0]
    budget = RejectBudget(2.0, lambda: now[0])
    assert [budget.take() for _ in range(21)] == [True] * 20 + [False]
    now[0] += 1.0
    assert [budget.take() for _ in range(3)] == [True, True, False]
    now[0] += 3600
    assert sum(budget.take() for _ in range(100)) == 20  # refills to the burst, never beyond
    assert not RejectBudget(0.0, lambda: 0.0).take()
