"""`mappings/sla.yaml`: the first-touch targets, the working hours they count in, and each
owner's time zone. Validated on load: every problem is one line naming file, line and key."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StrictBool, field_validator, model_validator

from connector.files.loader import load_file
from connector.files.strict import Strict

FILE = "sla.yaml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"unknown time zone {value!r} (an IANA name such as 'Europe/Berlin')"
        raise ValueError(msg) from None
    return value


def _clock(value: str) -> str:
    try:
        time.fromisoformat(value)
    except ValueError:
        msg = f"{value!r} is not a time of day (HH:MM, such as '09:00')"
        raise ValueError(msg) from None
    return value


class WorkingHours(Strict):
    """The days and hours sales works, in the owner's time zone."""

    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: str = "09:00"
    end: str = "17:00"

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for day in value:
            if day not in DAYS:
                msg = f"unknown day {day!r} (one of {', '.join(DAYS)})"
                raise ValueError(msg)
        return value

    @field_validator("start", "end")
    @classmethod
    def _times(cls, value: str) -> str:
        return _clock(value)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.opens >= self.closes:
            msg = f"working hours end ({self.end}) must be after they start ({self.start})"
            raise ValueError(msg)
        return self

    @property
    def opens(self) -> time:
        return time.fromisoformat(self.start)

    @property
    def closes(self) -> time:
        return time.fromisoformat(self.end)

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(DAYS.index(day) for day in self.days)


class Target(Strict):
    """How soon a handed-over Lead must get its first touch. The first target whose `queues`
    and `sources` fit a Lead is its target (empty lists fit every Lead)."""

    name: str
    minutes: float = Field(gt=0)
    working_hours: bool = True
    queues: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def fits(self, queue: str | None, source: str | None) -> bool:
        return (not self.queues or queue in self.queues) and (
            not self.sources or source in self.sources
        )


class Reroute(Strict):
    """What the service's alert check does with a Lead past its target, untouched: with
    `after_breach`, hand it to its next owner per routing.yaml, once per breach; a
    global-account Lead keeps its owner unless `global_leads`."""

    after_breach: StrictBool = False
    global_leads: StrictBool = False


class SlaConfig(Strict):
    """The whole file."""

    time_zone: str = "UTC"
    working_hours: WorkingHours = WorkingHours()
    owners: dict[str, str] = Field(default_factory=dict)
    targets: tuple[Target, ...] = ()
    reroute: Reroute = Reroute()

    @field_validator("time_zone")
    @classmethod
    def _default_zone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("owners")
    @classmethod
    def _owner_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for zone in value.values():
            _zone(zone)
        return value

    def zone(self, owner_id: str | None) -> ZoneInfo:
        """The owner's time zone (`owners`), else the default."""
        return ZoneInfo(self.owners.get(owner_id or "", self.time_zone))

    def target(self, queue: str | None, source: str | None) -> Target | None:
        return next((t for t in self.targets if t.fits(queue, source)), None)


def load_sla(directory: str | Path) -> SlaConfig:
    """`DIR/sla.yaml`, validated (MappingError listing every problem); without the file, no
    targets (the report still measures the time to first touch)."""
    path = Path(directory) / FILE
    if not path.exists():
        return SlaConfig()
    return load_file(path, SlaConfig)
