"""The files of a mapping directory, loaded together: what `mappings validate`, `mappings plan`
and the check before every pass (`connector.checks.precheck`) start from, so the three read
the same files the same way and refuse the same structure problems.

`lead.yaml` must exist; `routing.yaml`, `status.yaml`, `conversion.yaml`, `privacy.yaml` and
`sla.yaml` are used where present. A file that cannot be read or does not fit its model is a
`Problem` at its line, never an exception: a caller reports every file's problems at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.errors import MappingError
from connector.files.loader import Loaded, MappingFileError, Problem, load_source
from connector.mapping.conversion import ConversionMapping
from connector.mapping.model import LeadMapping
from connector.mapping.privacy import PrivacyPolicy
from connector.mapping.status import StatusMapping
from connector.reports.config import SlaConfig
from connector.routing.config import RoutingConfig

LEAD = "lead.yaml"
ROUTING = "routing.yaml"
STATUS = "status.yaml"
CONVERSION = "conversion.yaml"
PRIVACY = "privacy.yaml"
SLA = "sla.yaml"
#: Every file, in the order findings and verdicts are reported.
ALL = (LEAD, ROUTING, STATUS, CONVERSION, PRIVACY, SLA)
#: The files a sync reads (privacy.yaml is `leadbridge privacy erase`'s alone).
SYNC_FILES = (LEAD, ROUTING, STATUS, CONVERSION)
MODELS: dict[str, type[Any]] = {
    LEAD: LeadMapping,
    ROUTING: RoutingConfig,
    STATUS: StatusMapping,
    CONVERSION: ConversionMapping,
    PRIVACY: PrivacyPolicy,
    SLA: SlaConfig,
}


@dataclass(frozen=True)
class MappingFiles:
    """The files of `directory` that were asked for: those that loaded (by name), and the
    structure problems of those that did not. `present` names every file found, loaded or not,
    in `ALL` order."""

    directory: Path
    loaded: dict[str, Loaded[Any]]
    problems: tuple[Problem, ...]
    present: tuple[str, ...]

    @property
    def lead(self) -> Loaded[LeadMapping] | None:
        return self.loaded.get(LEAD)

    def model(self, name: str) -> Any:
        """The validated model of file `name`, or None (absent or invalid)."""
        found = self.loaded.get(name)
        return found.model if found is not None else None

    def path(self, name: str) -> Path:
        return self.directory / name

    def digest(self, names: Iterable[str] = ALL) -> str:
        """A hash of what the loaded files among `names` say (their validated models, not
        their text: a comment or a blank line changes nothing), to remember a check by."""
        text = "\n".join(
            f"{name}={self.loaded[name].model.model_dump_json()}"
            for name in ALL
            if name in names and name in self.loaded
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_files(directory: Path, names: Sequence[str] = ALL) -> MappingFiles:
    """`names` (of `ALL`) from `directory`, each through the one loader; lead.yaml is looked
    for even when missing (a problem), the others only where they exist."""
    directory = Path(directory)
    loaded: dict[str, Loaded[Any]] = {}
    problems: list[Problem] = []
    present: list[str] = []
    for name in ALL:
        path = directory / name
        if name not in names or (name != LEAD and not path.exists()):
            continue
        present.append(name)
        try:
            loaded[name] = load_source(path, MODELS[name])
        except MappingFileError as exc:
            problems += exc.problems
        except MappingError as exc:  # the file cannot be read at all
            problems.append(Problem(path, 1, 1, str(exc).removeprefix(f"{path}: ")))
    return MappingFiles(directory, loaded, tuple(problems), tuple(present))
