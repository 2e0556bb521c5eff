"""Small response helpers shared by the sandbox's API modules, and the one JSON body parser.

Python's `json` accepts `"\\ud800"`, a lone UTF-16 surrogate, and hands back a string no UTF-8
answer can carry. Stored, such a value would make every later answer that shows it fail to
encode (a 500 for every search), so bodies and seeds holding one are refused where they come
in (`parse_json`, `lone_surrogate`), and `json_response` escapes any that still reach it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

#: A JSON `\uXXXX` escape of a surrogate: the only way one can reach a parsed body (raw
#: surrogate bytes are not UTF-8, which the parser refuses by itself).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class LoneSurrogate(ValueError):
    """A JSON value holds a lone UTF-16 surrogate; the message names where."""


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response; `body=None` with 204 gives an empty body, as the real APIs do.

    A lone surrogate that got past the input checks is written as its `\\uXXXX` escape (the
    only place one can be is inside a JSON string, so that is still valid JSON): an answer
    always encodes.
    """
    if status == 204 or body is None:
        return Response(status=status, headers=headers)
    return Response(
        json.dumps(body, ensure_ascii=False).encode("utf-8", "backslashreplace"),
        status=status,
        headers=headers,
        content_type="application/json;charset=UTF-8",
    )


def parse_json(data: bytes) -> Any:
    """A request body parsed as JSON; `ValueError` when it is not JSON, `LoneSurrogate` when
    a string in it (key or value) holds a lone surrogate."""
    value = json.loads(data)
    if _SURROGATE_ESCAPE.search(data):
        where = lone_surrogate(value, "$")
        if where is not None:
            raise LoneSurrogate(where)
    return value


def read_json(request: Request) -> Any:
    """The request body parsed as JSON (`parse_json`); None when there is none."""
    data = request.get_data(cache=True)
    if not data:
        return None
    return parse_json(data)


def lone_surrogate(value: Any, path: str) -> str | None:
    """`path.to.key: ...` naming the first string (key or value) under `value` that holds a
    lone UTF-16 surrogate, or None when every string is text."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found is None:
            return None
        return f"{path}: contains a lone UTF-16 surrogate ({_escaped(found.group())}), not text"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{_escaped(key)}" if isinstance(key, str) else f"{path}.{key}"
            if isinstance(key, str) and _SURROGATE.search(key):
                return lone_surrogate(key, inner)
            where = lone_surrogate(item, inner)
            if where is not None:
                return where
    elif isinstance(value, list):
        for index, item in enumerate(value):
            where = lone_surrogate(item, f"{path}[{index}]")
            if where is not None:
                return where
    return None


def _escaped(text: str) -> str:
    """The text with each surrogate written as `\\udXXX`, safe to print anywhere."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
