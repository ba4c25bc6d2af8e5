"""`GET /voices` and `GET /voices/{id}` over a 25-voice tone engine: cursor paging in both
directions down to the empty page, limits, filters, aliases, and the official SDK (the
seed's 3.2.0, in the venv named by TTSD_SDK3_PYTHON: tests/e2e/side_venv.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import sdk_rest_scenarios
from tests.e2e.side_venv import run_sdk_scenarios
from tests.support.live_server import live_server
from tests.support.rest import assert_error
from tests.support.tone_voices import ManyTonesEngine, many_voices
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

COUNT = 25
IDS = [voice.id for voice in many_voices(COUNT)]
ALIAS = "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"

#: what the SDKs require of a voice (3.x and 4.x)
REQUIRED = {"id", "name", "description", "created_at", "language", "is_owner", "is_public"}
REQUIRED_4X = {"access", "visibility", "locales", "tagline"}


@pytest.fixture(scope="module")
def voices_server() -> Iterator[str]:
    registry = EngineRegistry([ManyTonesEngine(COUNT)], aliases={ALIAS: "tone-07"})
    with live_server(create_app(Settings(parallel_steps=1), registry)) as base:
        yield base


@pytest.fixture(scope="module")
def http(voices_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{voices_server}", timeout=30) as client:
        yield client


def page(http: httpx.Client, **params: Any) -> dict[str, Any]:
    response = http.get("/voices", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"data", "has_more", "next_page"}
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [voice["id"] for voice in body["data"]]


# --- the voice object ----------------------------------------------------------------------


def test_voice_object(http: httpx.Client) -> None:
    voice = page(http, limit=2)["data"][1]
    assert set(voice) >= REQUIRED | REQUIRED_4X | {"gender", "country"}
    assert voice["id"] == "tone-01"
    assert voice["name"] == "Plain tone 1"
    assert voice["description"] == "Test voice number 1"
    assert voice["language"] == "de"
    assert voice["gender"] == "masculine"
    assert voice["country"] == "US"
    assert voice["locales"] == [{"locale": "de-US", "is_native": True}]
    assert voice["is_owner"] is False and voice["is_public"] is True
    assert (voice["access"], voice["visibility"]) == ("public", "all")
    assert voice["engine"] == "tones" and voice["sample_rate"] == 16000
    # ISO-8601, and the same on every call (clients may cache listings).
    datetime.fromisoformat(voice["created_at"].replace("Z", "+00:00"))
    assert page(http, limit=2)["data"][1]["created_at"] == voice["created_at"]


def test_get_one_voice(http: httpx.Client) -> None:
    listed = page(http, limit=100)["data"][12]
    response = http.get("/voices/tone-12")
    assert response.status_code == 200
    assert response.json() == listed


def test_get_an_alias_gives_its_voice(http: httpx.Client) -> None:
    assert http.get(f"/voices/{ALIAS}").json()["id"] == "tone-07"


def test_aliases_are_not_listed(http: httpx.Client) -> None:
    assert ALIAS not in ids(page(http, limit=100))


def test_get_unknown_voice_is_404(http: httpx.Client) -> None:
    response = http.get("/voices/no-such-voice")
    assert_error(response, status=404, error_code="voice_not_found", mentions="no-such-voice")


# --- paging --------------------------------------------------------------------------------


def test_default_page_is_ten(http: httpx.Client) -> None:
    body = page(http)
    assert ids(body) == IDS[:10]
    assert body["has_more"] is True and body["next_page"] == "tone-09"


def test_walk_forward_to_the_empty_page(http: httpx.Client) -> None:
    seen: list[str] = []
    pages = []
    cursor: dict[str, Any] = {}
    for _ in range(10):
        body = page(http, limit=10, **cursor)
        pages.append((len(body["data"]), body["has_more"], body["next_page"]))
        if not body["data"]:
            break
        seen += ids(body)
        cursor = {"starting_after": ids(body)[-1]}
    assert seen == IDS
    assert pages == [
        (10, True, "tone-09"),
        (10, True, "tone-19"),
        (5, False, None),
        (0, False, None),
    ]


def test_walk_backward_to_the_empty_page(http: httpx.Client) -> None:
    seen: list[str] = []
    cursor = IDS[-1]
    sizes = []
    for _ in range(10):
        body = page(http, limit=10, ending_before=cursor)
        sizes.append((len(body["data"]), body["has_more"]))
        if not body["data"]:
            break
        seen = ids(body) + seen
        cursor = ids(body)[0]
    assert seen == IDS[:-1]
    assert sizes == [(10, True), (10, True), (4, False), (0, False)]


def test_backward_page_is_in_list_order_with_a_cursor(http: httpx.Client) -> None:
    body = page(http, limit=3, ending_before="tone-10")
    assert ids(body) == ["tone-07", "tone-08", "tone-09"]
    assert body["has_more"] is True and body["next_page"] == "tone-07"


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_edges(http: httpx.Client, limit: int) -> None:
    body = page(http, limit=limit)
    assert ids(body) == IDS[:limit]
    assert body["has_more"] is (limit < COUNT)


@pytest.mark.parametrize("limit", ["0", "101", "-5", "many"])
def test_limit_out_of_range(http: httpx.Client, limit: str) -> None:
    response = http.get("/voices", params={"limit": limit})
    assert_error(response, status=400, error_code="invalid_request", mentions="`limit`")


@pytest.mark.parametrize("cursor", ["starting_after", "ending_before"])
def test_unknown_cursor(http: httpx.Client, cursor: str) -> None:
    response = http.get("/voices", params={cursor: "nope"})
    assert_error(response, status=400, error_code="invalid_request", mentions=f"`{cursor}`")


def test_two_cursors(http: httpx.Client) -> None:
    response = http.get("/voices", params={"starting_after": "tone-01", "ending_before": "tone-05"})
    assert_error(response, status=400, error_code="invalid_request", mentions="`ending_before`")


# --- filters -------------------------------------------------------------------------------


def test_q_matches_name_id_and_description_case_insensitively(http: httpx.Client) -> None:
    assert ids(page(http, q="bRiGhT", limit=100)) == [
        "tone-00",
        "tone-05",
        "tone-10",
        "tone-15",
        "tone-20",
    ]
    assert ids(page(http, q="tone-2", limit=100)) == IDS[20:]
    assert ids(page(http, q="number 13", limit=100)) == ["tone-13"]
    assert ids(page(http, q="nothing like it")) == []


def test_language_filter(http: httpx.Client) -> None:
    assert ids(page(http, language="fr", limit=100)) == IDS[2::3]
    assert ids(page(http, language="de-DE", limit=100)) == IDS[1::3]


def test_gender_filter(http: httpx.Client) -> None:
    assert ids(page(http, gender="feminine", limit=100)) == IDS[0::3]
    assert ids(page(http, gender="gender_neutral")) == []
    response = http.get("/voices", params={"gender": "robot"})
    assert_error(response, status=400, error_code="invalid_request", mentions="`gender`")


def test_is_owner_filter(http: httpx.Client) -> None:
    assert ids(page(http, is_owner="true")) == []
    assert ids(page(http, is_owner="false", limit=100)) == IDS


def test_filters_page_with_cursors(http: httpx.Client) -> None:
    first = page(http, language="en", limit=3)
    assert ids(first) == ["tone-00", "tone-03", "tone-06"] and first["has_more"]
    second = page(http, language="en", limit=3, starting_after="tone-06")
    assert ids(second) == ["tone-09", "tone-12", "tone-15"]
    last = page(http, language="en", limit=100, starting_after="tone-24")
    assert ids(last) == [] and last["has_more"] is False


def test_expand_is_accepted(http: httpx.Client) -> None:
    response = http.get("/voices?expand[]=preview_file_url&expand=preview_file_url&limit=1")
    assert response.status_code == 200 and len(response.json()["data"]) == 1


# --- the official SDK ----------------------------------------------------------------------


#: `voices.list(**params)` walks, by name, and the voices got (sdk_rest_scenarios.py, CALLS)
SDK_CALLS = {
    "walks": {
        "limit 7": {"limit": 7},
        "limit 25": {"limit": 25},
        "limit 100": {"limit": 100},
        "bright": {"q": "bright", "limit": 2},
    },
    "gets": ["tone-03"],
}


@pytest.fixture(scope="module")
def sdk(voices_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every call of SDK_CALLS, made by the SDK 3.2.0 in its own venv. The SDK pages until
    it gets an empty page; a server that never gives one loops it forever, so the script
    stops a walk after 1000 voices and the run has a deadline."""
    return run_sdk_scenarios(
        3,
        Path(sdk_rest_scenarios.__file__),
        voices_server,
        tmp_path_factory.mktemp("sdk3-voices"),
        timeout=120,
        args=[json.dumps(SDK_CALLS)],
    )


def _outcome(run: dict[str, Any]) -> Any:
    """A call's result, failing with its traceback if it raised."""
    assert run["error"] is None, run["error"]
    return run["result"]


@pytest.mark.parametrize("limit", [7, 25, 100])
def test_sdk_auto_pagination_ends(sdk: dict[str, Any], limit: int) -> None:
    assert _outcome(sdk["walks"][f"limit {limit}"]) == IDS


def test_sdk_filters_and_get(sdk: dict[str, Any]) -> None:
    walked = _outcome(sdk["walks"]["bright"])
    assert walked == ["tone-00", "tone-05", "tone-10", "tone-15", "tone-20"]
    voice = _outcome(sdk["gets"]["tone-03"])
    assert (voice["id"], voice["name"], voice["is_public"]) == ("tone-03", "Plain tone 3", True)
    assert datetime.fromisoformat(voice["created_at"]).year == 1970
