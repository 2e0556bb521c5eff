"""The Salesforce daily API budget's policy: the reserve kept for people, when a call may go,
and how much slower the service polls as the budget shrinks."""

from __future__ import annotations

import threading

import pytest

from connector.errors import BudgetReserved
from connector.salesforce.budget import (
    STALE_AFTER,
    Budget,
    BudgetGuard,
    poll_delay,
    reserve_calls,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _guard(used: int, maximum: int, percent: float = 20, clock: Clock | None = None) -> BudgetGuard:
    """A guard that has seen one answer reporting `used` of `maximum`."""
    guard = BudgetGuard(percent, clock=clock or Clock())
    guard.admit()
    guard.settle((used, maximum))
    return guard


@pytest.mark.parametrize(
    ("maximum", "percent", "reserve"),
    [(100_000, 20, 20_000), (15, 20, 3), (10, 20, 2), (40, 20, 8), (7, 10, 1), (1000, 0, 0)],
)
def test_the_reserve_is_the_percentage_rounded_up(maximum, percent, reserve):
    """The reserve is `percent` of the daily maximum, rounded up (never a call less)."""
    assert reserve_calls(maximum, percent) == reserve


def test_budget_figures():
    """Remaining, what leadbridge may still spend, and its share left, from used/max/reserve."""
    budget = Budget(used=30, max=40, reserve=8)
    assert (budget.remaining, budget.remaining_before_reserve) == (10, 2)
    assert budget.share_left == pytest.approx(2 / 32)
    assert budget.allows(2) and not budget.allows(3)
    assert not budget.reserved and budget.tight
    assert Budget(used=32, max=40, reserve=8).reserved
    assert Budget(used=50, max=40, reserve=8).remaining == 0


def test_a_call_that_would_cut_into_the_reserve_is_refused_naming_the_setting():
    """With 9 of 40 left and 8 kept, one call goes; the next would leave 7: refused, one line."""
    guard = _guard(31, 40)
    guard.admit()
    guard.settle((32, 40))

    with pytest.raises(BudgetReserved) as refused:
        guard.admit()

    assert str(refused.value) == (
        "Salesforce API budget: 8 of 40 calls left today and the reserve "
        "(LEADBRIDGE_SALESFORCE_API_RESERVE_PERCENT=20: 8 calls) is kept for people: the pass "
        "stops here and the next goes on from there once the budget has room"
    )
    assert "\n" not in str(refused.value)


def test_calls_in_flight_count_as_spent():
    """Two calls sent before either answered both count: the third cannot slip through."""
    guard = _guard(30, 40)
    guard.admit()
    guard.admit()
    with pytest.raises(BudgetReserved):
        guard.admit()
    assert guard.budget() == Budget(used=32, max=40, reserve=8)


def test_an_answer_without_a_count_is_taken_as_counted():
    """A call whose answer carried no usage (a SOAP answer, a dropped connection) still counts."""
    guard = _guard(30, 40)
    guard.admit()
    guard.settle(None)
    assert guard.budget() == Budget(used=31, max=40, reserve=8)


def test_the_count_each_answer_reports_replaces_the_estimate():
    """Salesforce's count includes other clients' calls: it wins over the local estimate."""
    guard = _guard(10, 40)
    guard.admit()
    guard.settle((25, 40))
    assert guard.budget() == Budget(used=25, max=40, reserve=8)


def test_before_the_first_answer_the_budget_is_unknown_and_the_call_goes():
    """The first call of a process learns where the budget stands from its answer."""
    guard = BudgetGuard(20, clock=Clock())
    assert guard.budget() is None
    guard.admit()
    guard.ensure(1_000_000, "anything")  # nothing known: nothing to refuse on
    guard.settle((40, 40))
    with pytest.raises(BudgetReserved):
        guard.admit()


def test_a_stale_count_lets_one_call_through_to_learn_it_again():
    """The 24-hour window rolls on: a refusal older than STALE_AFTER lets one call go, and
    the count its answer brings decides the next."""
    clock = Clock()
    guard = _guard(32, 40, clock=clock)
    with pytest.raises(BudgetReserved):
        guard.admit()
    clock.now += STALE_AFTER

    guard.admit()  # learns
    with pytest.raises(BudgetReserved):
        guard.admit()  # only one call learns
    guard.settle((12, 40))  # the window rolled: room again
    guard.admit()


def test_ensure_asks_room_for_several_calls_without_spending_any():
    """`ensure` refuses work whose calls would cut into the reserve, and counts nothing."""
    guard = _guard(28, 40)
    guard.ensure(4, "converting 5 Leads")
    with pytest.raises(BudgetReserved, match=r"; converting 5 Leads needs 5 calls: the pass"):
        guard.ensure(5, "converting 5 Leads")
    assert guard.budget() == Budget(used=28, max=40, reserve=8)


def test_a_reserve_of_zero_still_refuses_the_call_salesforce_would_refuse():
    """With no reserve, the last call of the day goes and the one past it is not sent."""
    guard = _guard(39, 40, percent=0)
    guard.admit()
    guard.settle((40, 40))
    with pytest.raises(BudgetReserved):
        guard.admit()


def test_threads_sharing_a_guard_never_admit_more_than_the_budget_allows():
    """Eight worker threads racing for the last calls above the reserve get exactly those."""
    guard = _guard(22, 40)  # 10 calls left above the reserve
    admitted: list[int] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(5):
            try:
                guard.admit()
            except BudgetReserved:
                return
            admitted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 10


# -- poll_delay ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("used", "delay"),
    [
        (0, 30.0),  # untouched
        (60_000, 30.0),  # a quarter of leadbridge's 80,000 left: still the interval
        (64_000, 37.5),  # a fifth left: slower
        (72_000, 75.0),  # a tenth left: 2.5 times the interval
        (79_200, 750.0),  # 1 % left
        (79_999, 900.0),  # capped
        (80_000, 900.0),  # the reserve reached: look again at the longest delay
        (100_000, 900.0),
    ],
)
def test_poll_delay_grows_as_leadbridges_share_runs_out(used, delay):
    """Polling keeps its interval while a quarter of the share is left, then slows in
    proportion, and waits the longest once only the reserve is left."""
    budget = Budget(used=used, max=100_000, reserve=20_000)
    assert poll_delay(budget, 30.0) == pytest.approx(delay)


def test_poll_delay_never_shrinks_as_the_budget_does():
    """Monotonic: less budget never means more frequent polls."""
    delays = [poll_delay(Budget(used=u, max=1_000, reserve=200), 30.0) for u in range(0, 1_001, 7)]
    assert delays == sorted(delays)


def test_poll_delay_unknown_budget_and_long_intervals():
    """An unknown budget keeps the interval; an interval longer than the cap is never cut."""
    assert poll_delay(None, 30.0) == 30.0
    held = Budget(used=100, max=100, reserve=20)
    assert poll_delay(held, 3600.0) == 3600.0
    assert poll_delay(held, 30.0, longest=120.0) == 120.0
