"""Plain HTTP on the control port: the web page, thumbnails, preview and snapshot.

websockets hands every incoming request to :meth:`HttpRoutes.process_request` before the
websocket handshake; returning a Response answers it as plain HTTP, returning None lets
``/ws`` upgrade. Access checks run here for both, so there is one gate.

The access rules themselves live in :mod:`stylecast.control.access`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http
import logging
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from email.utils import formatdate
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from stylecast.control.access import Access, Refused
from stylecast.control.api import ControlTarget
from stylecast.control.schema import is_style_name
from stylecast.errors import StylecastError, StyleNotFound

log = logging.getLogger(__name__)

WS_PATH = "/ws"
PREVIEW_WIDTH = 480
_PREVIEW_WIDTHS = (32, 1920)
_THUMB = re.compile(r"/thumb/([^/]+)\.png")


@dataclass(frozen=True)
class Page:
    """The control page and the Content-Security-Policy that allows exactly its code."""

    body: bytes
    csp: str


def load_page() -> Page:
    """Read ``web/index.html`` from the package and hash its inline script and style.

    Hashes instead of ``'unsafe-inline'``: style titles come from untrusted packs, and if
    one ever reached the DOM as markup, the browser still would not run injected code.
    """
    body = resources.files("stylecast.control").joinpath("web/index.html").read_bytes()
    text = body.decode("utf-8")

    def hashes(tag: str) -> str:
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", text, flags=re.DOTALL)
        digests = (base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()
                   for b in blocks)
        return " ".join(f"'sha256-{d}'" for d in digests) or "'none'"

    csp = (f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; "
           "img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; "
           "form-action 'none'; frame-ancestors 'none'")
    return Page(body=body, csp=csp)


def respond(status: int, body: bytes, content_type: str, *, cache: str = "no-store",
            headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A complete HTTP response; the connection closes after it."""
    phrase = http.HTTPStatus(status).phrase
    all_headers = Headers([
        ("Date", formatdate(usegmt=True)), ("Connection", "close"),
        ("Content-Length", str(len(body))), ("Content-Type", content_type),
        ("Cache-Control", cache), ("X-Content-Type-Options", "nosniff"), *headers])
    return Response(status, phrase, all_headers, body)


def respond_text(status: int, message: str, **kwargs: Any) -> Response:
    """A plain-text response, e.g. the reason for a 401."""
    return respond(status, (message + "\n").encode(), "text/plain; charset=utf-8", **kwargs)


class HttpRoutes:
    """The HTTP side of the control server; runs on the server's event loop.

    Target calls run in ``pool`` so a slow render never stalls the loop, and at most
    ``max_inflight`` of them wait at once: beyond that the answer is 503 at once, so a
    page left open on a slow machine cannot queue up unbounded work.
    """

    def __init__(self, *, target: ControlTarget, access: Access, page: Page, pool: Executor,
                 can_accept_client: Callable[[], bool], max_inflight: int = 8) -> None:
        self._target = target
        self._access = access
        self._page = page
        self._pool = pool
        self._can_accept_client = can_accept_client
        self._max_inflight = max_inflight
        self._inflight = 0

    async def process_request(self, connection: ServerConnection,
                              request: Request) -> Response | None:
        """websockets' hook: a Response answers over HTTP, None continues to the websocket."""
        try:
            url = urlsplit(request.path)
            query = parse_qs(url.query, max_num_fields=16)
            self._access.check(request, query)
            if url.path == WS_PATH:
                if not self._can_accept_client():
                    raise Refused(503, "too many control clients are connected; close one "
                                  "and retry", ("Retry-After", "5"))
                return None
            if request.method != "GET":
                raise Refused(405, f"{request.method} is not supported; use GET",
                              ("Allow", "GET"))
            return await self._route(url.path, query)
        except Refused as exc:
            return respond_text(exc.status, str(exc), headers=exc.headers)
        except ValueError as exc:  # parse_qs: too many fields or a malformed query
            return respond_text(400, f"malformed request: {exc}")

    async def _route(self, path: str, query: dict[str, list[str]]) -> Response:
        if path in ("/", "/index.html"):
            return respond(200, self._page.body, "text/html; charset=utf-8", cache="no-cache",
                           headers=[("Content-Security-Policy", self._page.csp),
                                    ("Referrer-Policy", "no-referrer")])
        if path == "/preview.jpg":
            width = _int_param(query, "w", PREVIEW_WIDTH, *_PREVIEW_WIDTHS)
            jpeg = await self._call(self._target.preview_jpeg, width)
            if jpeg is None:
                raise Refused(503, "no output frame yet", ("Retry-After", "1"))
            return respond(200, _bytes(jpeg), "image/jpeg")
        if path == "/snapshot.png":
            png = await self._call(self._target.snapshot)
            return respond(200, _bytes(png), "image/png", headers=[
                ("Content-Disposition", 'inline; filename="stylecast-snapshot.png"')])
        match = _THUMB.fullmatch(path)
        if match:
            name = unquote(match.group(1))
            if not is_style_name(name):
                raise Refused(404, f"{name[:80]!r} is not a style name")
            png = await self._call(self._target.thumbnail, name)
            return respond(200, _bytes(png), "image/png", cache="max-age=300")
        raise Refused(404, f"nothing at {path[:80]!r}; the control page is at /")

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._inflight >= self._max_inflight:
            raise Refused(503, "the server is busy rendering; retry shortly",
                          ("Retry-After", "1"))
        self._inflight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except StyleNotFound as exc:
            raise Refused(404, str(exc)) from exc
        except StylecastError as exc:
            raise Refused(503, str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - same boundary as protocol.handle()
            log.exception("control: %s raised an unexpected error", fn.__name__)
            raise Refused(500, f"{fn.__name__} failed inside stylecast "
                          f"({type(exc).__name__}); see the stylecast log") from exc
        finally:
            self._inflight -= 1


def _bytes(data: object) -> bytes:
    if not isinstance(data, bytes | bytearray):
        # A pipeline bug; websockets logs it with the traceback and answers 500.
        raise TypeError(f"the control target returned {type(data).__name__}, not bytes")
    return bytes(data)


def _int_param(query: dict[str, list[str]], name: str, default: int, lo: int, hi: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[0])
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise Refused(400, f"query parameter {name!r} must be an integer from {lo} to {hi}, "
                      f"got {values[0][:20]!r}")
    return value
