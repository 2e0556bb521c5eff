"""SOQL over REST: `GET /query?q=` and `/queryAll?q=` answer the first batch (2,000 records
unless `Sforce-Query-Options: batchSize=N` asks for 200..2000) and a `nextRecordsUrl` whose query
locator (`01g...-2000`) fetches the following batch, as Salesforce's queryMore does."""

from __future__ import annotations

import re
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from connector.sandbox.ids import to18
from connector.sandbox.salesforce import soql
from connector.sandbox.salesforce.org import Org
from connector.sandbox.salesforce.rest_call import Call, Reply

BATCH_DEFAULT = 2000
BATCH_MIN = 200
OPEN_CURSORS_PER_USER = 10  # Salesforce keeps 10 open query cursors per user, dropping the oldest
_LOCATOR = re.compile(r"^(01g[A-Za-z0-9]{15})-(\d+)$")


@dataclass
class _Cursor:
    records: list[Any]
    total_size: int
    batch: int  # the batch size the query asked for; a queryMore may ask for another


class _Cursors:
    """The open query cursors of one org, per user; the oldest go past the per-user limit."""

    def __init__(self) -> None:
        self.by_user: dict[str, OrderedDict[str, _Cursor]] = {}
        self.serial = 0

    def open(self, user_id: str, cursor: _Cursor) -> str:
        self.serial += 1
        cursor_id = to18(f"01gKb{self.serial:010d}")
        mine = self.by_user.setdefault(user_id, OrderedDict())
        mine[cursor_id] = cursor
        while len(mine) > OPEN_CURSORS_PER_USER:
            mine.popitem(last=False)
        return cursor_id

    def get(self, user_id: str, cursor_id: str) -> _Cursor | None:
        mine = self.by_user.get(user_id)
        return mine.get(cursor_id) if mine is not None else None

    def close(self, user_id: str, cursor_id: str) -> None:
        mine = self.by_user.get(user_id)
        if mine is not None:
            mine.pop(cursor_id, None)


#: Cursors live with their org: a sandbox reset makes a new org and so forgets them.
_CURSORS: weakref.WeakKeyDictionary[Org, _Cursors] = weakref.WeakKeyDictionary()


def _cursors(org: Org) -> _Cursors:
    store = _CURSORS.get(org)
    if store is None:
        store = _CURSORS[org] = _Cursors()
    return store


def batch_size(call: Call, default: int = BATCH_DEFAULT) -> int:
    """`Sforce-Query-Options: batchSize=N`, kept within 200..2000 (`default` when absent)."""
    for part in call.headers.get("Sforce-Query-Options", "").split(","):
        key, _, value = part.partition("=")
        if key.strip().lower() == "batchsize":
            try:
                return min(max(int(value.strip()), BATCH_MIN), BATCH_DEFAULT)
            except ValueError:
                break
    return default


def _page(
    call: Call, endpoint: str, cursor_id: str | None, cursor: _Cursor, start: int
) -> dict[str, Any]:
    end = start + batch_size(call, cursor.batch)
    done = end >= len(cursor.records)
    body: dict[str, Any] = {"totalSize": cursor.total_size, "done": done}
    store = _cursors(call.org)
    if not done:
        if cursor_id is None:
            cursor_id = store.open(call.user_id, cursor)
        body["nextRecordsUrl"] = f"{call.base}/{endpoint}/{cursor_id}-{end}"
    elif cursor_id is not None:
        store.close(call.user_id, cursor_id)
    body["records"] = cursor.records[start:end]
    return body


def _run(call: Call, endpoint: str, *, include_deleted: bool = False) -> Reply:
    text = call.args.get("q")
    if not text or not text.strip():
        return Reply(
            400, [{"message": "A query string has to be specified", "errorCode": "MALFORMED_QUERY"}]
        )
    try:
        result = soql.run(call.org, text, call.version, include_deleted=include_deleted)
    except soql.SoqlError as exc:
        return Reply(400, [{"message": exc.message, "errorCode": exc.code}])
    cursor = _Cursor(result.records, result.total_size, batch_size(call))
    return Reply(200, _page(call, endpoint, None, cursor, 0))


def _more(call: Call, endpoint: str, locator: str) -> Reply:
    m = _LOCATOR.match(locator)
    cursor = _cursors(call.org).get(call.user_id, m.group(1)) if m else None
    if m is None or cursor is None or not 0 < int(m.group(2)) < len(cursor.records):
        return Reply(
            400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
        )
    return Reply(200, _page(call, endpoint, m.group(1), cursor, int(m.group(2))))


def query(call: Call) -> Reply:
    """`GET /query?q=SOQL`: the first batch and, when more remain, a `nextRecordsUrl`."""
    return _run(call, "query")


def query_all(call: Call) -> Reply:
    """`GET /queryAll?q=SOQL`: as query, with the deleted records of the Recycle Bin
    (`IsDeleted` true) too."""
    return _run(call, "queryAll", include_deleted=True)


def query_more(call: Call, locator: str) -> Reply:
    """`GET /query/{cursor}-{offset}`: the batch from that offset on."""
    return _more(call, "query", locator)


def query_all_more(call: Call, locator: str) -> Reply:
    """`GET /queryAll/{cursor}-{offset}`."""
    return _more(call, "queryAll", locator)
