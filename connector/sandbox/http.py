"""Small response helpers shared by the sandbox's API modules."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response; `body=None` with 204 gives an empty body, as the real APIs do."""
    if status == 204 or body is None:
        return Response(status=status, headers=headers)
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json;charset=UTF-8",
    )


def read_json(request: Request) -> Any:
    """The request body parsed as JSON; `ValueError` when it is not JSON."""
    data = request.get_data(cache=True)
    if not data:
        return None
    return json.loads(data)
