"""Loading mapping files: a safe YAML loader, pydantic models, and every error with file:line:col.

`load_lead_mapping(dir)` collects all errors of a file before raising one `MappingError` whose
lines read `mappings/lead.yaml:14:5: fields.3.salesforce: Field required`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from connector.errors import MappingError
from connector.mapping.model import LeadMapping

M = TypeVar("M", bound=BaseModel)


def load_lead_mapping(directory: str | Path) -> LeadMapping:
    """`DIR/lead.yaml`, validated."""
    return load_file(Path(directory) / "lead.yaml", LeadMapping)


def load_file(path: Path, model: type[M]) -> M:
    """Parse `path` with the safe loader and validate it as `model`; MappingError lists all."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"{path}: cannot read mapping file: {exc.strerror or exc}"
        raise MappingError(msg) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"{where}: invalid YAML: {problem}"
        raise MappingError(msg) from exc
    if not isinstance(data, dict):
        msg = (
            f"{path}:1:1: a mapping file is a YAML mapping (key: value), not {type(data).__name__}"
        )
        raise MappingError(msg)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [_format(path, node, err) for err in exc.errors()]
        raise MappingError("\n".join(lines)) from None


def _format(path: Path, root: yaml.Node | None, err: dict[str, Any]) -> str:
    loc = [
        part
        for part in err["loc"]
        if not (
            isinstance(part, str)
            and part.startswith(("function-", "literal[", "Truncate", "tagged-union"))
        )
    ]
    node = _locate(root, loc)
    mark = node.start_mark if node is not None else None
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else f"{path}:1:1"
    dotted = ".".join(str(p) for p in loc) or "(file)"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown key '{loc[-1]}'"
    return f"{where}: {dotted}: {message}"


def _locate(node: yaml.Node | None, loc: list[Any]) -> yaml.Node | None:
    """The deepest YAML node along `loc` (keys and list indexes)."""
    best = node
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    best, node = (key if value is None else value), value
                    break
            else:
                return best
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return best
            node = best = node.value[part]
        else:
            return best
    if isinstance(node, yaml.MappingNode):  # point at the key when the error is about the key
        return best
    return best
