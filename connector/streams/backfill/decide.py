"""What a backfill decides on its own, without I/O: its options and the checkpoint they key,
the outcome each contact's decision shows in a plan, the share of the API budget it may spend,
and the counts its report adds up across resumed runs.

Every decision about a contact itself (mapping, dedupe by email against Leads and Contacts,
conflict rules, routing) is the contacts stream's (`connector.streams.contacts.decide`): a
backfill is the same decisions over another population, never a second copy of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.lifecycle import why_not
from connector.mapping.model import Include
from connector.model import SearchFilter
from connector.streams.contacts.decide import Decision

#: Where a backfill over HubSpot's contacts keeps its checkpoint, and a re-application of the
#: mapping to the synced population (`--mapping-changed`) its own.
BACKFILL = "backfill"
MAPPING_CHANGED = "backfill.mapping-changed"
#: The share of today's remaining Salesforce calls a backfill spends unless told otherwise.
DEFAULT_BUDGET_PERCENT = 30.0
#: Salesforce calls one page of 200 contacts may take before its writes are known: the email
#: look-up, the Leads' protected fields, routing's reads (4), Collections writes (3 kinds).
PAGE_CALLS = 9
#: Failures a report lists by name (every one is in the dead-letter store).
FAILURES_SHOWN = 20

#: The outcomes a contact can have, in the order reports list them.
OUTCOMES = (
    "create",
    "update",
    "link",
    "converted",
    "unchanged",
    "skip",
    "held",
    "fail",
)


@dataclass(frozen=True)
class Options:
    """What a backfill was asked to do. The same options resume the same run."""

    since: datetime | None = None
    until: datetime | None = None
    stages: tuple[str, ...] = ()
    limit: int | None = None
    #: The mapping a `--mapping-changed` run applies (a digest): another mapping, another run.
    mapping: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "stages": list(self.stages),
            "limit": self.limit,
            **({"mapping": self.mapping} if self.mapping else {}),
        }

    def describe(self) -> str:
        """The options as a person typed them."""
        parts = []
        if self.since:
            parts.append(f"--since {self.since.isoformat()}")
        if self.until:
            parts.append(f"--until {self.until.isoformat()}")
        parts += [f"--stage {s}" for s in self.stages]
        if self.limit is not None:
            parts.append(f"--limit {self.limit}")
        return " ".join(parts) or "(everything)"


def stage_groups(lifecycle_property: str, stages: Iterable[str]) -> list[list[SearchFilter]]:
    """The search groups of `--stage`: contacts at one of these lifecycle stages (each still
    decided by the mapping's rules: a stage that does not qualify is skipped, with its reason)."""
    wanted = tuple(dict.fromkeys(stages))
    return [[SearchFilter(lifecycle_property, "IN", values=wanted)]] if wanted else []


def outcome(decision: Decision) -> str:
    """The plan's word for what a decision does to Salesforce."""
    action = decision.action
    if action == "upsert":
        return "update" if decision.known else "create"
    if action in ("link_lead", "link_contact"):
        return "link"
    if action == "update_contact":
        return "converted"
    return action


def explain(decision: Decision, include: Include | None = None) -> str:
    """Why, for a plan's row: the decision's reason (for a contact that does not qualify, the
    rule it misses) and what conflict rules keep."""
    reason = decision.reason
    if decision.action == "skip" and include is not None:
        reason = why_not(decision.contact.properties, include) or reason
    if decision.withheld:
        kept = ", ".join(
            f"{name} ({why.split(': ', 1)[-1]})" for name, why in sorted(decision.withheld.items())
        )
        reason += f"; Salesforce keeps {kept}"
    return reason


def budget_cap(remaining: int, percent: float) -> int:
    """Calls a run may spend: `percent` of the `remaining` calls of the day, rounded down."""
    return max(0, math.floor(remaining * percent / 100))


@dataclass
class Tally:
    """A backfill's counts, kept in its checkpoint so a resumed run reports the whole."""

    outcomes: dict[str, int] = field(default_factory=dict)
    pulled: int = 0
    written_back: int = 0
    to_convert: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    runs: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def add(self, counts: Mapping[str, int]) -> None:
        for name, value in counts.items():
            if value:
                self.outcomes[name] = self.outcomes.get(name, 0) + value

    def fail(self, failures: Iterable[tuple[str, str]]) -> None:
        for failure in failures:
            if len(self.failures) < FAILURES_SHOWN:
                self.failures.append(failure)

    def spend(self, remote: str, calls: int) -> None:
        self.calls[remote] = self.calls.get(remote, 0) + calls

    def as_json(self) -> dict[str, Any]:
        return {
            "outcomes": dict(self.outcomes),
            "pulled": self.pulled,
            "written_back": self.written_back,
            "to_convert": self.to_convert,
            "calls": dict(self.calls),
            "seconds": round(self.seconds, 3),
            "runs": self.runs,
            "failures": [list(f) for f in self.failures],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Tally:
        return cls(
            outcomes={str(k): int(v) for k, v in (value.get("outcomes") or {}).items()},
            pulled=int(value.get("pulled") or 0),
            written_back=int(value.get("written_back") or 0),
            to_convert=int(value.get("to_convert") or 0),
            calls={str(k): int(v) for k, v in (value.get("calls") or {}).items()},
            seconds=float(value.get("seconds") or 0.0),
            runs=int(value.get("runs") or 0),
            failures=[(str(a), str(b)) for a, b in value.get("failures") or []],
        )
