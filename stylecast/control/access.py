"""Who may use the control server: the bind rule, the token, and Origin/Host checks.

Why the Host and Origin checks: the server controls someone's live broadcast, and any web
page the streamer opens can make their browser talk to ``127.0.0.1``. A foreign
``Origin`` (cross-site websocket hijacking) or a foreign ``Host`` (DNS rebinding) is
refused even on loopback without a token; with a token, the token is what protects.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request

from stylecast.errors import ConfigError


def is_loopback(host: str) -> bool:
    """True if ``host`` names only this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a token-less bind beyond loopback, and tokens too weak to protect anything.

    Raises:
        ConfigError: with what to do instead.
    """
    if token is None:
        if not is_loopback(host):
            raise ConfigError(
                f"the control server would listen on {host!r}, which other machines can "
                "reach, without a token; set a control token (8+ characters) or bind "
                "127.0.0.1")
        return
    if not (8 <= len(token) <= 256 and all("!" <= c <= "~" for c in token)):
        raise ConfigError("the control token must be 8 to 256 printable ASCII characters "
                          f"without spaces, got {len(token)} characters; generate one with "
                          "python -c 'import secrets; print(secrets.token_urlsafe(24))'")


class Refused(Exception):
    """Answer the HTTP request with ``status`` and this message instead of serving it."""

    def __init__(self, status: int, message: str, *headers: tuple[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


def one_header(headers: Headers, name: str) -> str | None:
    values = headers.get_all(name)
    if len(values) > 1:
        raise Refused(400, f"the request has {len(values)} {name} headers; send one")
    return values[0] if values else None


class Access:
    """Who may use the server: token, Origin and Host checks."""

    def __init__(self, *, token: str | None) -> None:
        self._token = token.encode() if token is not None else None

    def check(self, request: Request, query: dict[str, list[str]]) -> None:
        """Raise Refused unless the request may proceed."""
        host = one_header(request.headers, "Host")
        origin = one_header(request.headers, "Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or host is None \
                    or parts.netloc.lower() != host.lower():
                raise Refused(403, f"requests from the web origin {origin[:80]!r} are "
                              "refused; open the control page from this server itself")
        if self._token is None:
            if host is not None and not is_loopback(urlsplit("//" + host).hostname or ""):
                raise Refused(403, f"Host {host[:80]!r} is not a loopback name; without a "
                              "token this server answers only to localhost/127.0.0.1")
            return
        presented = self._presented(request, query)
        if presented is None or not hmac.compare_digest(presented.encode(), self._token):
            why = "a wrong token" if presented is not None else "no token"
            raise Refused(401, f"this stylecast control server needs a token and the request "
                          f"had {why}; add ?token=... to the URL or send "
                          "'Authorization: Bearer ...'", ("WWW-Authenticate", "Bearer"))

    @staticmethod
    def _presented(request: Request, query: dict[str, list[str]]) -> str | None:
        auth = one_header(request.headers, "Authorization")
        if auth is not None and auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        tokens = query.get("token")
        return tokens[0] if tokens else None
