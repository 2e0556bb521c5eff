"""Who can own a lead: the Salesforce users and queues routing names, found by id, Username or
DeveloperName as the router resolves them, and the references routing.yaml gives.

Shared by the policy (which owner a decision names), the explanation (the watchers' names) and
the check of routing.yaml against the org (`connector.checks`), so all three find an
owner the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from connector.errors import MappingError
from connector.model import QueueInfo, UserInfo
from connector.routing.config import QUEUE_PREFIX, USER_PREFIX, OwnerRef, RoutingConfig, is_id

OwnerKind = Literal["User", "Group"]


@dataclass(frozen=True)
class Owner:
    """The owner a decision names."""

    id: str
    kind: OwnerKind
    name: str


def id_key(salesforce_id: str) -> str:
    """Ids compare by their case-sensitive 15-character form (18 adds a case checksum)."""
    return salesforce_id[:15]


class Directory:
    """The users and queues a batch needs, found by id, Username or DeveloperName."""

    def __init__(self, users: Sequence[UserInfo] = (), queues: Sequence[QueueInfo] = ()) -> None:
        self._users = {id_key(u.id): u for u in users}
        self._usernames = {u.username.casefold(): u for u in users}
        self._queues = {id_key(q.id): q for q in queues}
        self._developer_names = {q.developer_name.casefold(): q for q in queues}

    def user(self, ref: str) -> UserInfo | None:
        """By id or Username."""
        if is_id(ref, USER_PREFIX):
            return self._users.get(id_key(ref))
        return self._usernames.get(ref.casefold())

    def queue(self, ref: str) -> QueueInfo | None:
        """By id or DeveloperName."""
        if is_id(ref, QUEUE_PREFIX):
            return self._queues.get(id_key(ref))
        return self._developer_names.get(ref.casefold())

    def owner(self, owner_id: str) -> Owner | None:
        """The user or queue with this id."""
        if owner_id.startswith(QUEUE_PREFIX):
            queue = self.queue(owner_id)
            return Owner(queue.id, "Group", queue.name) if queue else None
        user = self.user(owner_id)
        return Owner(user.id, "User", user.name) if user else None

    def resolve(self, ref: OwnerRef) -> Owner:
        """A configured owner; MappingError when Salesforce has no such user or queue."""
        if ref.user is not None:
            user = self.user(ref.user)
            if user is not None:
                return Owner(user.id, "User", user.name)
        else:
            queue = self.queue(ref.ref)
            if queue is not None:
                return Owner(queue.id, "Group", queue.name)
        raise MappingError(unknown_owner(str(ref)))


def unknown_owner(what: str) -> str:
    return (
        f"routing.yaml: no Salesforce {what} (a user by Username or 005… id, a queue by "
        "DeveloperName or 00G… id)"
    )


def config_refs(config: RoutingConfig) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The users and queues routing.yaml names, as (where, reference) pairs."""
    users: list[tuple[str, str]] = []
    queues: list[tuple[str, str]] = []
    for where, ref in (("review", config.review), ("default", config.default)):
        if ref is not None:
            (users if ref.user is not None else queues).append((where, ref.ref))
    if config.global_policy.team_queue:
        queues.append(("global.team_queue", config.global_policy.team_queue))
    for rule in config.rules:
        if rule.assign.queue is not None:
            queues.append((f"rules[{rule.name}].assign.queue", rule.assign.queue))
        for member in rule.assign.users or ():
            users.append((f"rules[{rule.name}].assign.users", member.user))
    return users, queues


def check_config_refs(config: RoutingConfig, directory: Directory) -> None:
    """MappingError listing every user and queue of routing.yaml that Salesforce lacks."""
    users, queues = config_refs(config)
    problems = [
        f"routing.yaml: {where}: no Salesforce user {ref!r} (a Username or 005… id)"
        for where, ref in users
        if directory.user(ref) is None
    ] + [
        f"routing.yaml: {where}: no Salesforce queue {ref!r} (a DeveloperName or 00G… id)"
        for where, ref in queues
        if directory.queue(ref) is None
    ]
    if problems:
        raise MappingError("\n".join(dict.fromkeys(problems)))
