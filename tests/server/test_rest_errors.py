"""REST errors: JSON `{title, message, error_code, request_id, status_code}` with the right
HTTP status, sent before any audio, and the server serving on afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.checks import tone_bytes
from tests.support.live_server import live_server
from tests.support.rest import assert_error, tts_body
from tests.support.tone_engine import ToneEngine
from ttsd.engines.registry import EngineRegistry
from ttsd.protocol.limits import Limits
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

KEY = "k1"
MAX_BODY = 2000
MAX_CHARS = 300
ENDPOINTS = ["/tts/bytes", "/tts/sse"]


@pytest.fixture(scope="module")
def strict_server() -> Iterator[str]:
    """Strict voices, small limits."""
    settings = Settings(
        parallel_steps=2, limits=Limits(max_message_bytes=MAX_BODY, max_transcript_chars=MAX_CHARS)
    )
    registry = EngineRegistry([ToneEngine()], strict_voices=True)
    with live_server(create_app(settings, registry)) as base:
        yield base


@pytest.fixture(scope="module")
def http(strict_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{strict_server}", timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def _still_serves(http: httpx.Client) -> Iterator[None]:
    """After every error, the server still speaks."""
    yield
    response = http.post("/tts/bytes", json=tts_body("Still here."))
    assert response.status_code == 200 and len(response.content) == tone_bytes(2)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"transcript": ...}, "`transcript`: field required"),
        ({"model_id": 3}, "`model_id`"),
        ({"voice": []}, "`voice`"),
        ({"generation_config": {"speed": 9}}, "`generation_config.speed`"),
        ({"output_format": {"container": "raw", "sample_rate": 16000}}, "`output_format.encoding`"),
    ],
)
def test_bad_field_is_400_naming_it(
    http: httpx.Client, path: str, fields: dict[str, Any], mentions: str
) -> None:
    response = http.post(path, json=tts_body(**fields))
    assert_error(response, status=400, error_code="invalid_request", mentions=mentions)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_unknown_model(http: httpx.Client, path: str) -> None:
    response = http.post(path, json=tts_body(model_id="gpt-voice"))
    assert_error(response, status=400, error_code="model_not_found", mentions="'gpt-voice'")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_unknown_voice_with_strict_voices(http: httpx.Client, path: str) -> None:
    response = http.post(path, json=tts_body(voice="somebody-else"))
    assert_error(response, status=404, error_code="voice_not_found", mentions="'somebody-else'")


@pytest.mark.parametrize(
    ("fmt", "mentions"),
    [
        ({"container": "wav", "encoding": "pcm_s24le", "sample_rate": 16000}, "encoding"),
        ({"container": "wav", "encoding": "pcm_s16le", "sample_rate": 12345}, "sample_rate"),
        ({"container": "mp3", "sample_rate": 44100, "bit_rate": 100000}, "bit_rate"),
        ({"container": "flac", "encoding": "pcm_s16le", "sample_rate": 16000}, "container"),
    ],
)
def test_unsupported_format(http: httpx.Client, fmt: dict[str, Any], mentions: str) -> None:
    response = http.post("/tts/bytes", json=tts_body(output_format=fmt))
    assert_error(
        response,
        status=400,
        error_code="unsupported_output_format",
        mentions=f"`output_format.{mentions}`",
    )


@pytest.mark.parametrize("path", ENDPOINTS)
def test_transcript_too_long(http: httpx.Client, path: str) -> None:
    response = http.post(path, json=tts_body("a " * MAX_CHARS))
    body = assert_error(response, status=400, error_code="transcript_too_long")
    assert str(MAX_CHARS) in body["message"] and "`transcript`" in body["message"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_body_too_large(http: httpx.Client, path: str) -> None:
    body = tts_body(padding="x" * MAX_BODY)
    response = http.post(path, json=body)
    assert_error(response, status=413, error_code="message_too_large", mentions=str(MAX_BODY))


def test_body_too_large_without_a_length(http: httpx.Client) -> None:
    # Chunked upload: no Content-Length to check up front.
    def parts() -> Iterator[bytes]:
        yield b'{"transcript": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = http.post(
        "/tts/bytes", content=parts(), headers={"Content-Type": "application/json"}
    )
    assert_error(response, status=413, error_code="message_too_large")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_not_json(http: httpx.Client, path: str) -> None:
    response = http.post(
        path, content=b"{transcript: hi", headers={"Content-Type": "application/json"}
    )
    assert_error(response, status=400, error_code="invalid_json", mentions="not JSON")


def test_empty_body(http: httpx.Client) -> None:
    response = http.post("/tts/bytes", content=b"")
    assert_error(response, status=400, error_code="invalid_json", mentions="empty")


def test_other_media_type_is_415(http: httpx.Client) -> None:
    response = http.post("/tts/bytes", data={"transcript": "hi"})  # a form
    assert_error(response, status=415, error_code="invalid_json", mentions="application/json")


def test_json_without_the_content_type_is_fine(http: httpx.Client) -> None:
    # `curl -d '{...}'` labels JSON as a form: what counts is that it parses.
    response = http.post(
        "/tts/bytes",
        content=httpx.Request("POST", "/", json=tts_body("One two.")).content,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200 and len(response.content) == tone_bytes(2)


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"text"', b"null", b"5"])
def test_body_must_be_an_object(http: httpx.Client, payload: bytes) -> None:
    response = http.post("/tts/bytes", content=payload)
    assert_error(response, status=400, error_code="invalid_request", mentions="JSON object")


def test_synthesis_failure_before_audio_is_500(http: httpx.Client) -> None:
    response = http.post("/tts/bytes", json=tts_body("explode at once. Fine."))
    assert_error(response, status=500, error_code="synthesis_failed", mentions="exploded")


def test_unknown_path_is_json_404(http: httpx.Client) -> None:
    assert_error(
        http.get("/tts/nothing"), status=404, error_code="not_found", mentions="/tts/nothing"
    )


def test_wrong_method_is_json_405(http: httpx.Client) -> None:
    response = http.get("/tts/bytes")
    assert_error(response, status=405, error_code="method_not_allowed", mentions="GET")
    assert response.headers["allow"] == "POST"


def test_status_still_answers(http: httpx.Client) -> None:
    response = http.get("/")
    assert response.json()["ok"] is True and response.headers["x-request-id"]


# --- auth ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed() -> Iterator[str]:
    app = create_app(Settings(parallel_steps=2, api_keys=(KEY,)), EngineRegistry([ToneEngine()]))
    with live_server(app) as base:
        yield base


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/tts/bytes"), ("POST", "/tts/sse"), ("GET", "/voices"), ("GET", "/voices/tone-low")],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}], ids=["none", "wrong"])
def test_every_endpoint_needs_the_key(
    keyed: str, method: str, path: str, headers: dict[str, str]
) -> None:
    kwargs: dict[str, Any] = {"json": tts_body()} if method == "POST" else {}
    response = httpx.request(method, f"http://{keyed}{path}", headers=headers, **kwargs)
    assert_error(response, status=401, error_code="unauthorized")


@pytest.mark.parametrize(
    "headers", [{"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}], ids=["bearer", "x-api-key"]
)
def test_with_the_key(keyed: str, headers: dict[str, str]) -> None:
    response = httpx.post(f"http://{keyed}/tts/bytes", json=tts_body("One two."), headers=headers)
    assert response.status_code == 200 and len(response.content) == tone_bytes(2)
    assert httpx.get(f"http://{keyed}/voices", headers=headers).status_code == 200


# --- issue 8: control characters and long ids --------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_nul_in_the_transcript_is_400_naming_it(http: httpx.Client, path: str) -> None:
    # Before: the NUL reached the engine (Piper answered with a 500 "Synthesis failed").
    response = http.post(path, json=tts_body("One\u0000two."))
    assert_error(
        response,
        status=400,
        error_code="invalid_request",
        mentions="`transcript`: U+0000 at offset 3",
    )


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_lone_surrogate_is_invalid_json(http: httpx.Client, path: str) -> None:
    body = json.dumps(tts_body("One\ud800two.")).encode()  # json escapes it as \ud800
    assert b"\\ud800" in body
    response = http.post(path, content=body, headers={"Content-Type": "application/json"})
    assert_error(response, status=400, error_code="invalid_json")


def test_an_sse_context_id_over_the_limit_is_400_naming_it(http: httpx.Client) -> None:
    response = http.post("/tts/sse", json=tts_body(context_id="c" * 257))
    body = assert_error(response, status=400, error_code="invalid_request", mentions="`context_id`")
    assert "257 characters" in body["message"] and "c" * 257 not in body["message"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_language_the_voice_does_not_speak_is_a_400_naming_it(
    http: httpx.Client, path: str
) -> None:
    response = http.post(path, json=tts_body(language="fr"))
    assert_error(response, status=400, error_code="unsupported_language", mentions="`language`")
    response = http.post(path, json=tts_body(language="not a language"))
    assert_error(response, status=400, error_code="invalid_request", mentions="`language`")
    assert http.post(path, json=tts_body(language="en-US")).status_code == 200
