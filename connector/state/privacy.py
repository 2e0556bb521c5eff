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


def needles(values: Iterable[str | None]) -> list[str]:
    """What to look for in the store's text, lower case: each value (NFC, stripped) as typed and
    as JSON text spells it (quotes and backslashes escaped; non-ASCII as is or as `\\u` escapes,
    the way SQLite's JSON columns keep it). Raises ValueError for a value too short to look for
    without matching other people."""
    forms: dict[str, None] = {}
    for value in values:
        if value is None:
            continue
        normal = unicodedata.normalize("NFC", value).strip().lower()
        if not normal:
            continue
        if len(normal) < MIN_NEEDLE_CHARS:
            msg = (
                f"a value of {len(normal)} characters is too short to look for in the state "
                f"store (at least {MIN_NEEDLE_CHARS}): give the whole name or number"
            )
            raise ValueError(msg)
        forms[normal] = None
        forms[json.dumps(normal, ensure_ascii=False)[1:-1]] = None
        forms[json.dumps(normal)[1:-1]] = None
    return list(forms)


def mentions(value: Any, searched: Iterable[str]) -> bool:
    """Whether any text inside `value` (a JSON value) holds one of `searched` (lower case)."""
    forms = list(searched)
    if not forms:
        return False
    text = json.dumps(value, ensure_ascii=False).lower()
    ascii_text = json.dumps(value).lower()
    return any(form in text or form in ascii_text for form in forms)


def scrub(value: Any, searched: Iterable[str]) -> Any:
    """`value` (JSON) with every string that holds one of `searched` replaced by `ERASED`."""
    forms = list(searched)
    if isinstance(value, str):
        lowered = unicodedata.normalize("NFC", value).lower()
        return ERASED if any(form in lowered for form in forms) else value
    if isinstance(value, Mapping):
        return {key: scrub(item, forms) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, forms) for item in value]
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
