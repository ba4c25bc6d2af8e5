"""Base URLs, the WebSocket URL and the headers every request carries."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from ttsd import __version__

#: Where `ttsd serve` listens by default.
DEFAULT_BASE_URL = "http://127.0.0.1:8420"
#: Environment variables read when the constructor is not given a value.
BASE_URL_ENV = "TTSD_BASE_URL"
API_KEY_ENV = "TTSD_API_KEY"
#: The API version sent in `Cartesia-Version` (the one the 3.x official SDKs send).
CARTESIA_VERSION = "2025-11-04"
USER_AGENT = f"ttsd-python/{__version__}"
WEBSOCKET_PATH = "/tts/websocket"

_WS_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def resolve_base_url(base_url: str | None) -> str:
    """`base_url`, else `$TTSD_BASE_URL`, else the local default; ``host:port`` gets
    ``http://``. Any trailing ``/`` is dropped."""
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"base_url {url!r}: the scheme must be http or https")
    if not parts.netloc:
        raise ValueError(f"base_url {url!r} has no host")
    return urlunsplit(parts._replace(path=parts.path.rstrip("/")))


def resolve_api_key(api_key: str | None) -> str | None:
    """`api_key`, else `$TTSD_API_KEY`, else None (no `Authorization` header)."""
    return api_key or os.environ.get(API_KEY_ENV) or None


def websocket_url(base_url: str, websocket_base_url: str | None = None) -> str:
    """The TTS WebSocket URL.

    From `websocket_base_url` when given, else from `base_url` with ``http`` → ``ws`` and
    ``https`` → ``wss``; either way the path is kept and ``/tts/websocket`` appended
    (before any query string, which is kept too).
    """
    url = websocket_base_url or base_url
    if "://" not in url:
        url = f"ws://{url}"
    parts = urlsplit(url)
    scheme = _WS_SCHEMES.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"websocket_base_url {url!r}: the scheme must be ws, wss, http or https")
    return urlunsplit(parts._replace(scheme=scheme, path=parts.path.rstrip("/") + WEBSOCKET_PATH))


def default_headers(api_key: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """`Authorization: Bearer <key>` (when there is a key), `Cartesia-Version`, and `extra`
    (which wins)."""
    headers = {"Cartesia-Version": CARTESIA_VERSION}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    headers.update(extra or {})
    return headers
