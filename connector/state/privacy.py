"""Erasure's pure parts: the keyed hash of the email a tombstone keeps, which Salesforce ids a
person has, and the forms a value takes in the text the store keeps. No database here
(`connector.state.erasure` does the SQL).

A tombstone keeps no email: only HMAC-SHA256 of the normalised address under a server secret
(LEADBRIDGE_PRIVACY_KEY), so a stolen store cannot be matched against a list of addresses, yet
a contact showing the same address again (any case, any surrounding space) is recognised.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, get_args

from connector.errors import ConfigError

#: The setting holding the server secret.
PRIVACY_KEY_SETTING = "LEADBRIDGE_PRIVACY_KEY"
#: The shortest secret accepted: an HMAC key guessed is every erased email guessed.
MIN_KEY_CHARS = 32
#: Why a person was erased.
Reason = Literal["hubspot_privacy_deletion", "salesforce_privacy_deletion", "request"]
REASONS: tuple[str, ...] = get_args(Reason)
#: What became of the person in one system (never a remote error's text: it may quote them).
Outcome = Literal["pending", "deleted", "anonymised", "not_found", "failed", "not_asked"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
#: What a blanked text becomes.
ERASED = "(erased)"
#: The shortest value looked for in the store's text: a shorter one would match other people.
MIN_NEEDLE_CHARS = 5

#: Salesforce key prefixes (the same in every org) and the tombstone column each id goes to.
SALESFORCE_PREFIXES = {
    "00Q": "lead_id",
    "003": "contact_id",
    "001": "account_id",
    "006": "opportunity_id",
}
#: The Salesforce ids that are the person (the Account and Opportunity are a company's).
PERSON_COLUMNS = ("lead_id", "contact_id")


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


def _missing_key() -> ConfigError:
    return ConfigError(
        f"{PRIVACY_KEY_SETTING} is not set: an erasure keeps a keyed hash of the email "
        f"(HMAC-SHA256) so no later pass re-creates the person; set it to at least "
        f"{MIN_KEY_CHARS} random characters (openssl rand -hex 32), the same on every worker"
    )


class PrivacyKey:
    """The server secret that keys tombstones' email hashes; never shown (its repr gives only
    `id`, a fingerprint that tells keys apart without revealing them)."""

    __slots__ = ("_secret", "id")

    def __init__(self, secret: _Secret | str | None) -> None:
        if secret is not None and not isinstance(secret, str):
            secret = secret.get_secret_value()
        if not secret or not secret.strip():
            raise _missing_key()
        self._secret = secret.encode("utf-8")
        self.id = hmac.new(self._secret, b"leadbridge privacy key id", hashlib.sha256).hexdigest()[
            :12
        ]

    def __repr__(self) -> str:
        return f"PrivacyKey(id={self.id!r})"

    def email_hash(self, email: str | None) -> str | None:
        """HMAC-SHA256 (hex) of the normalised `email`; None for no email."""
        normal = normalise_email(email)
        if normal is None:
            return None
        return hmac.new(self._secret, normal.encode("utf-8"), hashlib.sha256).hexdigest()


def normalise_email(email: str | None) -> str | None:
    """The address as compared: Unicode NFC, surrounding space removed, lower case; None when
    nothing is left."""
    if email is None:
        return None
    normal = unicodedata.normalize("NFC", email).strip().lower()
    return normal or None


def salesforce_columns(ids: Iterable[str | None]) -> dict[str, str]:
    """Salesforce ids by tombstone column (`lead_id`, ...), told apart by their key prefix.

    Raises ValueError for an id of another object, or two different ids of one object (one
    tombstone holds one of each: erase each HubSpot contact on its own).
    """
    found: dict[str, str] = {}
    for value in ids:
        if not value:
            continue
        column = SALESFORCE_PREFIXES.get(value[:3])
        if column is None:
            known = ", ".join(
                f"{p} ({c.removesuffix('_id')})" for p, c in SALESFORCE_PREFIXES.items()
            )
            msg = f"Salesforce id {value!r} is none of the objects a person has: {known}"
            raise ValueError(msg)
        if found.get(column, value) != value:
            msg = f"two {column.removesuffix('_id')} ids for one person: {found[column]}, {value}"
            raise ValueError(msg)
        found[column] = value
    return found


def searched_values(values: Iterable[str | None]) -> list[str]:
    """The values to look for in the store's text, as compared: NFC, stripped, lower case,
    without repeats. Raises ValueError for one too short to look for without matching other
    people."""
    found: dict[str, None] = {}
    for value in values:
        normal = unicodedata.normalize("NFC", value).strip().lower() if value else ""
        if not normal:
            continue
        if len(normal) < MIN_NEEDLE_CHARS:
            msg = (
                f"a value of {len(normal)} characters is too short to look for in the state "
                f"store (at least {MIN_NEEDLE_CHARS}): give the whole name or number"
            )
            raise ValueError(msg)
        found[normal] = None
    return list(found)


def like_forms(values: Iterable[str]) -> list[str]:
    """How `searched_values` may be spelled in the database's text, for a first, coarse look
    (SQL LIKE): as typed, and as JSON text spells it (quotes and backslashes escaped; non-ASCII
    as is, or as `\\u` escapes the way SQLite's JSON columns keep it)."""
    forms: dict[str, None] = {}
    for value in values:
        forms[value] = None
        forms[json.dumps(value, ensure_ascii=False)[1:-1]] = None
        forms[json.dumps(value)[1:-1]] = None
    return list(forms)


class Matcher:
    """Finds `searched_values` as whole words (not inside a longer name, number or address:
    `Person42` is not in `Person420`) in any text of a JSON value, in any case."""

    def __init__(self, values: Iterable[str]) -> None:
        words = sorted(set(values), key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in words)) if words else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def _hit(self, text: str) -> bool:
        return self._pattern is not None and bool(
            self._pattern.search(unicodedata.normalize("NFC", text).lower())
        )

    def mentions(self, value: Any) -> bool:
        """Whether a text in `value` (a string or a JSON value, its keys included) holds one."""
        if isinstance(value, str):
            return self._hit(value)
        if isinstance(value, Mapping):
            return any(self._hit(str(k)) or self.mentions(v) for k, v in value.items())
        if isinstance(value, list | tuple):
            return any(self.mentions(item) for item in value)
        return False

    def scrub(self, value: Any) -> Any:
        """`value` (JSON) with every text that holds one replaced by `ERASED`."""
        if isinstance(value, str):
            return ERASED if self._hit(value) else value
        if isinstance(value, Mapping):
            return {(ERASED if self._hit(str(k)) else k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(item) for item in value]
        return value


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: its tombstone, whether the person was erased before (then nothing
    changed), and the rows removed or blanked per table (counts only)."""

    tombstone_id: int
    already: bool
    removed: Mapping[str, int]


@dataclass(frozen=True)
class Tombstone:
    """An erased person as the store keeps them: ids, the keyed hash of their email (and which
    key made it), why and when, what became of them in each system, what was removed."""

    id: int
    hubspot_id: str | None
    lead_id: str | None
    contact_id: str | None
    account_id: str | None
    opportunity_id: str | None
    email_hash: str | None
    key_id: str
    reason: str
    erased_at: datetime
    hubspot_outcome: str | None
    salesforce_outcome: str | None
    removed: Mapping[str, int]


@dataclass(frozen=True)
class Tombstoned:
    """Which of the ids and emails asked about belong to erased people (emails as given)."""

    hubspot_ids: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    salesforce_ids: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.hubspot_ids or self.emails or self.salesforce_ids)

    def covers(
        self,
        *,
        hubspot_id: str | None = None,
        email: str | None = None,
        salesforce_id: str | None = None,
    ) -> bool:
        """Whether a record with these ids or email is an erased person's."""
        return (
            (hubspot_id is not None and hubspot_id in self.hubspot_ids)
            or (email is not None and email in self.emails)
            or (salesforce_id is not None and salesforce_id in self.salesforce_ids)
        )
