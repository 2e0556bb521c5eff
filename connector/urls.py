"""URLs as people may see them: in messages, logs and exception texts, never with a password.

A setting such as `LEADBRIDGE_SALESFORCE_LOGIN_URL=https://user:PW@host` carries its secret in
the URL's userinfo. Every message that shows a URL renders it through `shown_url`, and the log
redactor runs the same function over every text it writes, so the secret is masked the same way
wherever it would appear.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: What stands in for a masked secret in messages (as SQLAlchemy's `hide_password` shows it).
MASK = "***"

# `scheme://` and the authority after it, which ends at the path, query or fragment (RFC 3986
# 3.2), or at a character no URL holds unencoded (white space, quotes, brackets of a repr).
_AUTHORITY = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<authority>[^/?#\s\"<>`{}|\\^]*)"
)


def shown_url(text: object, *, mask: str = MASK) -> str:
    """`text` (a URL, or any text holding URLs) with each URL's userinfo secret masked.

    `https://user:PW@host` shows as `https://user:***@host`; a userinfo without a password may
    be a token on its own (`https://TOKEN@host`), so all of it is masked (`https://***@host`).
    The userinfo is everything before the authority's last `@`, so an unencoded `@` in the
    password is masked too.
    """
    value = str(text)
    if "://" not in value:
        return value
    return _AUTHORITY.sub(lambda m: m["scheme"] + _masked(m["authority"], mask), value)


def origin(url: object) -> str:
    """`scheme://host[:port]` of `url`, without its userinfo: the server the URL names (a JWT
    audience, the host a message says could not be reached)."""
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _masked(authority: str, mask: str) -> str:
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return authority
    user, colon, _password = userinfo.partition(":")
    return f"{user}:{mask}@{host}" if colon else f"{mask}@{host}"
