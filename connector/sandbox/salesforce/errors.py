"""Salesforce's answers when the service itself fails or refuses, for the sandbox's limits and
its fault profile (`connector.sandbox.faults`).

Shapes, from answers recorded in public client projects (no Salesforce page shows them whole):

- 403 `[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]`
  past the daily API limit (the message as SalesforceLabs/OrgCheck#181 and
  jetstreamapp/jetstream#868 recorded it; the same code with "ConcurrentRequests ... Limit
  exceeded." is the concurrency limit, OrgCheck#432); SOAP: the `sf:REQUEST_LIMIT_EXCEEDED`
  fault.
- 500 `[{"message": "An unexpected error occurred. Please include this ErrorId if you contact
  support: 1452464078-314667 (-1173371248)", "errorCode": "UNKNOWN_EXCEPTION"}]`
  (restforce/restforce#821); SOAP: an `sf:UNKNOWN_EXCEPTION` fault with that message
  (theswamis/dataloadercliq#86 shows its `UnexpectedErrorFault`).
- 503 `[{"message": "Server too busy", "errorCode": "SERVER_UNAVAILABLE"}]`
  (restforce/restforce#156, #568).
- 502 and 504 (and 503 on the SOAP endpoint): an HTML error page from Salesforce's edge, not
  JSON (jetstreamapp/jetstream#835: `<title>Error Page</title>`; forcedotcom/cli#2487: a 503
  maintenance page).
"""

from __future__ import annotations

import random

from werkzeug.wrappers import Response

from connector.sandbox.http import json_response

REQUEST_LIMIT = {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
UNKNOWN_EXCEPTION_MESSAGE = (
    "An unexpected error occurred. Please include this ErrorId if you contact support: {}"
)
SERVER_UNAVAILABLE = {"message": "Server too busy", "errorCode": "SERVER_UNAVAILABLE"}
EDGE_PAGE = (
    "<!doctype html><html lang=en-US><meta charset=UTF-8><title>Error Page</title>"
    "<body><h1>{status}</h1><p>We are down for maintenance or the service is temporarily "
    "unavailable. Please try again later.</p></body></html>"
)
_rng = random.Random()  # noqa: S311 - error ids, not secrets


def request_limit_exceeded() -> Response:
    """The REST API's 403 once the org's daily API requests are spent."""
    return json_response([dict(REQUEST_LIMIT)], 403)


def error_id() -> str:
    """An ErrorId in the shape Salesforce prints: `1452464078-314667 (-1173371248)`."""
    return (
        f"{_rng.randrange(10**9, 2 * 10**9)}-{_rng.randrange(10**4, 10**6)} "
        f"({_rng.randrange(-(2**31), 2**31)})"
    )


def server_error(status: int, *, soap: bool = False) -> Response:
    """A 5xx as the REST API (or, with `soap`, the SOAP endpoint) sends it; see the module."""
    if status == 500:
        message = UNKNOWN_EXCEPTION_MESSAGE.format(error_id())
        if soap:
            from connector.sandbox.salesforce.soap import SoapFault

            return SoapFault.api("UNKNOWN_EXCEPTION", message).response()
        return json_response([{"message": message, "errorCode": "UNKNOWN_EXCEPTION"}], 500)
    if status == 503 and not soap:
        return json_response([dict(SERVER_UNAVAILABLE)], 503)
    return Response(
        EDGE_PAGE.format(status=status), status=status, content_type="text/html;charset=UTF-8"
    )


def soap_request_limit_exceeded() -> Response:
    """The SOAP endpoint's fault past the daily API limit."""
    from connector.sandbox.salesforce.soap import SoapFault

    return SoapFault.api(REQUEST_LIMIT["errorCode"], REQUEST_LIMIT["message"]).response()
