"""Fixtures shared by the sandbox's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.sandbox.webhook_support import Receiver


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """Make local receivers (`receiver(statuses, hold=...)`); all closed after the test."""
    made: list[Receiver] = []

    def make(statuses: list[int] | None = None, *, hold: bool = False) -> Receiver:
        made.append(Receiver(statuses, hold=hold))
        return made[-1]

    yield make
    for one in made:
        one.close()
