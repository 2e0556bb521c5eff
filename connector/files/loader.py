"""Loading mapping files: a safe YAML loader, pydantic models, and every error with file:line:col.

`load_file(path, Model)` is the one loader of every file in `mappings/` (lead, status,
conversion, routing). It collects all problems of a file (duplicate keys, unknown keys with a
"did you mean", wrong types, the model's own checks) before raising one `MappingFileError`
whose lines read `mappings/lead.yaml:14:5: fields.3.salesforce: Field required`.

The YAML dialect is YAML 1.2's core schema, not PyYAML's 1.1 default: only `true`/`false` are
booleans (so the country code `NO` and the answer `yes` stay text), numbers have no octal or
sexagesimal forms (a postal code `01234` stays text), and dates stay text.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from connector.errors import MappingError
from connector.files.suggest import did_you_mean

M = TypeVar("M", bound=BaseModel)

Severity = Literal["error", "warning"]
#: What an error stops: `file`, the mapping cannot work as written (a pass refuses it);
#: `records`, only records with certain values would fail, each alone and named in the pass
#: summary (a pass goes on; `mappings validate` still fails).
Scope = Literal["file", "records"]
Loc = Sequence[str | int]


@dataclass(frozen=True)
class Problem:
    """One finding about a mapping file, at a line and column (1-based)."""

    path: Path
    line: int
    column: int
    message: str
    severity: Severity = "error"
    scope: Scope = "file"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"

    def where(self) -> str:
        """`path:line:col: message`, without the severity."""
        return f"{self.path}:{self.line}:{self.column}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "scope": self.scope,
            "message": self.message,
        }


class MappingFileError(MappingError):
    """A mapping file is invalid; `problems` holds every finding, one line each in the text."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A validated model with its YAML node tree, so later checks can name lines too."""

    path: Path
    model: M
    root: yaml.Node | None = field(repr=False)

    def problem(
        self, loc: Loc, message: str, severity: Severity = "error", *, scope: Scope = "file"
    ) -> Problem:
        """A finding about the value at `loc` (keys and list indexes), at its line."""
        line, column = position(self.root, loc)
        dotted = ".".join(str(p) for p in loc)
        text = f"{dotted}: {message}" if dotted else message
        return Problem(self.path, line, column, text, severity, scope)


# -- the YAML dialect ------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """SafeLoader resolving plain scalars by YAML 1.2's core schema (see the module docstring)."""


_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)

#: Hints added to PyYAML's messages for the mistakes people make most.
_YAML_HINTS = (
    ("found character '\\t'", "YAML indents with spaces, not tabs"),
    ("mapping values are not allowed here", "check the indentation, or quote a value with ': '"),
    ("expected <block end>", "check the indentation: the keys of one mapping line up"),
    ("did not find expected '-' indicator", "check the indentation of the list items"),
    ("did not find expected key", "check the indentation: the keys of one mapping line up"),
)


def load_file(path: Path, model: type[M]) -> M:
    """Parse `path` with the safe loader and validate it as `model`; MappingError lists all."""
    return load_source(path, model).model


def load_source(path: Path, model: type[M]) -> Loaded[M]:
    """Like `load_file`, keeping the YAML node tree for findings made after loading."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        msg = f"{path}: cannot read mapping file: {why or exc}"
        raise MappingError(msg) from exc
    root, data = _parse(path, text)
    problems = duplicate_keys(path, root)
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else type(data).__name__
        problems.append(
            Problem(path, 1, 1, f"a mapping file is a YAML mapping (key: value), not {kind}")
        )
        raise MappingFileError(problems)
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        problems += [_from_pydantic(path, root, model, err) for err in exc.errors()]
        raise MappingFileError(_ordered(problems)) from None
    loaded = Loaded(path, validated, root)
    check = getattr(validated, "structure_problems", None)
    if callable(check):
        problems += [loaded.problem(loc, message) for loc, message in check()]
    if problems:
        raise MappingFileError(_ordered(problems))
    return loaded


def _ordered(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.column))


def _parse(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        hint = next((h for needle, h in _YAML_HINTS if needle in problem), None)
        message = f"invalid YAML: {problem}" + (f" ({hint})" if hint else "")
        raise MappingFileError([Problem(path, line, column, message)]) from exc
    finally:
        loader.dispose()
    return root, data


def duplicate_keys(path: Path, root: yaml.Node | None) -> list[Problem]:
    """Every key given twice in one mapping (PyYAML would silently keep the last one)."""
    problems: list[Problem] = []
    stack = [root] if root is not None else []
    seen_nodes: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # anchors and aliases share nodes
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, yaml.Node] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in first:
                        earlier = first[key.value].start_mark.line + 1
                        mark = key.start_mark
                        problems.append(
                            Problem(
                                path,
                                mark.line + 1,
                                mark.column + 1,
                                f"duplicate key '{key.value}' (first given on line {earlier}); "
                                "YAML would keep only the last one",
                            )
                        )
                    else:
                        first[key.value] = key
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return sorted(problems, key=lambda p: (p.line, p.column))


# -- pydantic errors as findings ---------------------------------------------------------------
def _from_pydantic(path: Path, root: yaml.Node | None, model: type[BaseModel], err: Any) -> Problem:
    loc = [part for part in err["loc"] if not _is_internal(part)]
    line, column = position(root, loc)
    if err["type"] == "extra_forbidden" and loc:  # point at the unknown key, not its value
        key_at = key_node(root, loc)
        if key_at is not None:
            line, column = key_at.start_mark.line + 1, key_at.start_mark.column + 1
    dotted = ".".join(str(p) for p in loc) or "(file)"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        message = f"unknown key '{key}'" + did_you_mean(key, known_keys(model, loc[:-1]))
    elif err["type"] == "literal_error" and isinstance(err.get("input"), str):
        expected = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        message += did_you_mean(err["input"], expected)
    elif err["type"] == "missing" and loc:
        message = f"{message} (the key '{loc[-1]}' is missing)"
    return Problem(path, line, column, f"{dotted}: {message}")


def _is_internal(part: Any) -> bool:
    """Parts of a pydantic location that name validators or union members, not YAML keys."""
    return isinstance(part, str) and (
        part.startswith(("function-", "literal[", "tagged-union", "transform[", "json-or-python"))
        or part in ("str", "int", "float", "bool", "list[str]", "dict[str,str]")
    )


def known_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model accepts at `loc` (a mapping's location), for suggestions."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    return sorted(_keys_of(current))


def _step(annotation: Any, part: str | int) -> Any:
    for candidate in _members(annotation):
        if isinstance(part, int):
            origin = typing.get_origin(candidate)
            if origin in (list, tuple):
                args = typing.get_args(candidate)
                return args[0] if args else None
            continue
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            for name, info in candidate.model_fields.items():
                if part in (name, info.alias):
                    return info.annotation
        origin = typing.get_origin(candidate)
        if origin is dict:
            return typing.get_args(candidate)[1]
    return None


def _members(annotation: Any) -> list[Any]:
    """The types an annotation may hold (unions and Annotated unwrapped, None dropped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _members(a)]
    if annotation is type(None):
        return []
    return [annotation]


def _keys_of(annotation: Any) -> set[str]:
    keys: set[str] = set()
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            keys.update(info.alias or name for name, info in member.model_fields.items())
    return keys


# -- positions ---------------------------------------------------------------------------------
def position(root: yaml.Node | None, loc: Loc) -> tuple[int, int]:
    """Line and column (1-based) of the deepest YAML node along `loc`."""
    node = locate(root, loc)
    if node is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


def locate(node: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    """The deepest YAML node along `loc` (keys and list indexes).

    A key that is present but whose value is empty points at the key; a missing key points at
    the mapping that lacks it.
    """
    best = node
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):  # the last of duplicate keys wins, as in YAML
                if key.value == str(part) or key.value == part:
                    empty = isinstance(value, yaml.ScalarNode) and value.value == ""
                    best, node = (key if empty else value), value
                    break
            else:
                return best
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return best
            node = best = node.value[part]
        else:
            return best
    return best


def key_node(root: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    """The key node of the last part of `loc` (to point at a map entry's key, not its value)."""
    parent = locate(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        pairs: list[tuple[yaml.Node, yaml.Node]] = parent.value
        for key, _value in reversed(pairs):
            if key.value == str(loc[-1]):
                return key
    return None
