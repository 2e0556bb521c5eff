"""HubSpot's Lists API v3 (`/crm/v3/lists/...`), the part leadbridge uses: a list by id or by
name, its memberships (paged), and adding or removing records by id.

What the documentation says, and where (the developers.hubspot.com API reference, "crm-lists-v3"):

- A list has a `listId` (the "ILS" id, a numeric string), a `name`, an `objectTypeId` (`0-1`
  contacts, `0-2` companies) and a `processingType`: `MANUAL` (members change only by hand or
  API), `DYNAMIC` (HubSpot keeps the members matching the list's filters) or `SNAPSHOT` (filters
  once, then by hand). Source: the Lists API guide, https://developers.hubspot.com/docs/api/crm/lists.
- `GET /crm/v3/lists/{listId}` and `GET /crm/v3/lists/object-type-id/{objectTypeId}/name/
  {listName}` answer `{"list": {...}}`; the name is "not case sensitive"; `filterBranch` only with
  `includeFilters=true`. Example: .../lists/get-crm-v3-lists-object-type-id-objectTypeId-name-
  listName.
- `GET /crm/v3/lists/?listIds=...&listIds=...` ("Fetch Multiple Lists") answers `{"lists":
  [...]}`, "the definitions of all lists that exist for the listIds provided". Example:
  .../crm-lists-v3/lists/get-crm-v3-lists-.
- `GET /crm/v3/lists/{listId}/memberships?after&before&limit` pages members "sorted by the
  recordId" (ascending after `after` or no offset, descending when only `before` is given);
  `limit` defaults to 100, "the maximum limit is 250"; answer `{"results": [{"recordId",
  "membershipTimestamp"}], "paging": {"next": {"after", "link"}, "prev": {"before", "link"}},
  "total"}`. Source: .../latest/crm/lists/memberships/get-memberships-by-id.
- `PUT /crm/v3/lists/{listId}/memberships/add` and `.../remove` take a JSON array of record ids;
  "Records that do not exist or that are not members of the list are ignored" (remove; add:
  "... already members ... are ignored"); "This endpoint only works for lists that have a
  processingType of MANUAL or SNAPSHOT". Answer (the schema marks all three required):
  `recordIdsRemoved`, `recordsIdsAdded` (sic; the reference page's add example spells it
  `recordIdsAdded`, the OpenAPI schema and hubspot-api-client 12's MembershipsUpdateResponse
  `recordsIdsAdded`: the sandbox follows the schema) and `recordIdsMissing` ("missing (e.g. did
  not exist in the portal) and so were not added or removed"). Sources: .../memberships/
  put-crm-v3-lists-listId-memberships-remove and -add.

Unconfirmed (no documented example found; either answer must work for leadbridge):
- whether an existing record that is not a member (remove), or already one (add), is listed in
  `recordIdsMissing` or left out of every array: the sandbox lists every id it did not act on in
  `recordIdsMissing`;
- the answer for a DYNAMIC list: the sandbox answers 400 VALIDATION_ERROR with the message the
  legacy v1 API was observed to give ("Can not operate manually on a dynamic list");
- the answer for an unknown list or name: 404 OBJECT_NOT_FOUND in HubSpot's standard error body;
- Fetch Multiple Lists: that an id no list has is only left out (not a 404), the order of the
  answer (the sandbox keeps the order asked), and the answer without any `listIds` (the sandbox:
  no lists);
- a `limit` above 250: the sandbox clamps it;
- the most ids one add/remove call takes (the legacy v1 API documented 500): the sandbox takes
  any number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from connector.sandbox.http import json_response
from connector.sandbox.hubspot import errors
from connector.sandbox.hubspot.api import _body, _hubspot_call
from connector.sandbox.hubspot.portal import FIRST_USER_ID, TYPE_ALIASES, Portal
from connector.sandbox.hubspot.values import iso_ms, parse_datetime_ms

if TYPE_CHECKING:
    from connector.sandbox.app import Handler, Sandbox

PROCESSING_TYPES = ("MANUAL", "DYNAMIC", "SNAPSHOT")
#: Processing types whose memberships the API may change.
EDITABLE = frozenset({"MANUAL", "SNAPSHOT"})
DEFAULT_PAGE = 100
MAX_PAGE = 250
#: The message the legacy v1 lists API answers for a dynamic list (observed, e.g. in
#: wp-fusion-lite's HubSpot CRM class); the v3 text is unconfirmed.
DYNAMIC_MESSAGE = "Can not operate manually on a dynamic list"
_NUMERIC = re.compile(r"^[1-9]\d{0,17}$")
_SEED_KEYS = frozenset(
    {
        "listId",
        "name",
        "processingType",
        "objectTypeId",
        "memberships",
        "createdAt",
        "updatedAt",
        "filtersUpdatedAt",
        "createdById",
        "updatedById",
        "filterBranch",
    }
)
_OBJECT_TYPE_IDS = {"0-1": "contacts", "0-2": "companies"}


@dataclass
class HubSpotList:
    """One list: its definition and its members (record id -> epoch ms it joined)."""

    list_id: str
    name: str
    processing_type: str
    object_type_id: str
    created_ms: int
    updated_ms: int
    filters_updated_ms: int
    created_by: str
    updated_by: str
    filter_branch: dict[str, Any] | None = None
    members: dict[str, int] = field(default_factory=dict)

    def view(self, *, include_filters: bool = False) -> dict[str, Any]:
        """The list as `PublicObjectList`, keys as in the reference's get-by-name example."""
        body: dict[str, Any] = {
            "createdAt": iso_ms(self.created_ms),
            "createdById": self.created_by,
            "filtersUpdatedAt": iso_ms(self.filters_updated_ms),
            "listId": self.list_id,
            "listVersion": 1,
            "name": self.name,
            "objectTypeId": self.object_type_id,
            "processingStatus": "COMPLETE",
            "processingType": self.processing_type,
            "size": len(self.members),
            "updatedAt": iso_ms(self.updated_ms),
            "updatedById": self.updated_by,
        }
        if include_filters and self.filter_branch is not None:
            body["filterBranch"] = self.filter_branch
        return body

    def ordered(self) -> list[str]:
        """Member ids in recordId order (numeric ids sort as numbers)."""
        return sorted(self.members, key=_id_order)


# -- seed ---------------------------------------------------------------------------------
def load_lists(portal: Portal, rows: Any) -> None:
    """Add the seed's `hubspot.lists` to a portal whose records are already loaded (called by
    `Portal.from_seed`).

    Raises `ValueError` naming the entry (`seed.hubspot.lists[0].memberships[2]: ...`).
    """
    if not isinstance(rows, list):
        msg = "seed.hubspot.lists: expected a list of lists"
        raise ValueError(msg)
    now = portal.now_ms()
    given = [str(r.get("listId")) for r in rows if isinstance(r, dict) and r.get("listId")]
    next_id = max([0, *(int(i) for i in given if _NUMERIC.match(i))]) + 1
    for index, row in enumerate(rows):
        where = f"seed.hubspot.lists[{index}]"
        if not isinstance(row, dict):
            msg = f"{where}: a list is an object with a name (and listId, processingType, ...)"
            raise ValueError(msg)
        unknown = sorted(set(row) - _SEED_KEYS)
        if unknown:
            msg = f"{where}: unknown keys {unknown}; expected some of {sorted(_SEED_KEYS)}"
            raise ValueError(msg)
        hs_list = _seed_list(portal, row, where, now, str(next_id))
        if not row.get("listId"):
            next_id += 1
        portal.lists[hs_list.list_id] = hs_list


def _seed_list(
    portal: Portal, row: dict[str, Any], where: str, now: int, fresh_id: str
) -> HubSpotList:
    list_id = str(row.get("listId") or fresh_id)
    if not _NUMERIC.match(list_id) or list_id in portal.lists:
        msg = f"{where}.listId: {list_id!r} is not a new numeric list id"
        raise ValueError(msg)
    name = row.get("name")
    if not isinstance(name, str) or not name.strip():
        msg = f"{where}.name: a list needs a name"
        raise ValueError(msg)
    processing = row.get("processingType", "MANUAL")
    if processing not in PROCESSING_TYPES:
        msg = f"{where}.processingType: {processing!r} is not one of {list(PROCESSING_TYPES)}"
        raise ValueError(msg)
    type_id = str(row.get("objectTypeId", "0-1"))
    if type_id not in _OBJECT_TYPE_IDS:
        msg = f"{where}.objectTypeId: {type_id!r} is not one of {sorted(_OBJECT_TYPE_IDS)}"
        raise ValueError(msg)
    if portal.list_named(type_id, name) is not None:
        msg = f"{where}.name: another list of {type_id} is named {name!r}"
        raise ValueError(msg)
    members = row.get("memberships") or []
    if not isinstance(members, list):
        msg = f'{where}.memberships: expected ["<record id>", ...]'
        raise ValueError(msg)
    created = _seed_ms(row.get("createdAt"), now, f"{where}.createdAt")
    user = str(FIRST_USER_ID)
    hs_list = HubSpotList(
        list_id=list_id,
        name=name,
        processing_type=processing,
        object_type_id=type_id,
        created_ms=created,
        updated_ms=_seed_ms(row.get("updatedAt"), created, f"{where}.updatedAt"),
        filters_updated_ms=_seed_ms(row.get("filtersUpdatedAt"), created, f"{where}.filters"),
        created_by=str(row.get("createdById") or user),
        updated_by=str(row.get("updatedById") or user),
        filter_branch=row.get("filterBranch"),
    )
    singular = portal.types[_OBJECT_TYPE_IDS[type_id]].singular
    for member_index, raw in enumerate(members):
        record_id = str(raw)
        if not portal.exists(type_id, record_id):
            msg = f"{where}.memberships[{member_index}]: no {singular} has id {record_id!r}"
            raise ValueError(msg)
        hs_list.members[record_id] = created
    return hs_list


def _seed_ms(value: Any, default: int, where: str) -> int:
    if value is None:
        return default
    parsed = parse_datetime_ms(str(value))
    if parsed is None:
        msg = f"{where}: {value!r} is not an ISO 8601 datetime or epoch milliseconds"
        raise ValueError(msg)
    return parsed


# -- routes -------------------------------------------------------------------------------
def routes() -> list[tuple[str, list[str], Handler]]:
    base = "/crm/v3/lists"
    return [
        (f"{base}/", ["GET"], get_lists),
        (f"{base}/object-type-id/<object_type_id>/name/<path:list_name>", ["GET"], get_by_name),
        (f"{base}/<list_id>", ["GET"], get_list),
        (f"{base}/<list_id>/memberships", ["GET"], get_memberships),
        (f"{base}/<list_id>/memberships/add", ["PUT"], add_memberships),
        (f"{base}/<list_id>/memberships/remove", ["PUT"], remove_memberships),
    ]


def _not_found(list_id: str) -> Response:
    # Unconfirmed message and category (see the module docstring).
    return errors.error(404, f"List {list_id} does not exist.", "OBJECT_NOT_FOUND")


def _flag(request: Request, name: str) -> bool:
    return request.args.get(name, "false").lower() == "true"


@_hubspot_call()
def get_list(sb: Sandbox, request: Request, list_id: str) -> Response:
    """`GET /crm/v3/lists/{listId}?includeFilters`: `{"list": {...}}`, 404 if unknown."""
    hs_list = sb.portal.lists.get(list_id)
    if hs_list is None:
        return _not_found(list_id)
    return json_response({"list": hs_list.view(include_filters=_flag(request, "includeFilters"))})


@_hubspot_call()
def get_lists(sb: Sandbox, request: Request) -> Response:
    """`GET /crm/v3/lists/?listIds=1&listIds=2&includeFilters` (Fetch Multiple Lists):
    `{"lists": [...]}` for the ids that name a list, in the order asked; others left out."""
    found = [sb.portal.lists.get(i) for i in dict.fromkeys(request.args.getlist("listIds"))]
    include = _flag(request, "includeFilters")
    return json_response({"lists": [lst.view(include_filters=include) for lst in found if lst]})


@_hubspot_call()
def get_by_name(sb: Sandbox, request: Request, object_type_id: str, list_name: str) -> Response:
    """`GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}`, case-insensitive."""
    alias = TYPE_ALIASES.get(object_type_id.lower())
    type_id = {"contacts": "0-1", "companies": "0-2"}.get(alias or "")
    hs_list = sb.portal.list_named(type_id, list_name) if type_id else None
    if hs_list is None:
        message = f"List with name {list_name} and object type {object_type_id} does not exist."
        return errors.error(404, message, "OBJECT_NOT_FOUND")
    return json_response({"list": hs_list.view(include_filters=_flag(request, "includeFilters"))})


@_hubspot_call()
def get_memberships(sb: Sandbox, request: Request, list_id: str) -> Response:
    """`GET /crm/v3/lists/{listId}/memberships?after&before&limit`: members by recordId."""
    hs_list = sb.portal.lists.get(list_id)
    if hs_list is None:
        return _not_found(list_id)
    try:
        limit = min(max(int(request.args.get("limit", DEFAULT_PAGE)), 1), MAX_PAGE)
    except ValueError:
        return errors.validation("limit must be an integer")
    after, before = request.args.get("after"), request.args.get("before")
    ordered = hs_list.ordered()
    if after is not None or before is None:
        page = [i for i in ordered if after is None or _id_order(i) > _id_order(after)][:limit]
    else:
        page = [i for i in reversed(ordered) if _id_order(i) < _id_order(before)][:limit]
    body: dict[str, Any] = {
        "results": [
            {"recordId": i, "membershipTimestamp": iso_ms(hs_list.members[i])} for i in page
        ],
        "total": len(ordered),
    }
    link = f"{sb.config.base_url}/crm/v3/lists/{list_id}/memberships"
    paging: dict[str, Any] = {}
    if page:
        high, low = max(page, key=_id_order), min(page, key=_id_order)
        if _id_order(ordered[-1]) > _id_order(high):
            paging["next"] = {"after": high, "link": f"{link}?after={high}"}
        if _id_order(ordered[0]) < _id_order(low):
            paging["prev"] = {"before": low, "link": f"{link}?before={low}"}
    if paging:
        body["paging"] = paging
    return json_response(body)


@_hubspot_call()
def add_memberships(sb: Sandbox, request: Request, list_id: str) -> Response:
    """`PUT .../memberships/add` with `["<record id>", ...]`."""
    return _change(sb, request, list_id, add=True)


@_hubspot_call()
def remove_memberships(sb: Sandbox, request: Request, list_id: str) -> Response:
    """`PUT .../memberships/remove` with `["<record id>", ...]`."""
    return _change(sb, request, list_id, add=False)


def _change(sb: Sandbox, request: Request, list_id: str, *, add: bool) -> Response:
    """Add or remove members; every id not acted on is reported in `recordIdsMissing`."""
    portal = sb.portal
    ids = _body(request)
    if not isinstance(ids, list) or not all(isinstance(i, str | int) for i in ids):
        return errors.validation('Invalid input JSON: expected an array of record ids ["123"]')
    hs_list = portal.lists.get(list_id)
    if hs_list is None:
        return _not_found(list_id)
    if hs_list.processing_type not in EDITABLE:
        return errors.validation(DYNAMIC_MESSAGE)
    now = portal.now_ms()
    changed: list[str] = []
    missing: list[str] = []
    for record_id in dict.fromkeys(str(i) for i in ids):
        member = record_id in hs_list.members
        if add and not member and portal.exists(hs_list.object_type_id, record_id):
            hs_list.members[record_id] = now
            changed.append(record_id)
        elif not add and member:
            del hs_list.members[record_id]
            changed.append(record_id)
        else:
            missing.append(record_id)
    return json_response(
        {
            "recordIdsRemoved": [] if add else changed,
            "recordsIdsAdded": changed if add else [],
            "recordIdsMissing": missing,
        }
    )


def _id_order(record_id: str) -> tuple[int, int | str]:
    """Numeric ids in numeric order, anything else after them as text."""
    return (0, int(record_id)) if record_id.isdigit() else (1, record_id)
