"""`/playground/` over HTTP: the page's files, their headers, no key needed, and packaged.

The page itself is driven in a real browser by tests/e2e/test_playground.py.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import live_server
from tests.support.tone_engine import ToneEngine
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.playground import CONTENT_SECURITY_POLICY, FILES
from ttsd.server.settings import Settings

KEY = "k1"
ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND_DIR = ROOT / "src" / "ttsd" / "server" / "playground"


@pytest.fixture(scope="module")
def keyed() -> Iterator[httpx.Client]:
    """A client of a server that wants the key `k1` (the client sends none)."""
    app = create_app(Settings(parallel_steps=1, api_keys=(KEY,)), EngineRegistry([ToneEngine()]))
    with live_server(app) as base, httpx.Client(base_url=f"http://{base}") as client:
        yield client


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/playground/", "text/html; charset=utf-8"),
        ("/playground/playground.js", "text/javascript; charset=utf-8"),
        ("/playground/playground.css", "text/css; charset=utf-8"),
    ],
)
def test_files_are_served_without_a_key(keyed: httpx.Client, path: str, media_type: str) -> None:
    response = keyed.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    name = path.rsplit("/", 1)[1] or "index.html"
    assert response.content == (PLAYGROUND_DIR / name).read_bytes()


def test_bare_path_redirects_relatively(keyed: httpx.Client) -> None:
    # Relative, so that a proxy serving ttsd under a path prefix keeps it.
    response = keyed.get("/playground")
    assert response.status_code == 308
    assert response.headers["location"] == "playground/"


def test_only_the_pages_files_are_public(keyed: httpx.Client) -> None:
    assert keyed.get("/playground/secret.txt").status_code == 401
    assert keyed.get("/voices").status_code == 401
    assert keyed.get("/voices", headers={"X-API-Key": KEY}).status_code == 200


def test_unknown_file_is_404_without_keys() -> None:
    app = create_app(Settings(parallel_steps=1), EngineRegistry([ToneEngine()]))
    with live_server(app) as base:
        response = httpx.get(f"http://{base}/playground/nothing.js")
    assert response.status_code == 404


def test_policy_lets_the_page_reach_only_its_own_server() -> None:
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "connect-src"):
        assert directives[name] == "'self'", name


def test_page_loads_nothing_from_elsewhere() -> None:
    # No CDN, no absolute URL: every reference is relative to the page.
    for name in FILES:
        text = (PLAYGROUND_DIR / name).read_text()
        absolute = re.search(r"(?:https?|wss?)://|[\"'(=]\s*//", text)
        assert absolute is None, f"{name}: {absolute.group() if absolute else ''}"


def test_every_file_ships_in_the_package() -> None:
    """pyproject's package-data globs cover each file of the page (a wheel would lack it)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        globs = tomllib.load(file)["tool"]["setuptools"]["package-data"]["ttsd"]
    on_disk = {p.name for p in PLAYGROUND_DIR.iterdir() if p.suffix in {".html", ".js", ".css"}}
    assert on_disk == set(FILES)
    for name in FILES:
        relative = f"server/playground/{name}"
        assert any(fnmatch.fnmatch(relative, glob) for glob in globs), relative
