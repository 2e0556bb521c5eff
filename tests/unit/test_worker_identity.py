"""The in-process worker runs merges and deletions before contacts, and a merge that keeps
failing (logged, tried again) holds up neither the contacts webhooks name nor the passes."""

from __future__ import annotations

from types import SimpleNamespace

from connector.service.worker import Worker


class FakeTasks:
    """The job functions as the worker calls them; merges always fail."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.connector = SimpleNamespace(steps=lambda: ["hubspot.writeback", "hubspot.contacts"])
        self.stopping = SimpleNamespace(is_set=lambda: False)

    def by_id(self, stream: str, *, window: float = 0.0) -> bool:
        self.ran.append(f"by_id {stream}")
        return stream != "hubspot.merges"

    def leftover(self) -> bool:
        return self.by_id("hubspot.merges")

    def pass_of(self, step: str) -> bool:
        self.ran.append(f"pass {step}")
        return True

    def passed(self) -> None:
        self.ran.append("passed")


def test_a_failing_merge_holds_up_no_contact_webhook() -> None:
    """Webhook work runs privacy erasures, merges, deletions, contacts, conversions in that
    order, whatever the merges' outcome."""
    tasks = FakeTasks()
    Worker(tasks)._by_webhook()  # type: ignore[arg-type]
    assert tasks.ran == [
        "by_id hubspot.privacy",
        "by_id hubspot.merges",
        "by_id hubspot.deletions",
        "by_id hubspot.contacts",
        "by_id hubspot.conversions",
    ]


def test_a_pass_finishes_leftover_merges_first_and_goes_on_when_they_fail() -> None:
    """A pass tries the merges a killed run left, then runs every step."""
    tasks = FakeTasks()
    Worker(tasks)._pass()  # type: ignore[arg-type]
    assert tasks.ran == [
        "by_id hubspot.merges",
        "pass hubspot.writeback",
        "pass hubspot.contacts",
        "passed",
    ]
