"""The HubSpot pacer on a fake clock: it waits exactly as long as the limits need, no longer."""

from __future__ import annotations

import pytest

from connector.hubspot.pacing import Pacer


class FakeTime:
    """A clock that moves only when the pacer sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 5_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def _pacer(time: FakeTime, **limits: int) -> Pacer:
    return Pacer(clock=time.clock, sleep=time.sleep, **limits)


def _calls(pacer: Pacer, count: int, *, search: bool = False, step: float = 0.0, time=None) -> None:
    for _ in range(count):
        with pacer.call(search=search):
            pass
        if time is not None:
            time.now += step


def test_151st_request_in_ten_seconds_waits_until_the_oldest_leaves(time):
    """150 calls spread over 3 s fill the window; the 151st waits exactly until the first is
    10 s old, then the 152nd until the second is."""
    pacer = _pacer(time, requests_per_10s=150)
    first = time.now
    _calls(pacer, 150, step=0.02, time=time)  # the last at first + 2.98
    assert time.sleeps == []

    with pacer.call():
        assert time.now == pytest.approx(first + 10.0)
    assert time.sleeps == [pytest.approx(10.0 - 3.0)]

    with pacer.call():
        assert time.now == pytest.approx(first + 10.02)


def test_calls_within_the_limit_never_wait(time):
    """Under the limit nothing sleeps, however fast the calls come."""
    pacer = _pacer(time, requests_per_10s=150)
    _calls(pacer, 150)
    time.now += 10.0
    _calls(pacer, 150)
    assert time.sleeps == []


def test_fifth_search_within_a_second_waits(time):
    """Four searches a second: the fifth waits until the first is a second old."""
    pacer = _pacer(time, searches_per_second=4)
    _calls(pacer, 4, search=True, step=0.1, time=time)  # at +0.0 .. +0.3, now +0.4
    assert time.sleeps == []

    with pacer.call(search=True):
        pass
    assert time.sleeps == [pytest.approx(0.6)]


def test_searches_and_other_calls_have_separate_windows(time):
    """Searches are exempt from the ten-second limit: they never delay a batch call."""
    pacer = _pacer(time, requests_per_10s=2, searches_per_second=4)
    _calls(pacer, 4, search=True)
    _calls(pacer, 2)
    assert time.sleeps == []


def test_a_call_enters_the_window_when_its_answer_arrives(time):
    """A slow answer counts from its arrival, so HubSpot never sees one call too many."""
    pacer = _pacer(time, searches_per_second=1)
    with pacer.call(search=True):
        time.now += 0.7  # the request takes 0.7 s
    with pacer.call(search=True):
        pass
    assert time.sleeps == [pytest.approx(1.0)]


def _headers(remaining: int, limit: int = 190) -> dict[str, str]:
    return {
        "X-HubSpot-RateLimit-Max": str(limit),
        "X-HubSpot-RateLimit-Remaining": str(remaining),
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    }


def test_plenty_remaining_adds_no_wait(time):
    """While HubSpot reports more than a tenth of the budget left, nothing changes."""
    pacer = _pacer(time)
    pacer.observe(_headers(20))
    _calls(pacer, 3)
    assert time.sleeps == []


@pytest.mark.parametrize(("remaining", "gap"), [(19, 10 / 190), (10, 10 * 10 / 190), (1, 1.0)])
def test_low_remaining_spaces_calls_out_more_the_less_is_left(time, remaining, gap):
    """Other workers spent the shared budget: calls slow down as `Remaining` nears zero."""
    pacer = _pacer(time)
    pacer.observe(_headers(remaining))
    _calls(pacer, 1)
    assert time.sleeps == [pytest.approx(gap)]


def test_a_stale_report_is_ignored(time):
    """A report older than its window says nothing about now."""
    pacer = _pacer(time)
    pacer.observe(_headers(0))
    time.now += 10.0
    _calls(pacer, 1)
    assert time.sleeps == []


def test_reported_maximum_below_the_setting_caps_the_window(time):
    """On a Starter portal (100 per 10 s) a setting of 150 cannot overrun HubSpot's limit."""
    pacer = _pacer(time, requests_per_10s=150)
    pacer.observe(_headers(99, limit=100))
    _calls(pacer, 100)
    assert time.sleeps == []
    _calls(pacer, 1)
    assert time.sleeps == [pytest.approx(10.0)]


def test_answers_without_rate_headers_change_nothing(time):
    """Search answers carry no rate-limit headers; observing them is harmless."""
    pacer = _pacer(time)
    pacer.observe({})
    pacer.observe(None)
    pacer.observe({"Content-Type": "application/json"})
    _calls(pacer, 1)
    assert time.sleeps == []


def test_a_window_others_spent_is_waited_out_whole(time):
    """HubSpot reports none left while this process made no call in the window: other
    clients spent it, and the next call waits the whole window instead of meeting a 429."""
    pacer = _pacer(time)
    pacer.observe(_headers(0))
    _calls(pacer, 1)
    assert time.sleeps == [pytest.approx(10.0)]


def test_a_window_spent_by_this_process_alone_waits_only_for_its_oldest_call(time):
    """When this process's own calls fill HubSpot's window, the next waits until the oldest
    leaves it, not a whole window more."""
    pacer = _pacer(time, requests_per_10s=5)
    first = time.now
    _calls(pacer, 4, step=1.0, time=time)
    with pacer.call():
        pass
    pacer.observe(_headers(0, limit=5))  # the fifth call's answer: none left
    time.now += 1.0

    _calls(pacer, 1)

    assert time.now == pytest.approx(first + 10.0)
    assert time.sleeps == [pytest.approx(5.0)]


def test_budget_reports_the_window_and_the_day(time):
    """`budget()` says what is left: this process's room in the window, lowered by HubSpot's
    fresher report, and the daily allowance as HubSpot last reported it."""
    pacer = _pacer(time, requests_per_10s=150)
    assert pacer.budget().window_remaining == 150
    assert pacer.budget().daily_remaining is None

    _calls(pacer, 10)
    headers = {**_headers(100), "X-HubSpot-RateLimit-Daily": "250000"}
    headers["X-HubSpot-RateLimit-Daily-Remaining"] = "249000"
    pacer.observe(headers)
    budget = pacer.budget()

    assert (budget.window_max, budget.window_remaining) == (150, 100)
    assert (budget.daily_max, budget.daily_remaining) == (250000, 249000)
    time.now += 10.0  # the window rolled: the calls and the report are old
    assert pacer.budget().window_remaining == 150
