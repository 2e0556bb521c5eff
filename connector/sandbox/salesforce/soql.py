"""The sandbox's SOQL engine: the subset of SOQL leadbridge and admins use, run over the org.

A query is parsed by a lark LALR grammar (`GRAMMAR`), checked against the org's schema the way
Salesforce checks it (unknown object, unknown field, literal of the wrong type), compiled into
closures, and run over `org.records`. Anything outside the subset (GROUP BY, aggregates other
than a bare COUNT(), subqueries, date functions and date literals such as LAST_N_DAYS:3, WITH,
USING SCOPE, FOR UPDATE, TYPEOF, ...) is refused with MALFORMED_QUERY rather than answered
wrongly.

Errors read like Salesforce's: the query excerpt around the problem, a caret under it,
`ERROR at Row:1:Column:N`, then the message (`unexpected token: 'GROUP'`, `No such column ...`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken, VisitError

from connector.sandbox.ids import KEY_PREFIXES, checksum, is_valid_id
from connector.sandbox.salesforce.org import Org, parse_date, parse_datetime
from connector.sandbox.salesforce.schema import Field, SObject

#: The error codes a query can answer with.
MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"

#: Salesforce refuses longer query strings.
MAX_QUERY_LENGTH = 100_000
#: The largest OFFSET Salesforce accepts.
MAX_OFFSET = 2000
#: Names in one field path, the field included ("no more than five levels" in the SOQL docs).
MAX_PATH_LEVELS = 5

GRAMMAR = r"""
start: _SELECT select_list _FROM NAME where? order? limit? offset?

select_list: COUNT _LPAR _RPAR              -> count_all
           | NAME (_COMMA NAME)*            -> field_list

where: _WHERE condition

// Salesforce requires parentheses whenever AND and OR are mixed: a chain is one or the other.
?condition: operand
          | operand (_AND operand)+         -> and_
          | operand (_OR operand)+          -> or_

?operand: comparison
        | _LPAR condition _RPAR
        | NOT operand                       -> not_

comparison: NAME OP value                   -> compare
          | NAME LIKE value                 -> like
          | NAME IN _LPAR values _RPAR      -> in_
          | NAME NOT IN _LPAR values _RPAR  -> not_in

values: value (_COMMA value)*
?value: STRING | NUMBER | DATE | DATETIME | TRUE | FALSE | NULL

order: _ORDER _BY order_item (_COMMA order_item)*
order_item: NAME direction? nulls?
direction: ASC | DESC
nulls: _NULLS (FIRST | LAST)

limit: _LIMIT NUMBER
offset: _OFFSET NUMBER

// Keywords are case-insensitive and win over NAME, but only as whole words: `LastName` and
// `Order.Name` stay names.
_SELECT.2: /select(?![\w.])/i
_FROM.2: /from(?![\w.])/i
_WHERE.2: /where(?![\w.])/i
_AND.2: /and(?![\w.])/i
_OR.2: /or(?![\w.])/i
NOT.2: /not(?![\w.])/i
IN.2: /in(?![\w.])/i
LIKE.2: /like(?![\w.])/i
_ORDER.2: /order(?![\w.])/i
_BY.2: /by(?![\w.])/i
ASC.2: /asc(?![\w.])/i
DESC.2: /desc(?![\w.])/i
_NULLS.2: /nulls(?![\w.])/i
FIRST.2: /first(?![\w.])/i
LAST.2: /last(?![\w.])/i
_LIMIT.2: /limit(?![\w.])/i
_OFFSET.2: /offset(?![\w.])/i
COUNT.2: /count(?![\w.])/i
TRUE.2: /true(?![\w.])/i
FALSE.2: /false(?![\w.])/i
NULL.2: /null(?![\w.])/i

NAME: /[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*/
STRING: /'(?:[^'\\]|\\.)*'/s
DATETIME.4: /\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})/
DATE.3: /\d{4}-\d{2}-\d{2}/
NUMBER: /[+-]?(\d+(\.\d+)?|\.\d+)/
OP: /!=|<>|<=|>=|=|<|>/
_LPAR: "("
_RPAR: ")"
_COMMA: ","

%ignore /\s+/
"""

_PARSER = Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)

_CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)
_CUSTOM_REL_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after the "
    "custom relationship name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
_CUSTOM_OBJECT_HINT = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the entity "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)

# Plain escapes SOQL defines; `\_` and `\%` are added inside LIKE patterns only.
_ESCAPES = {
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")

# A polymorphic relationship (Owner → User or Group) lands on Salesforce's `Name` entity, which
# offers these fields whichever object the id points to.
_NAME_ENTITY_FIELDS = {
    f.name.lower(): f
    for f in (
        Field("Id", "id"),
        Field("Name", "string"),
        Field("FirstName", "string"),
        Field("LastName", "string"),
        Field("Alias", "string"),
        Field("Email", "email"),
        Field("IsActive", "boolean"),
        Field("Title", "string"),
        Field("Type", "string"),
        Field("Username", "string"),
        Field("UserRoleId", "reference"),
    )
}
_USER_PREFIX = KEY_PREFIXES["User"]


class SoqlError(Exception):
    """A query Salesforce would refuse: the errorCode and the message it would give."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class QueryResult:
    """What a query returns: `total_size` rows (the count, for COUNT()) and the shaped rows."""

    total_size: int
    records: list[dict[str, Any]] = field(default_factory=list)


# -- parse tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Name:
    text: str
    pos: int


@dataclass(frozen=True)
class _Literal:
    kind: str  # string, number, date, datetime, boolean, null
    value: Any  # decoded text, int/float, canonical date(time) string, bool or None
    raw: str
    pos: int
    like: re.Pattern[str] | None = None  # the compiled pattern, for a LIKE operand


@dataclass(frozen=True)
class _Compare:
    path: _Name
    op: str  # = != < > <= >= like in notin
    values: tuple[_Literal, ...]


@dataclass(frozen=True)
class _Not:
    inner: Any


@dataclass(frozen=True)
class _Chain:
    op: str  # and, or
    items: tuple[Any, ...]


@dataclass(frozen=True)
class _OrderItem:
    path: _Name
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class _Query:
    count: bool
    fields: tuple[_Name, ...]
    sobject: _Name
    where: Any
    order: tuple[_OrderItem, ...]
    limit: int | None
    offset: int | None


# -- errors -------------------------------------------------------------------------------------
def _token_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the tokens lark finds in `text`, as far as it can lex."""
    spans = []
    try:
        for tok in _PARSER.lex(text):
            if tok.start_pos is not None and tok.end_pos is not None:  # a lexed token has both
                spans.append((tok.start_pos, tok.end_pos))
    except UnexpectedCharacters:
        pass
    return spans


def _located(text: str, pos: int, message: str, *, lexical: bool = False) -> str:
    """Salesforce's error layout: the query excerpt, a caret, `ERROR at Row:R:Column:C`, message.

    Like Salesforce, the excerpt runs from four tokens before the offending one to two tokens
    after it, within its line; a lexical error points one character early, as Salesforce does.
    """
    pos = max(0, min(pos, len(text)))
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line_end = len(text) if line_end < 0 else line_end
    caret = max(line_start, pos - 1) if lexical else pos
    spans = [s for s in _token_spans(text) if line_start <= s[0] < line_end]
    before = [s for s in spans if s[1] <= pos]
    after = [s for s in spans if s[0] >= pos]
    start = before[-4][0] if len(before) >= 4 else line_start
    end = after[2][1] if not lexical and len(after) >= 3 else line_end
    row = text.count("\n", 0, pos) + 1
    column = caret - line_start + 1
    return (
        f"\n{text[start:end]}\n{' ' * (caret - start)}^\n"
        f"ERROR at Row:{row}:Column:{column}\n{message}"
    )


def _error(code: str, text: str, pos: int, message: str, *, lexical: bool = False) -> SoqlError:
    return SoqlError(code, _located(text, pos, message, lexical=lexical))


def _malformed(text: str, pos: int, message: str, *, lexical: bool = False) -> SoqlError:
    return _error(MALFORMED_QUERY, text, pos, message, lexical=lexical)


def _at(tok: Token) -> int:
    """Where `tok` starts in the query. lark types the offset optional (a token built by hand
    has none); every token its lexer and parser hand over carries one."""
    assert tok.start_pos is not None
    return tok.start_pos


def _unexpected(text: str, tok: Token) -> SoqlError:
    if tok.type == "$END":
        return _malformed(text, len(text), "unexpected token: '<EOF>'")
    return _malformed(text, _at(tok), f"unexpected token: '{tok.value}'")


# -- parsing ------------------------------------------------------------------------------------
def _decode(text: str, tok: Token, *, like: bool) -> tuple[str, list[tuple[str, bool]]]:
    """A string literal's value, and (for LIKE) its characters flagged as wildcard or not."""
    body = tok.value[1:-1]
    if "\\" not in body:  # nothing to decode (most literals: emails, ids)
        return body, [(ch, ch in "%_") for ch in body] if like else []
    chars: list[tuple[str, bool]] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            chars.append((ch, ch in "%_"))
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            chars.append((_ESCAPES[nxt], False))
            i += 2
        elif like and nxt in "%_":
            chars.append((nxt, False))
            i += 2
        elif nxt == "u" and _HEX4.fullmatch(body[i + 2 : i + 6]):
            chars.append((chr(int(body[i + 2 : i + 6], 16)), False))
            i += 6
        else:
            seq = body[i : i + 6] if nxt == "u" else body[i : i + 2]
            msg = (
                f"Invalid string literal '{body}'. Illegal character sequence '{seq}' in "
                "string literal."
            )
            raise _malformed(text, _at(tok), msg, lexical=True)
    return "".join(ch for ch, _ in chars), chars


def _like_pattern(chars: list[tuple[str, bool]]) -> re.Pattern[str]:
    parts = []
    for ch, wild in chars:
        if wild:
            parts.append(".*" if ch == "%" else ".")
        else:
            parts.append(re.escape(ch.casefold()))
    return re.compile("".join(parts), re.DOTALL)


@v_args(inline=True)
class _Build(Transformer):
    """Turns lark's tree into the query's dataclasses, decoding literals on the way."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def _literal(self, tok: Token, *, like: bool = False) -> _Literal:
        kind = tok.type
        if kind == "STRING":
            value, chars = _decode(self.text, tok, like=like)
            pattern = _like_pattern(chars) if like else None
            return _Literal("string", value, tok.value, _at(tok), pattern)
        if kind == "NUMBER":
            raw = tok.value
            number: int | float = float(raw) if "." in raw else int(raw)
            return _Literal("number", number, raw, _at(tok))
        if kind == "DATE":
            day = parse_date(tok.value)
            if day is None:
                raise _malformed(self.text, _at(tok), f"Invalid date: {tok.value}")
            return _Literal("date", day, tok.value, _at(tok))
        if kind == "DATETIME":
            stamp = parse_datetime(tok.value.upper())
            if stamp is None:
                raise _malformed(self.text, _at(tok), f"Invalid datetime: {tok.value}")
            return _Literal("datetime", stamp, tok.value, _at(tok))
        if kind in ("TRUE", "FALSE"):
            return _Literal("boolean", kind == "TRUE", tok.value, _at(tok))
        return _Literal("null", None, tok.value, _at(tok))

    @staticmethod
    def _name(tok: Token) -> _Name:
        return _Name(str(tok), _at(tok))

    def start(self, select: Any, sobject: Token, *clauses: Any) -> _Query:
        parts = dict(clauses)
        count, fields = select
        return _Query(
            count=count,
            fields=fields,
            sobject=self._name(sobject),
            where=parts.get("where"),
            order=parts.get("order", ()),
            limit=parts.get("limit"),
            offset=parts.get("offset"),
        )

    def count_all(self, _count: Token) -> tuple[bool, tuple[_Name, ...]]:
        return True, ()

    def field_list(self, *names: Token) -> tuple[bool, tuple[_Name, ...]]:
        return False, tuple(self._name(n) for n in names)

    def where(self, condition: Any) -> tuple[str, Any]:
        return "where", condition

    def and_(self, *items: Any) -> _Chain:
        return _Chain("and", items)

    def or_(self, *items: Any) -> _Chain:
        return _Chain("or", items)

    def not_(self, _not: Token, inner: Any) -> _Not:
        return _Not(inner)

    def compare(self, path: Token, op: Token, value: Token) -> _Compare:
        symbol = "!=" if op.value == "<>" else op.value
        return _Compare(self._name(path), symbol, (self._literal(value),))

    def like(self, path: Token, _like: Token, value: Token) -> _Compare:
        return _Compare(self._name(path), "like", (self._literal(value, like=True),))

    def values(self, *items: Token) -> tuple[_Literal, ...]:
        return tuple(self._literal(tok) for tok in items)

    def in_(self, path: Token, _in: Token, items: tuple[_Literal, ...]) -> _Compare:
        return _Compare(self._name(path), "in", items)

    def not_in(self, path: Token, _not: Token, _in: Token, items: tuple[_Literal, ...]) -> _Compare:
        return _Compare(self._name(path), "notin", items)

    def order(self, *items: _OrderItem) -> tuple[str, tuple[_OrderItem, ...]]:
        return "order", items

    def direction(self, tok: Token) -> tuple[str, bool]:
        return "desc", tok.type == "DESC"

    def nulls(self, tok: Token) -> tuple[str, bool]:
        return "nulls_first", tok.type == "FIRST"

    def order_item(self, path: Token, *options: tuple[str, bool]) -> _OrderItem:
        opts = dict(options)
        descending = opts.get("desc", False)
        return _OrderItem(self._name(path), descending, opts.get("nulls_first", not descending))

    def _count(self, tok: Token) -> int:
        if not tok.value.isdigit():
            raise _unexpected(self.text, tok)
        return int(tok.value)

    def limit(self, tok: Token) -> tuple[str, int]:
        return "limit", self._count(tok)

    def offset(self, tok: Token) -> tuple[str, int]:
        return "offset", self._count(tok)


@functools.lru_cache(maxsize=512)
def _parse(text: str) -> _Query:
    """The parsed query (cached: the sandbox sees the same query text over and over)."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedToken as exc:
        raise _unexpected(text, exc.token) from None
    except UnexpectedCharacters as exc:
        # lark's base class declares pos_in_stream = None; UnexpectedCharacters sets the offset
        pos: int = exc.pos_in_stream  # type: ignore[assignment]
        message = f"line {exc.line}:{exc.column - 1} unexpected token: '{text[pos]}'"
        raise _malformed(text, pos, message, lexical=True) from None
    except UnexpectedEOF:
        raise _malformed(text, len(text), "unexpected token: '<EOF>'") from None
    try:
        query = _Build(text).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, SoqlError):
            raise exc.orig_exc from None
        raise
    return query


# -- compiling against the schema ----------------------------------------------------------------
Getter = Callable[[dict[str, Any]], Any]
Fetch = Callable[[Any], "tuple[str, dict[str, Any]] | None"]


@dataclass
class _Hop:
    """One relationship step: the reference field, its relationship name, where it lands."""

    ref: str
    rel: str
    fetch: Fetch
    polymorphic: bool


@dataclass
class _Path:
    """A resolved field path: the relationship hops, then the field."""

    hops: list[_Hop]
    leaf: Field
    entity: str

    def getter(self) -> Getter:
        leaf = _leaf_getter(self.leaf, polymorphic=bool(self.hops) and self.hops[-1].polymorphic)
        if not self.hops:
            return leaf
        hops = [(h.ref, h.fetch) for h in self.hops]

        def get(record: dict[str, Any]) -> Any:
            for ref, fetch in hops:
                found = fetch(record.get(ref))
                if found is None:
                    return None
                record = found[1]
            return leaf(record)

        return get


def _norm_id(value: str) -> str:
    """An id in its canonical 18-character form."""
    return value[:15] + checksum(value[:15])


def _leaf_getter(f: Field, *, polymorphic: bool) -> Getter:
    name = f.name
    if polymorphic and name == "Type":
        return lambda r: "User" if r["Id"].startswith(_USER_PREFIX) else r.get("Type")
    if f.type in ("id", "reference"):

        def get_id(record: dict[str, Any]) -> Any:
            value = record.get(name)
            if value is None or (len(value) == 18 and value[15:].isupper()):
                return value
            return _norm_id(value)

        return get_id
    return lambda r: r.get(name)


def _fetcher(org: Org, targets: tuple[str, ...], *, deleted: bool) -> Fetch:
    """Looks a parent up by id; with `deleted` (queryAll), in the Recycle Bin too."""
    if len(targets) > 1:

        def fetch_any(rid: Any) -> tuple[str, dict[str, Any]] | None:
            return org.find(rid, deleted=deleted) if rid else None

        return fetch_any
    kind = targets[0]
    tables = [org.records.get(kind, {})]
    if deleted:
        tables.append(org.recycle_bin.get(kind, {}))

    def fetch(rid: Any) -> tuple[str, dict[str, Any]] | None:
        if not rid:
            return None
        for table in tables:
            record = table.get(rid)
            if record is None and is_valid_id(rid):
                record = table.get(_norm_id(rid))
            if record is not None:
                return kind, record
        return None

    return fetch


def _resolve(org: Org, root: SObject, name: _Name, text: str, *, deleted: bool) -> _Path:
    """Resolve `Parent.Owner.Name` against the schema, or the INVALID_FIELD Salesforce gives."""
    parts = name.text.split(".")
    if len(parts) > MAX_PATH_LEVELS:
        msg = f"SOQL statements cannot query more than {MAX_PATH_LEVELS} levels of relationships"
        raise _malformed(text, name.pos, msg)
    obj: SObject | None = root
    entity = root.name
    hops: list[_Hop] = []
    for part in parts[:-1]:
        ref = obj.relationship(part) if obj is not None else None
        if ref is None or ref.relationship_name is None:
            msg = f"Didn't understand relationship '{part}' in field path. {_CUSTOM_REL_HINT}"
            raise _error(INVALID_FIELD, text, name.pos, msg)
        polymorphic = len(ref.reference_to) > 1
        hops.append(
            _Hop(
                ref.name,
                ref.relationship_name,
                _fetcher(org, ref.reference_to, deleted=deleted),
                polymorphic,
            )
        )
        if polymorphic:
            obj, entity = None, "Name"
        else:
            obj = org.schema[ref.reference_to[0]]
            entity = obj.name
    last = parts[-1]
    leaf = obj.field(last) if obj is not None else _NAME_ENTITY_FIELDS.get(last.lower())
    if leaf is None:
        msg = f"No such column '{last}' on entity '{entity}'. {_CUSTOM_FIELD_HINT}"
        raise _error(INVALID_FIELD, text, name.pos, msg)
    return _Path(hops, leaf, entity)


def _category(f: Field) -> str:
    if f.type in ("id", "reference"):
        return "id"
    if f.type == "boolean":
        return "boolean"
    if f.type in ("int", "double", "currency", "percent"):
        return "number"
    if f.type in ("date", "datetime"):
        return f.type
    return "text"


def _casefolded(get: Getter) -> Getter:
    """Text compares case-insensitively in SOQL, as `casefold()` does."""

    def folded(record: dict[str, Any]) -> Any:
        value = get(record)
        return value.casefold() if value is not None else None

    return folded


def _long_text(f: Field) -> bool:
    return f.type == "textarea" and f.length > 255


def _type_word(f: Field) -> str:
    category = _category(f)
    if category == "number":
        return "integer" if f.type == "int" else "double"
    return {"text": "string", "datetime": "dateTime"}.get(category, category)


_LITERAL_FITS = {
    "text": {"string"},
    "id": {"string"},
    "boolean": {"boolean"},
    "number": {"number"},
    "date": {"date"},
    "datetime": {"datetime"},
}


class _Compiler:
    """Checks one parsed query against the org's schema and builds its closures."""

    def __init__(self, org: Org, query: _Query, text: str, *, deleted: bool = False) -> None:
        self.org = org
        self.query = query
        self.text = text
        self.deleted = deleted
        self.root = self._sobject(query.sobject)

    def _sobject(self, name: _Name) -> SObject:
        for key, obj in self.org.schema.items():
            if key.lower() == name.text.lower():
                return obj
        msg = f"sObject type '{name.text}' is not supported. {_CUSTOM_OBJECT_HINT}"
        raise _error(INVALID_TYPE, self.text, name.pos, msg)

    def path(self, name: _Name) -> _Path:
        return _resolve(self.org, self.root, name, self.text, deleted=self.deleted)

    # -- WHERE --------------------------------------------------------------------------------
    def predicate(self, node: Any) -> Callable[[dict[str, Any]], bool]:
        if isinstance(node, _Chain):
            preds = [self.predicate(item) for item in node.items]
            if node.op == "and":
                return lambda r: all(p(r) for p in preds)
            return lambda r: any(p(r) for p in preds)
        if isinstance(node, _Not):
            inner = self.predicate(node.inner)
            return lambda r: not inner(r)
        return self._comparison(node)

    def _value(self, f: Field, lit: _Literal, name: _Name, op: str) -> Any:
        """The literal as the value it is compared with, or Salesforce's error for it."""
        category = _category(f)
        if lit.kind == "null":
            if op not in ("=", "!=", "in", "notin"):
                raise _malformed(self.text, lit.pos, f"unexpected token: '{lit.raw}'")
            return None
        if lit.kind not in _LITERAL_FITS[category]:
            quoted = (
                "should be enclosed in quotes"
                if category in ("text", "id")
                else ("should not be enclosed in quotes")
            )
            msg = (
                f"value of filter criterion for field '{f.name}' must be of type "
                f"{_type_word(f)} and {quoted}"
            )
            raise _error(INVALID_FIELD, self.text, name.pos, msg)
        if category == "text":
            return lit.value.casefold()
        if category == "id":
            if not is_valid_id(lit.value):
                raise _malformed(self.text, name.pos, f"invalid ID field: {lit.value}")
            return _norm_id(lit.value)
        return lit.value

    def _comparison(self, node: _Compare) -> Callable[[dict[str, Any]], bool]:
        path = self.path(node.path)
        f = path.leaf
        if _long_text(f):
            msg = f"field '{f.name}' can not be filtered in a query call"
            raise _error(INVALID_FIELD, self.text, node.path.pos, msg)
        category = _category(f)
        get = _casefolded(path.getter()) if category == "text" else path.getter()
        op = node.op
        if op == "like":
            lit = node.values[0]
            if category != "text":
                msg = f"invalid operator on {_type_word(f)} field"
                raise _malformed(self.text, node.path.pos, msg)
            if lit.kind != "string" or lit.like is None:
                raise _malformed(self.text, lit.pos, f"unexpected token: '{lit.raw}'")
            match = lit.like.fullmatch
            return lambda r: (v := get(r)) is not None and match(v) is not None
        if op in ("in", "notin"):
            wanted = {self._value(f, lit, node.path, op) for lit in node.values}
            if op == "in":
                return lambda r: get(r) in wanted
            return lambda r: get(r) not in wanted
        if category == "boolean" and op not in ("=", "!="):
            msg = f"invalid operator on {_type_word(f)} field"
            raise _malformed(self.text, node.path.pos, msg)
        target = self._value(f, node.values[0], node.path, op)
        if op == "=":
            return lambda r: get(r) == target
        if op == "!=":
            return lambda r: get(r) != target
        if op == "<":
            return lambda r: (v := get(r)) is not None and v < target
        if op == ">":
            return lambda r: (v := get(r)) is not None and v > target
        if op == "<=":
            return lambda r: (v := get(r)) is not None and v <= target
        return lambda r: (v := get(r)) is not None and v >= target

    # -- ORDER BY -----------------------------------------------------------------------------
    def sort_keys(self) -> list[tuple[Getter, bool, bool]]:
        keys = []
        for item in self.query.order:
            path = self.path(item.path)
            if _long_text(path.leaf):
                msg = f"field '{path.leaf.name}' can not be sorted in a query call"
                raise _error(INVALID_FIELD, self.text, item.path.pos, msg)
            get = path.getter()
            if _category(path.leaf) == "text":
                get = _casefolded(get)
            keys.append((get, item.descending, item.nulls_first))
        return keys

    # -- SELECT -------------------------------------------------------------------------------
    def shaper(self, api_version: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
        root = _Shape(polymorphic=False)
        for name in self.query.fields:
            path = self.path(name)
            node = root
            for hop in path.hops:
                node = node.child(hop)
            node.add_field(path, name, self.text)
        return functools.partial(root.render, f"/services/data/v{api_version}/sobjects/")


@dataclass
class _Shape:
    """The shape of a (nested) record in the result: fields and relationships, in query order."""

    polymorphic: bool
    entries: list[tuple[str, Any]] = field(default_factory=list)
    children: dict[str, _Shape] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def child(self, hop: _Hop) -> _Shape:
        key = hop.rel.lower()
        if key not in self.children:
            node = _Shape(polymorphic=hop.polymorphic)
            self.children[key] = node
            self.entries.append((hop.rel, (hop.ref, hop.fetch, node)))
        return self.children[key]

    def add_field(self, path: _Path, name: _Name, text: str) -> None:
        key = path.leaf.name.lower()
        if key in self.seen:
            raise _malformed(text, name.pos, f"duplicate field selected: {path.leaf.name}")
        self.seen.add(key)
        polymorphic = bool(path.hops) and path.hops[-1].polymorphic
        self.entries.append((path.leaf.name, _leaf_getter(path.leaf, polymorphic=polymorphic)))

    def render(self, base: str, sobject: str, record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {
                "type": "Name" if self.polymorphic else sobject,
                "url": f"{base}{sobject}/{record['Id']}",
            }
        }
        for key, how in self.entries:
            if callable(how):
                out[key] = how(record)
                continue
            ref, fetch, node = how
            found = fetch(record.get(ref))
            out[key] = None if found is None else node.render(base, found[0], found[1])
        return out


# -- running ------------------------------------------------------------------------------------
def _sort(
    rows: list[dict[str, Any]], keys: Iterable[tuple[Getter, bool, bool]]
) -> list[dict[str, Any]]:
    """Stable multi-key sort with Salesforce's null placement (first for ASC, last for DESC)."""
    for get, descending, nulls_first in reversed(list(keys)):
        valued = []
        nulls = []
        for row in rows:
            value = get(row)
            if value is None:
                nulls.append(row)
            else:
                valued.append((value, row))
        valued.sort(key=itemgetter(0), reverse=descending)
        ordered = [row for _, row in valued]
        rows = nulls + ordered if nulls_first else ordered + nulls
    return rows


def _looked_up(org: Org, root: SObject, where: Any) -> set[str] | None:
    """The ids a WHERE clause can only match among, when it is (or ANDs) a text field of the
    queried object `=` or `IN` string literals (`Email IN (...)`): from `Org.lookup`. None:
    every record has to be tested."""
    items = where.items if isinstance(where, _Chain) and where.op == "and" else (where,)
    for item in items:
        if not isinstance(item, _Compare) or item.op not in ("=", "in") or "." in item.path.text:
            continue
        f = root.field(item.path.text)
        if f is None or _category(f) != "text" or _long_text(f):
            continue
        if all(lit.kind == "string" for lit in item.values):
            return org.lookup(root.name, f.name, {lit.value.casefold() for lit in item.values})
    return None


def run(
    org: Org, text: str, api_version: str = "59.0", *, include_deleted: bool = False
) -> QueryResult:
    """Run one SOQL query over `org`, as `GET /query?q=...` would, or over the Recycle Bin
    too (`include_deleted`) as `/queryAll` does; raises SoqlError."""
    if not text or not text.strip():
        raise SoqlError(MALFORMED_QUERY, "SOQL statements cannot be empty or null")
    if len(text) > MAX_QUERY_LENGTH:
        msg = f"SOQL statements can not be longer than {MAX_QUERY_LENGTH} characters."
        raise SoqlError(MALFORMED_QUERY, msg)
    query = _parse(text)
    if include_deleted:  # records emptied from the Recycle Bin a while ago are gone for good
        org.expire_emptied(org.clock())
    compiler = _Compiler(org, query, text, deleted=include_deleted)
    shape = None if query.count else compiler.shaper(api_version)
    keep = compiler.predicate(query.where) if query.where is not None else None
    keys = compiler.sort_keys()
    if query.offset is not None and query.offset > MAX_OFFSET:
        msg = f"Maximum SOQL offset allowed for apiName {compiler.root.name} is {MAX_OFFSET}"
        raise SoqlError(NUMBER_OUTSIDE_VALID_RANGE, msg)

    table: Iterable[dict[str, Any]] = org.records.get(compiler.root.name, {}).values()
    if include_deleted:
        table = [*table, *org.recycle_bin.get(compiler.root.name, {}).values()]
    elif (ids := _looked_up(org, compiler.root, query.where)) is not None:
        # Only the records the lookup found can match; still in the table's order.
        live = org.records.get(compiler.root.name, {})
        one = len(ids) < 2  # (no order to keep)
        table = [live[i] for i in ids] if one else [r for i, r in live.items() if i in ids]
    rows = [r for r in table if keep(r)] if keep is not None else list(table)
    start = query.offset or 0
    stop = None if query.limit is None else start + query.limit
    if query.count:
        return QueryResult(len(rows[start:stop]))
    if keys:
        rows = _sort(rows, keys)
    rows = rows[start:stop]
    if shape is None:
        return QueryResult(len(rows))
    name = compiler.root.name
    records = [shape(name, row) for row in rows]
    return QueryResult(len(records), records)


__all__ = ["GRAMMAR", "QueryResult", "SoqlError", "run"]
