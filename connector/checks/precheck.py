"""The check before a pass writes anything: the mapping files against both live schemas.

A structure check alone let a misspelt property through: HubSpot answers a search without the
properties it does not have, so a `{hubspot: job_title_typo, salesforce: Title}` read as empty
and blanked every Title it updated; a misspelt Lead field surfaced only as Salesforce's
INVALID_FIELD at the first write, naming no file. So every pass first checks lead.yaml and
status.yaml with `connector.checks.validate.check_files`, the check `mappings validate`
makes, and refuses with the same `file:line:col` lines and "did you mean" every error that
stops the mapping as a whole (a name the schemas lack, a field that cannot be written, a
required Lead field left unfilled...). Errors only records with certain values meet (an
option no map entry covers, a value too long) do not refuse a pass: such a record fails
alone, with its field and value named, as it always has.

Cost: the Lead describe and the contact properties (`fetch_lead_schema`), what both files are
checked against; no other call. What needs more calls is left to `mappings validate`: the
Contact fields converted people's changes go to (the Contact describe), status.yaml's
relationship paths (`Owner.Email`: more describes) and lists (HubSpot's lists API), and
routing.yaml's users and queues (the router resolves them as it routes) and conversion.yaml
(the conversion stream checks it before its first write). A `MappingCheck` remembers a mapping
that passed for `ttl`: a long-running process checks again after it, and at once when the
files change; a one-off `sync --once` pays once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from connector.checks.mapping_files import LEAD, STATUS, MappingFiles
from connector.checks.snapshot import Describes, Properties, fetch_lead_schema
from connector.checks.validate import check_files
from connector.files.loader import MappingFileError, Problem

#: The files checked before every pass: all they are checked against is in two calls.
PASS_FILES = (LEAD, STATUS)
REFUSED = (
    "nothing was written: the mapping files do not fit the live Salesforce and HubSpot schemas "
    "(`leadbridge mappings validate` lists the same)"
)
#: How long a mapping that passed is trusted before the schemas are read again.
CHECK_TTL = timedelta(minutes=5)


class MappingRefused(MappingFileError):
    """The mapping files do not fit the live schemas: nothing may be written. Its lines are
    those `mappings validate` prints (`path:line:col: message`), then `note`, what it means."""

    def __init__(self, problems: Sequence[Problem], *, note: str | None = None) -> None:
        super().__init__(problems)
        self.args = (f"{self.args[0]}\n{note or REFUSED}",)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class MappingCheck:
    """Checks the mapping before a pass, remembering for `ttl` the one that last passed."""

    ttl: timedelta = CHECK_TTL
    clock: Callable[[], datetime] = _utcnow
    _passed: tuple[str, datetime, tuple[Problem, ...]] | None = field(
        default=None, init=False, repr=False
    )

    def __call__(
        self,
        files: MappingFiles,
        salesforce: Describes,
        hubspot: Properties,
        *,
        external_id_field: str,
    ) -> tuple[Problem, ...]:
        """Raise `MappingRefused` when a file among `PASS_FILES` does not fit the schemas.
        Warnings never refuse, nor do errors only records with certain values meet (scope
        `records`: each such record fails alone in the pass, named): those errors are given
        back (the same again, without a call, while the mapping is remembered)."""
        if files.problems:
            raise MappingFileError(files.problems)
        key = f"{external_id_field}:{files.digest(PASS_FILES)}"
        now = self.clock()
        if self._passed is not None:
            passed_key, passed_at, kept = self._passed
            if passed_key == key and now - passed_at < self.ttl:
                return kept
        self._passed = None
        schema = fetch_lead_schema(salesforce, hubspot, now=now)
        problems = check_files(files, schema, external_id_field=external_id_field, names=PASS_FILES)
        errors = [p for p in problems if p.severity == "error"]
        refused = [p for p in errors if p.scope == "file"]
        if refused:
            raise MappingRefused(refused)
        kept = tuple(p for p in errors if p.scope == "records")
        self._passed = (key, now, kept)
        return kept
