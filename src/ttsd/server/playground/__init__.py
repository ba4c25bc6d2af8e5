"""`GET /playground/`: a page to try the server from a browser (issue 12).

Three files shipped in this package (`index.html`, `playground.js`, `playground.css`),
served as they are: no build step, nothing loaded from anywhere but this server. The page
holds no secret, so it loads without an API key (`PLAYGROUND_PATHS` are public); it asks
for the key itself and presents it as `X-API-Key` to `GET /voices` and as `api_key` on the
WebSocket URL (a browser cannot set headers on a WebSocket handshake).
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from functools import cache
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

#: Where the page lives. The trailing slash matters: the page loads its script and style,
#: and finds `/voices` and `/tts/websocket`, by URLs relative to its own.
PREFIX: Final = "/playground"

#: The page's files: name → media type.
FILES: Final = {
    "index.html": "text/html; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
    "playground.css": "text/css; charset=utf-8",
}

#: Only this server's own script, style and connections; no inline code, frames or forms.
#: `connect-src 'self'` covers the same-origin `ws:`/`wss:` URL too (CSP Level 3, as
#: Chromium, Firefox and Safari implement it), so the WebSocket needs no host named here,
#: which a proxy in front could not keep right anyway.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

#: Every path the page is served at: what the API key check lets through.
PLAYGROUND_PATHS: Final = frozenset(
    {PREFIX, f"{PREFIX}/", *(f"{PREFIX}/{name}" for name in FILES if name != "index.html")}
)


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the page, read from the package."""

    body: bytes
    media_type: str


@cache
def asset(name: str) -> Asset:
    """The file `name` of `FILES`, read once (the package does not change under a server)."""
    body = (importlib.resources.files(__name__) / name).read_bytes()
    return Asset(body, FILES[name])


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        # The page's URL can carry nothing secret, but the key typed into it must not leak
        # through a Referer to anywhere else either.
        "Referrer-Policy": "no-referrer",
        # Revalidated on every load: a server upgraded in place serves its new page at once.
        "Cache-Control": "no-cache",
    }


def _serve(name: str) -> Response:
    file = asset(name)
    return Response(file.body, media_type=file.media_type, headers=_headers())


async def redirect(request: Request) -> Response:
    """`GET /playground` → `/playground/`, relatively, so that it works behind a path prefix."""
    return RedirectResponse(f"{PREFIX.rsplit('/', 1)[1]}/", status_code=308)


async def page(request: Request) -> Response:
    """`GET /playground/`: the page."""
    return _serve("index.html")


async def script(request: Request) -> Response:
    """`GET /playground/playground.js`."""
    return _serve("playground.js")


async def style(request: Request) -> Response:
    """`GET /playground/playground.css`."""
    return _serve("playground.css")


def playground_routes() -> list[Route]:
    """The page's routes, for the app's route table."""
    return [
        Route(PREFIX, redirect, methods=["GET"]),
        Route(f"{PREFIX}/", page, methods=["GET"]),
        Route(f"{PREFIX}/playground.js", script, methods=["GET"]),
        Route(f"{PREFIX}/playground.css", style, methods=["GET"]),
    ]
