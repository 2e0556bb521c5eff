"""The schema of `mappings/routing.yaml`: matching, hierarchy, global policy, regional rules.

Loaded only through `connector.files.loader.load_file`, so every problem is reported as
`mappings/routing.yaml:LINE:COL: where: what` before anything is routed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from connector.files.loader import load_file
from connector.files.strict import Strict
from connector.routing.match import MatchConfig

#: A Salesforce field API name (`Type`, `Global_Account__c`).
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: A Salesforce id: 15 or 18 letters and digits.
_SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}([A-Za-z0-9]{3})?")
USER_PREFIX = "005"
QUEUE_PREFIX = "00G"


def is_id(value: str, prefix: str) -> bool:
    """Whether `value` is a Salesforce id of the object with key prefix `prefix`."""
    return bool(_SALESFORCE_ID.fullmatch(value)) and value.startswith(prefix)


def _field_name(value: str | None) -> str | None:
    if value is not None and not _FIELD_NAME.fullmatch(value):
        msg = f"{value!r} is not a Salesforce field name"
        raise ValueError(msg)
    return value


class OwnerRef(Strict):
    """A Salesforce owner: `user` (Username or 005… id) or `queue` (DeveloperName or 00G… id)."""

    user: str | None = None
    queue: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> OwnerRef:
        if (self.user is None) == (self.queue is None):
            msg = "give exactly one of 'user' (a Username or id) or 'queue' (a DeveloperName or id)"
            raise ValueError(msg)
        return self

    @property
    def kind(self) -> Literal["User", "Group"]:
        return "User" if self.user is not None else "Group"

    @property
    def ref(self) -> str:
        ref = self.user if self.user is not None else self.queue
        assert ref is not None  # _exactly_one: one of the two is given
        return ref

    def __str__(self) -> str:
        return f"user {self.user}" if self.user is not None else f"queue {self.queue}"


class HierarchyConfig(Strict):
    """How far the `ParentId` walk may climb."""

    max_depth: Annotated[int, Field(ge=1, le=100)] = 10


class GlobalCondition(Strict):
    """One way a hierarchy counts as global, checked on its ultimate parent (exactly one kind)."""

    field: str | None = None  # an Account field ...
    equals: bool | int | float | str | None = True  # ... with this value
    account_type: list[str] | None = None  # Account.Type is one of these
    owner_role: list[str] | None = None  # the owner's role (UserRole.Name) is one of these

    @field_validator("field")
    @classmethod
    def _check_field(cls, value: str | None) -> str | None:
        return _field_name(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> GlobalCondition:
        kinds = [k for k in ("field", "account_type", "owner_role") if getattr(self, k) is not None]
        if len(kinds) != 1:
            msg = "give exactly one of 'field' (with 'equals'), 'account_type' or 'owner_role'"
            raise ValueError(msg)
        return self

    def describe(self) -> str:
        if self.field is not None:
            return f"{self.field} = {_shown(self.equals)}"
        if self.account_type is not None:
            return f"Type in [{', '.join(self.account_type)}]"
        return f"owner role in [{', '.join(self.owner_role or ())}]"


class GlobalPolicy(Strict):
    """When a hierarchy is global, and who gets its leads."""

    when: Annotated[list[GlobalCondition], Field(min_length=1)] = [
        GlobalCondition(field="Global_Account__c", equals=True)
    ]
    # The global-account team's queue (DeveloperName or 00G… id); when unset, the ultimate
    # parent's owner gets the lead.
    team_queue: str | None = None


class EmployeeRange(Strict):
    """Inclusive bounds; either may be left out."""

    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> EmployeeRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            msg = f"min {self.min} is greater than max {self.max}"
            raise ValueError(msg)
        return self

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def __str__(self) -> str:
        if self.max is None:
            return f"{self.min}+"
        return f"{self.min or 0}-{self.max}"


class RuleWhen(Strict):
    """What a lead must have for a rule (all given conditions; none given: every lead)."""

    country: list[str] | None = None
    state: list[str] | None = None
    employees: EmployeeRange | None = None
    industry: list[str] | None = None


class Member(Strict):
    """A user in a round-robin: Username or 005… id, and a weight (share of the leads)."""

    user: str
    weight: Annotated[int, Field(ge=1)] = 1


class Assign(Strict):
    """Where a rule's leads go: one queue, or users taking turns by weight."""

    queue: str | None = None
    users: Annotated[list[Member], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Assign:
        if (self.queue is None) == (self.users is None):
            msg = "give exactly one of 'queue' or 'users'"
            raise ValueError(msg)
        return self


class Rule(Strict):
    """A regional rule: the first rule whose `when` fits the lead picks its owner."""

    name: Annotated[str, Field(min_length=1)]
    when: RuleWhen = RuleWhen()
    assign: Assign


class LeadFields(Strict):
    """Lead fields written with the owner; null leaves a field out (an org without it)."""

    global_flag: str | None = "Global_Lead__c"
    matched_account: str | None = "Matched_Account__c"

    @field_validator("global_flag", "matched_account")
    @classmethod
    def _check(cls, value: str | None) -> str | None:
        return _field_name(value)


class InputProperties(Strict):
    """The HubSpot contact properties routing reads."""

    email: str = "email"
    company: str = "company"
    country: str | None = "country"
    state: str | None = "state"
    employees: str | None = "numemployees"
    industry: str | None = "industry"


class WriteBackProperties(Strict):
    """HubSpot contact properties that receive what routing decided (null: not written)."""

    global_lead: str | None = "salesforce_global_lead"  # "true" for a lead of a global hierarchy
    watchers: str | None = "salesforce_watchers"  # open-opportunity owners told of the lead


class RoutingConfig(Strict):
    """`mappings/routing.yaml`."""

    matching: MatchConfig = Field(default_factory=MatchConfig)
    hierarchy: HierarchyConfig = HierarchyConfig()
    global_policy: GlobalPolicy = Field(GlobalPolicy(), alias="global")
    rules: list[Rule] = []
    review: OwnerRef | None = None
    default: OwnerRef
    lead_fields: LeadFields = LeadFields()
    hubspot: InputProperties = InputProperties()
    writeback: WriteBackProperties = WriteBackProperties()

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                msg = f"two rules are named {rule.name!r}; names key the round-robin turns"
                raise ValueError(msg)
            seen.add(rule.name)
        return rules

    def account_fields(self) -> list[str]:
        """The Account fields the global policy reads on the ultimate parent."""
        names = ["Type"] if any(c.account_type for c in self.global_policy.when) else []
        names += [c.field for c in self.global_policy.when if c.field]
        return list(dict.fromkeys(names))


#: The file's name in the mappings directory.
FILE = "routing.yaml"


def load_routing(mappings_dir: str | Path) -> RoutingConfig:
    """`DIR/routing.yaml`, validated (MappingError with file:line for every problem)."""
    return load_file(Path(mappings_dir) / FILE, RoutingConfig)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)
