"""The in-memory Salesforce org: records, validation as the real service does it, and undo.

Every write names the acting user (it lands in CreatedById/LastModifiedById). Callers hold the
sandbox lock; nothing here locks. Validation raises `RecordError` for what Salesforce reports per
record (REQUIRED_FIELD_MISSING, STRING_TOO_LONG, ...) and `RequestError` for what fails the whole
request (unknown fields, values that do not deserialize).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connector.sandbox.ids import IdFactory, is_valid_id, prefix_object, to18
from connector.sandbox.salesforce.schema import (
    DEFAULT_LEAD_STATUSES,
    WRITABLE,
    Field,
    SObject,
    build_schema,
)

INTEGRATION_USERNAME = "integration@sandbox.local"
ORG_ID = "00DKb0000000001EAA"

# Salesforce's own check is permissive: something@something.tld, no spaces, one @.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass
class SfError:
    """One Salesforce error: `errorCode`/`statusCode`, message, the fields it is about."""

    code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def rest(self) -> dict[str, Any]:
        """The REST error-body shape: `{"message", "errorCode", "fields"}`."""
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}

    def collection(self) -> dict[str, Any]:
        """The shape inside sObject Collections results: `{"statusCode", "message", "fields"}`."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class RecordError(Exception):
    """A record Salesforce refuses; the rest of a batch can still land."""

    def __init__(self, *errors: SfError) -> None:
        super().__init__(errors[0].message)
        self.errors = list(errors)


class RequestError(Exception):
    """A request Salesforce refuses whole, with the HTTP status it answers."""

    def __init__(self, status: int, error: SfError) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error


def _utc_now() -> datetime:
    return datetime.now(UTC)


def now_stamp() -> str:
    """The current time in the REST API's datetime format."""
    return format_datetime(datetime.now(UTC))


def format_datetime(value: datetime) -> str:
    """`2026-11-23T10:00:00.000+0000`, the form REST responses use (UTC)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> str | None:
    """Normalise an ISO 8601 datetime to the canonical stored form; None if it is not one."""
    m = _DATETIME.match(text.strip())
    if not m:
        return None
    day, hh, mm, ss, frac, tz = m.groups()
    iso = f"{day}T{hh}:{mm}:{ss}"
    if frac:
        iso += "." + (frac + "000000")[:6]
    if tz in (None, "Z"):
        tz = "+00:00"
    elif ":" not in tz:
        tz = tz[:3] + ":" + tz[3:]
    try:
        return format_datetime(datetime.fromisoformat(iso + tz))
    except ValueError:
        return None


def parse_date(text: str) -> str | None:
    if not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def _type_name(field_type: str) -> str:
    return {
        "int": "int",
        "double": "double",
        "currency": "double",
        "percent": "double",
        "boolean": "boolean",
        "date": "date",
        "datetime": "datetime",
    }.get(field_type, "String")


def _parser_error(f: Field, value: object) -> RequestError:
    kind = {
        str: "VALUE_STRING",
        bool: "VALUE_TRUE" if value else "VALUE_FALSE",
        int: "VALUE_NUMBER_INT",
        float: "VALUE_NUMBER_FLOAT",
    }.get(type(value), "START_OBJECT")
    return RequestError(
        400,
        SfError(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {_type_name(f.type)} from {kind} value {value} "
            "or request may be missing a required field",
        ),
    )


def coerce(f: Field, value: object) -> object:
    """Turn a JSON value into the stored value for field `f`, as the REST deserializer does."""
    if value is None:
        return False if f.type == "boolean" else None
    if f.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _parser_error(f, value)
    if f.type in ("int", "double", "currency", "percent"):
        if isinstance(value, bool):
            raise _parser_error(f, value)
        if isinstance(value, int | float):
            number = value
        elif isinstance(value, str):
            try:
                number = float(value) if f.type != "int" else int(value)
            except ValueError:
                raise _parser_error(f, value) from None
        else:
            raise _parser_error(f, value)
        if f.type == "int":
            if isinstance(number, float) and not number.is_integer():
                raise _parser_error(f, value)
            return int(number)
        return float(number)
    if f.type == "date":
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            raise _parser_error(f, value)
        return parsed
    if f.type == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise _parser_error(f, value)
        return parsed
    if isinstance(value, dict | list):
        raise _parser_error(f, value)
    text = (
        value
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )
    return text or None  # Salesforce stores "" as null


class Org:
    """One Salesforce org in memory."""

    def __init__(self, *, daily_api_limit: int = 100_000) -> None:
        #: What time it is for the org: every stamp it writes (CreatedDate, SystemModstamp, a
        #: deletion's date) and every window it judges (getUpdated/getDeleted, the emptied
        #: Recycle Bin) reads it, so tests can move the org's time by replacing it.
        self.clock: Callable[[], datetime] = _utc_now
        self.ids = IdFactory()
        self.daily_api_limit = daily_api_limit
        self.api_used = 0
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        #: Deleted records by type and id, `IsDeleted` true: the Recycle Bin that `queryAll`
        #: reads (nothing else sees them, as in Salesforce; only `empty_recycle_bin` empties
        #: it).
        self.recycle_bin: dict[str, dict[str, dict[str, Any]]] = {}
        #: The delete log `getDeleted` reads: every deletion (to the Recycle Bin, by a merge,
        #: or hard) by type and id, with its date. Salesforce keeps it apart from the Recycle
        #: Bin, so emptying the bin leaves the deletion listed.
        self.delete_log: dict[str, dict[str, str]] = {}
        #: Records emptied from the Recycle Bin by type and id, with when: `queryAll` still
        #: shows them for `emptied_visible_for` (SOAP API guide, emptyRecycleBin(): "they can
        #: be queried using queryAll() for some time. Typically this time is 24 hours").
        self.emptied: dict[str, dict[str, datetime]] = {}
        self.emptied_visible_for = timedelta(hours=24)
        self.schema: dict[str, SObject] = {}
        self._unique: dict[tuple[str, str], dict[str, str]] = {}
        #: Live ids by casefolded value, for each text field a SOQL query has looked records
        #: up by (`=`, `IN`): built by the first such query, then kept by `_index`/`_unindex`.
        self._by_value: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._undo: list[tuple[str, str, dict[str, Any] | None]] | None = None
        self.assignment_owner_id: str | None = None
        self.passwords: dict[str, str] = {}
        self.sessions: dict[str, str] = {}  # access token -> user id
        #: What the org has used of the limits `/limits` reports besides DailyApiRequests,
        #: by limit name (DailyBulkV2QueryJobs, DailyBulkApiBatches, ...).
        self.usage: dict[str, int] = {}
        self.set_lead_statuses(DEFAULT_LEAD_STATUSES)

    def stamp(self) -> str:
        """The org's current time in the REST API's datetime format."""
        return format_datetime(self.clock())

    # -- set-up -----------------------------------------------------------------------------
    def set_lead_statuses(self, statuses: tuple[tuple[str, bool, bool], ...]) -> None:
        """Replace the LeadStatus values (label, is_converted, is_default) and rebuild schema."""
        self.schema = build_schema(tuple(label for label, _, _ in statuses))
        for name in self.schema:
            self.records.setdefault(name, {})
        self.records["LeadStatus"] = {}
        self._by_value = {k: v for k, v in self._by_value.items() if k[0] != "LeadStatus"}
        stamp = self.stamp()
        for order, (label, converted, default) in enumerate(statuses, start=1):
            rid = self.ids.new("LeadStatus")
            self.records["LeadStatus"][rid] = {
                "Id": rid,
                "MasterLabel": label,
                "ApiName": label,
                "SortOrder": order,
                "IsDefault": default,
                "IsConverted": converted,
                "CreatedById": None,
                "CreatedDate": stamp,
                "LastModifiedById": None,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "IsDeleted": False,
            }

    def lead_statuses(self) -> list[dict[str, Any]]:
        return sorted(self.records["LeadStatus"].values(), key=lambda r: r["SortOrder"])

    def default_lead_status(self) -> str:
        for status in self.lead_statuses():
            if status["IsDefault"]:
                return status["MasterLabel"]
        return self.lead_statuses()[0]["MasterLabel"]

    def integration_user_id(self) -> str:
        return self.user_by_username(INTEGRATION_USERNAME)["Id"]

    def user_by_username(self, username: str) -> dict[str, Any]:
        for user in self.records["User"].values():
            if user["Username"].lower() == username.lower():
                return user
        raise KeyError(username)

    # -- reads ------------------------------------------------------------------------------
    def sobject(self, name: str) -> SObject:
        """The sObject type named `name` (case-insensitive), or a NOT_FOUND request error."""
        for key, obj in self.schema.items():
            if key.lower() == name.lower():
                return obj
        raise RequestError(404, SfError("NOT_FOUND", "The requested resource does not exist"))

    def get(self, sobject: str, record_id: str, *, deleted: bool = False) -> dict[str, Any] | None:
        """A live record by id; with `deleted`, one in the Recycle Bin too."""
        if not is_valid_id(record_id):
            return None
        rid = to18(record_id)
        record = self.records.get(sobject, {}).get(rid)
        if record is None and deleted:
            record = self.recycle_bin.get(sobject, {}).get(rid)
        return record

    def find(self, record_id: str, *, deleted: bool = False) -> tuple[str, dict[str, Any]] | None:
        """A record of any type by id (the key prefix names the type)."""
        kind = prefix_object(record_id) if is_valid_id(record_id) else None
        if kind is None:
            return None
        record = self.get(kind, record_id, deleted=deleted)
        return (kind, record) if record else None

    def find_by_external_id(self, sobject: str, field_name: str, value: str) -> list[str]:
        index = self._unique.get((sobject, field_name), {})
        hit = index.get(value.lower())
        return [hit] if hit else []

    def find_by_field(self, sobject: str, field_name: str, value: str) -> list[str]:
        """The ids of the live records of `sobject` whose `field_name` equals `value` (text
        compared without case, as Salesforce matches lookups): the unique index when the field
        has one, else a scan."""
        f = self.schema[sobject].fields[field_name]
        if f.name == "Id":
            record = self.get(sobject, value) if is_valid_id(value) else None
            return [record["Id"]] if record else []
        if f.unique:
            return self.find_by_external_id(sobject, f.name, value)
        wanted = value.lower()
        return [
            rid
            for rid, record in self.records[sobject].items()
            if record.get(f.name) is not None and str(record[f.name]).lower() == wanted
        ]

    def lookup(self, sobject: str, field_name: str, folded: set[str]) -> set[str]:
        """The ids of the live records of `sobject` whose text field `field_name`, casefolded,
        is one of `folded` (SOQL's `Email IN (...)` without reading every record)."""
        key = (sobject, field_name)
        index = self._by_value.get(key)
        if index is None:
            index = self._by_value[key] = {}
            for record in self.records.get(sobject, {}).values():
                self._index_value(index, record, field_name)
        found: set[str] = set()
        for value in folded:
            found |= index.get(value, set())
        return found

    @staticmethod
    def _index_value(index: dict[str, set[str]], record: dict[str, Any], name: str) -> None:
        value = record.get(name)
        if isinstance(value, str):
            index.setdefault(value.casefold(), set()).add(record["Id"])

    def resolve_parent(self, targets: tuple[str, ...], field_name: str, value: str) -> str:
        """The id of the one parent record, among the types `targets`, whose indexed field
        `field_name` equals `value`: how a relationship by external id (a Bulk API column such
        as `Owner.Username` or `Account.Ext_Id__c`) becomes the reference field's value.

        No match fails the record with Salesforce's message ("Foreign key external ID: X not
        found for field F in entity T"); several matches fail it too.
        """
        hits: list[str] = []
        for kind in targets:
            f = self.schema[kind].field(field_name) if kind in self.schema else None
            if f is not None:
                hits += self.find_by_field(kind, f.name, value)
        entity = targets[0]
        if not hits:
            raise RecordError(
                SfError(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {value} not found for field {field_name} in "
                    f"entity {entity}",
                )
            )
        if len(hits) > 1:
            raise RecordError(
                SfError(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {value} matched more than one record for field "
                    f"{field_name} in entity {entity}",
                )
            )
        return hits[0]

    # -- undo -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Group writes so that `rollback()` undoes them all (allOrNone, composite)."""
        outer = self._undo
        self._undo = []
        tx = Transaction(self)
        try:
            yield tx
        finally:
            log, self._undo = self._undo, outer
            if tx.rolled_back:
                for sobject, rid, before in reversed(log):
                    self._restore(sobject, rid, before)
            elif outer is not None:
                outer.extend(log)

    def _remember(self, sobject: str, rid: str) -> None:
        if self._undo is not None:
            before = self.records[sobject].get(rid)
            self._undo.append((sobject, rid, dict(before) if before else None))

    def _restore(self, sobject: str, rid: str, before: dict[str, Any] | None) -> None:
        self.recycle_bin.get(sobject, {}).pop(rid, None)  # a rolled-back delete
        self.delete_log.get(sobject, {}).pop(rid, None)
        current = self.records[sobject].get(rid)
        if current:
            self._unindex(sobject, current)
        if before is None:
            self.records[sobject].pop(rid, None)
        else:
            self.records[sobject][rid] = before
            self._index(sobject, before)

    def _index(self, sobject: str, record: dict[str, Any]) -> None:
        for f in self.schema[sobject].fields.values():
            if f.unique and record.get(f.name):
                index = self._unique.setdefault((sobject, f.name), {})
                index[record[f.name].lower()] = record["Id"]
        for (kind, name), values in self._by_value.items():
            if kind == sobject:
                self._index_value(values, record, name)

    def _unindex(self, sobject: str, record: dict[str, Any]) -> None:
        for f in self.schema[sobject].fields.values():
            if f.unique and record.get(f.name):
                index = self._unique.get((sobject, f.name), {})
                if index.get(record[f.name].lower()) == record["Id"]:
                    del index[record[f.name].lower()]
        for (kind, name), values in self._by_value.items():
            value = record.get(name) if kind == sobject else None
            if isinstance(value, str):
                ids = values.get(value.casefold())
                if ids is not None:
                    ids.discard(record["Id"])
                    if not ids:
                        del values[value.casefold()]

    # -- writes -----------------------------------------------------------------------------
    def load(self, sobject: str, values: dict[str, Any], user_id: str | None) -> dict[str, Any]:
        """Insert a seed record: system fields may be given; validation still applies."""
        obj = self.sobject(sobject)
        system = {
            k: values[k]
            for k in (
                "CreatedDate",
                "LastModifiedDate",
                "SystemModstamp",
                "CreatedById",
                "LastModifiedById",
                "IsConverted",
                "ConvertedAccountId",
                "ConvertedContactId",
                "ConvertedOpportunityId",
                "ConvertedDate",
            )
            if k in values
        }
        plain = {k: v for k, v in values.items() if k not in system and k != "Id"}
        rid = values.get("Id")
        record = self._build(obj, plain, user_id, for_seed=True)
        if rid:
            if not is_valid_id(rid) or prefix_object(rid) != obj.name:
                msg = f"Id {rid!r} is not a valid {obj.name} id (key prefix {obj.key_prefix})"
                raise ValueError(msg)
            record["Id"] = to18(rid)
            if record["Id"] in self.records[obj.name]:
                msg = f"Id {rid!r} is used twice"
                raise ValueError(msg)
        for key, value in system.items():
            record[key] = coerce(obj.fields[key], value)
        if "LastModifiedDate" in system and "SystemModstamp" not in system:
            record["SystemModstamp"] = record["LastModifiedDate"]
        self._store(obj.name, record)
        return record

    def create(
        self, sobject: str, values: dict[str, Any], user_id: str, *, auto_assign: bool = True
    ) -> dict[str, Any]:
        """Insert a record as `user_id`; raises RecordError/RequestError as Salesforce would."""
        obj = self.sobject(sobject)
        if obj.name not in WRITABLE:
            raise RequestError(
                400,
                SfError("INVALID_TYPE", f"sObject type '{obj.name}' is not supported for create"),
            )
        record = self._build(obj, values, user_id)
        if obj.name == "Lead" and auto_assign and self.assignment_owner_id:
            record["OwnerId"] = self.assignment_owner_id
        self._validate(obj, record, changed=set(record))
        self._store(obj.name, record)
        return record

    def update(
        self, sobject: str, record_id: str, values: dict[str, Any], user_id: str
    ) -> dict[str, Any]:
        """Change a record as `user_id`."""
        obj = self.sobject(sobject)
        current = self._existing(obj, record_id)
        if obj.name == "Lead" and current.get("IsConverted"):
            raise RecordError(
                SfError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
            )
        changes = self._coerce_all(obj, values, creating=False)
        changes.pop("Id", None)
        record = {**current, **changes}
        self._validate(obj, record, changed=set(changes))
        self._touch(obj, record, user_id)
        self._store(obj.name, record)
        return record

    def system_update(
        self, sobject: str, record_id: str, values: dict[str, Any], user_id: str
    ) -> dict[str, Any]:
        """Write read-only fields the platform itself maintains (lead conversion)."""
        obj = self.sobject(sobject)
        record = {**self._existing(obj, record_id), **values}
        self._touch(obj, record, user_id)
        self._store(obj.name, record)
        return record

    def delete(
        self,
        sobject: str,
        record_id: str,
        *,
        hard: bool = False,
        master_id: str | None = None,
    ) -> None:
        """Move a record to the Recycle Bin: `IsDeleted` true, `SystemModstamp` now, and (for a
        merge's losing record) `MasterRecordId` the record it was merged into; with `hard`
        (Bulk API's hardDelete) it is gone at once, `queryAll` included. Either way the
        deletion goes into the delete log that `getDeleted` reads."""
        obj = self.sobject(sobject)
        current = self._existing(obj, record_id)
        self._remember(obj.name, current["Id"])
        self._unindex(obj.name, current)
        del self.records[obj.name][current["Id"]]
        stamp = self.stamp()
        self.delete_log.setdefault(obj.name, {})[current["Id"]] = stamp
        if hard:
            return
        deleted = {**current, "IsDeleted": True, "SystemModstamp": stamp}
        if master_id is not None:
            deleted["MasterRecordId"] = master_id
        self.recycle_bin.setdefault(obj.name, {})[current["Id"]] = deleted

    def empty_recycle_bin(self, record_id: str, now: datetime) -> None:
        """Empty one record out of the Recycle Bin (SOAP `emptyRecycleBin()`): it can no longer
        be emptied again, and `queryAll` stops showing it once `emptied_visible_for` has passed
        (`expire_emptied`). A record not in the bin raises `RecordError`.

        The error code Salesforce gives for an id that is not in the Recycle Bin is not
        documented; the sandbox answers `INVALID_ID_FIELD`, which a client treats as the
        record's own failure either way."""
        kind = prefix_object(record_id) if is_valid_id(record_id) else None
        if kind is None:
            raise RecordError(
                SfError("MALFORMED_ID", f"malformed id {record_id}", []),
            )
        rid = to18(record_id)
        if rid not in self.recycle_bin.get(kind, {}) or rid in self.emptied.get(kind, {}):
            raise RecordError(
                SfError("INVALID_ID_FIELD", f"record {rid} is not in the Recycle Bin", [])
            )
        self.emptied.setdefault(kind, {})[rid] = now

    def expire_emptied(self, now: datetime) -> None:
        """Forget the emptied records `queryAll` no longer shows (emptied long enough ago)."""
        for kind, emptied in self.emptied.items():
            gone = [rid for rid, at in emptied.items() if now - at >= self.emptied_visible_for]
            for rid in gone:
                self.recycle_bin.get(kind, {}).pop(rid, None)

    @staticmethod
    def external_id_field(obj: SObject, name: str) -> str:
        """The canonical name of an external id field (or Id), else 404 as Salesforce answers."""
        f = obj.field(name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise RequestError(
                404,
                SfError(
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {name}",
                ),
            )
        return f.name

    def upsert(
        self,
        sobject: str,
        ext_field: str,
        ext_value: str,
        values: dict[str, Any],
        user_id: str,
        *,
        auto_assign: bool = True,
    ) -> tuple[dict[str, Any], bool]:
        """Create or update by external id; returns (record, created)."""
        obj = self.sobject(sobject)
        f = obj.fields[self.external_id_field(obj, ext_field)]
        if f.name == "Id":
            if ext_value and self.get(obj.name, ext_value):
                return self.update(obj.name, ext_value, values, user_id), False
            return self.create(obj.name, values, user_id, auto_assign=auto_assign), True
        given = values.get(f.name, values.get(ext_field))
        if given is not None and str(given).lower() != ext_value.lower():
            raise RecordError(
                SfError(
                    "INVALID_FIELD",
                    f"The value of the external ID field in the body ({given}) doesn't match the "
                    f"value in the URL ({ext_value}).",
                )
            )
        values = {k: v for k, v in values.items() if k.lower() != f.name.lower()}
        hits = self.find_by_external_id(obj.name, f.name, ext_value)
        if hits:
            return self.update(obj.name, hits[0], values, user_id), False
        values[f.name] = ext_value
        return self.create(obj.name, values, user_id, auto_assign=auto_assign), True

    def existing(self, sobject: str, record_id: str) -> dict[str, Any]:
        """The live record of `sobject` with that id; Salesforce's per-record MALFORMED_ID (an
        id of another type, or no id at all) or ENTITY_IS_DELETED otherwise."""
        return self._existing(self.sobject(sobject), record_id)

    # -- internals --------------------------------------------------------------------------
    def _existing(self, obj: SObject, record_id: str) -> dict[str, Any]:
        if not is_valid_id(record_id) or prefix_object(record_id) != obj.name:
            raise RecordError(
                SfError(
                    "MALFORMED_ID",
                    f"{obj.label} ID: id value of incorrect type: {record_id}",
                    ["Id"],
                )
            )
        record = self.records[obj.name].get(to18(record_id))
        if record is None:
            raise RecordError(SfError("ENTITY_IS_DELETED", "entity is deleted", []))
        return record

    def _coerce_all(
        self, obj: SObject, values: dict[str, Any], *, creating: bool, for_seed: bool = False
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        readonly = []
        for key, value in values.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None:
                raise RequestError(
                    400,
                    SfError(
                        "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
                    ),
                )
            allowed = f.createable if creating else f.updateable
            if not allowed and not for_seed and f.name != "Id":
                readonly.append(f.name)
                continue
            if f.calculated:
                continue
            out[f.name] = coerce(f, value)
        if readonly:
            raise RecordError(
                SfError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {', '.join(readonly)}. Please check the "
                    "security settings of this field and verify that it is read/write for your "
                    "profile or permission set.",
                    readonly,
                )
            )
        return out

    def _build(
        self, obj: SObject, values: dict[str, Any], user_id: str | None, *, for_seed: bool = False
    ) -> dict[str, Any]:
        record: dict[str, Any] = dict.fromkeys(obj.fields)
        for f in obj.fields.values():
            if f.type == "boolean":
                record[f.name] = f.name == "IsActive"
        record.update(self._coerce_all(obj, values, creating=True, for_seed=for_seed))
        record["Id"] = self.ids.new(obj.name)
        while record["Id"] in self.records[obj.name]:  # a seed may have taken it
            record["Id"] = self.ids.new(obj.name)
        if "OwnerId" in obj.fields and not record.get("OwnerId"):
            record["OwnerId"] = user_id
        if obj.name == "Lead" and not record.get("Status"):
            record["Status"] = self.default_lead_status()
        if obj.name == "Task":
            record["Status"] = record.get("Status") or "Not Started"
            record["Priority"] = record.get("Priority") or "Normal"
        stamp = self.stamp()
        record.update(
            CreatedById=user_id,
            CreatedDate=stamp,
            LastModifiedById=user_id,
            LastModifiedDate=stamp,
            SystemModstamp=stamp,
            IsDeleted=False,
        )
        self._derive(obj, record)
        return record

    def _touch(self, obj: SObject, record: dict[str, Any], user_id: str) -> None:
        stamp = self.stamp()
        record.update(LastModifiedById=user_id, LastModifiedDate=stamp, SystemModstamp=stamp)
        self._derive(obj, record)

    @staticmethod
    def _derive(obj: SObject, record: dict[str, Any]) -> None:
        if "Name" in obj.fields and obj.fields["Name"].calculated:
            record["Name"] = (
                " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None
            )
        if obj.name == "Opportunity":
            stage = record.get("StageName") or ""
            record["IsClosed"] = stage.startswith("Closed")
            record["IsWon"] = stage == "Closed Won"

    def _validate(self, obj: SObject, record: dict[str, Any], changed: set[str]) -> None:
        missing = [
            f.name
            for f in obj.fields.values()
            if not f.nillable
            and f.createable
            and f.type != "boolean"
            and not f.default_on_create
            and record.get(f.name) in (None, "")
        ]
        if missing:
            raise RecordError(
                SfError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
            )
        for name in changed:
            f = obj.fields.get(name)
            value = record.get(name)
            if f is None or value is None:
                continue
            self._check_value(obj, f, value, record)

    def _check_value(self, obj: SObject, f: Field, value: Any, record: dict[str, Any]) -> None:
        if f.is_text and f.length and f.type not in ("reference", "id") and len(value) > f.length:
            raise RecordError(
                SfError(
                    "STRING_TOO_LONG",
                    f"{f.label}: data value too large: {value} (max length={f.length})",
                    [f.name],
                )
            )
        if f.type == "email" and not _EMAIL.match(value):
            raise RecordError(
                SfError(
                    "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name]
                )
            )
        if f.type == "picklist" and f.restricted and value not in f.picklist:
            raise RecordError(
                SfError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label}: bad value for restricted picklist field: {value}",
                    [f.name],
                )
            )
        if f.type == "reference":
            self._check_reference(obj, f, value)
        if f.unique:
            owner = self._unique.get((obj.name, f.name), {}).get(value.lower())
            if owner and owner != record["Id"]:
                raise RecordError(
                    SfError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: "
                        f"{owner}",
                        [],
                    )
                )
        if f.type in ("int",) and abs(value) >= 10 ** (f.digits or 9):
            raise RecordError(
                SfError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{f.label}: value outside of valid range on numeric field: {value}",
                    [f.name],
                )
            )

    def _check_reference(self, obj: SObject, f: Field, value: str) -> None:
        kind = prefix_object(value) if is_valid_id(value) else None
        if kind is None or kind not in f.reference_to:
            raise RecordError(
                SfError(
                    "MALFORMED_ID" if kind is None else "FIELD_INTEGRITY_EXCEPTION",
                    f"{f.label}: id value of incorrect type: {value}",
                    [f.name],
                )
            )
        target = self.get(kind, value)
        if target is None:
            raise RecordError(
                SfError(
                    "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", [f.name]
                )
            )
        if f.name == "OwnerId" and kind == "User" and not target.get("IsActive"):
            raise RecordError(
                SfError(
                    "INACTIVE_OWNER_OR_USER",
                    f"operation performed with inactive user [{target['Id']}] as owner of "
                    f"{obj.label.lower()}",
                    [],
                )
            )

    def _store(self, sobject: str, record: dict[str, Any]) -> None:
        self._remember(sobject, record["Id"])
        old = self.records[sobject].get(record["Id"])
        if old:
            self._unindex(sobject, old)
        self.records[sobject][record["Id"]] = record
        self._index(sobject, record)


class Transaction:
    """Handle for `Org.transaction()`: call `rollback()` to undo everything written inside."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.rolled_back = False

    def rollback(self) -> None:
        self.rolled_back = True
