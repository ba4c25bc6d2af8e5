"""The official `cartesia` SDK's REST calls against ttsd with the real voice:
`tts.bytes` / `tts.generate` (raw, wav, mp3), `tts.sse`, `voices.list` (its
auto-pagination must end), `voices.get`, and an API error.

SDK 3.2.0 and the newest 4.x each run tests/e2e/sdk_rest_scenarios.py in a venv of its own,
named by TTSD_SDK3_PYTHON and TTSD_SDK4_PYTHON (skipped if unset, failed if unset under CI,
as in test_cartesia_sdk.py). Both give the same results, checked by the same tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e import sdk_rest_scenarios
from tests.e2e.side_venv import run_sdk_scenarios
from tests.e2e.speech import NATIVE_RATE, served_voice_ids
from tests.support.asr import assert_recognized, assert_speech_like, normalize_words
from tests.support.mp3 import parse_frames
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import Encoding

pytestmark = pytest.mark.e2e

SCRIPT = Path(sdk_rest_scenarios.__file__)
MIN_RECALL = 0.6
#: the voice ttsd serves by default (the SDK asks for a Cartesia id; ttsd falls back)
DEFAULT_VOICE = "en_US-joe-medium"

Results = dict[str, Any]


def _scenarios(major: int, base: str, tmp_path_factory: pytest.TempPathFactory) -> Results:
    """The scenarios with `$TTSD_SDK{major}_PYTHON`, with a deadline: a listing that never
    ends must fail, not hang (the script also stops one after 1000 voices)."""
    out_dir = tmp_path_factory.mktemp(f"sdk{major}-rest")
    results = run_sdk_scenarios(major, SCRIPT, base, out_dir, timeout=120)
    results["dir"] = out_dir
    return results


@pytest.fixture(scope="module")
def sdk3(piper_server: str, tmp_path_factory: pytest.TempPathFactory) -> Results:
    """The scenarios with `$TTSD_SDK3_PYTHON` (the seed's 3.2.0)."""
    return _scenarios(3, piper_server, tmp_path_factory)


@pytest.fixture(scope="module")
def sdk4(piper_server: str, tmp_path_factory: pytest.TempPathFactory) -> Results:
    """The scenarios with `$TTSD_SDK4_PYTHON` (the newest 4.x)."""
    return _scenarios(4, piper_server, tmp_path_factory)


@pytest.fixture(params=["sdk3", pytest.param("sdk4", marks=pytest.mark.sdk4)])
def results(request: pytest.FixtureRequest) -> Results:
    found: Results = request.getfixturevalue(request.param)
    return found


def run(results: Results, name: str) -> dict[str, Any]:
    """A scenario's result, failing with its traceback if it raised."""
    outcome = results["runs"][name]
    assert outcome["error"] is None, outcome["error"]
    result: dict[str, Any] = outcome["result"]
    return result


def pcm_of(results: Results, name: str) -> Any:
    return decode((results["dir"] / run(results, name)["file"]).read_bytes(), Encoding.PCM_S16LE)


def test_bytes_raw(results: Results) -> None:
    pcm = pcm_of(results, "bytes_raw")
    assert_speech_like(pcm, NATIVE_RATE, sdk_rest_scenarios.COFFEE)
    assert_recognized(pcm, NATIVE_RATE, sdk_rest_scenarios.COFFEE, min_recall=MIN_RECALL)


def test_generate_wav(results: Results) -> None:
    result = run(results, "generate_wav")
    assert result["content_type"] == "audio/wav"
    data = (results["dir"] / result["file"]).read_bytes()
    assert data[:4] == b"RIFF" and data[36:40] == b"data"
    pcm = decode(data[44:], Encoding.PCM_S16LE)
    assert_recognized(pcm, NATIVE_RATE, sdk_rest_scenarios.THANKS, min_recall=MIN_RECALL)


def test_generate_mp3(results: Results) -> None:
    data = (results["dir"] / run(results, "generate_mp3")["file"]).read_bytes()
    frames = parse_frames(data)
    assert {(f.sample_rate, f.bit_rate) for f in frames} == {(44100, 128000)}
    # The same sentence as raw: about as long (Piper samples durations, hence 20%).
    mp3_seconds = sum(f.samples for f in frames) / 44100
    raw_seconds = len(pcm_of(results, "bytes_raw")) / NATIVE_RATE
    assert abs(mp3_seconds / raw_seconds - 1) < 0.2, (mp3_seconds, raw_seconds)


def test_sse(results: Results) -> None:
    result = run(results, "sse")
    types = [event["type"] for event in result["events"]]
    assert types[0] == "timestamps" and types[-1] == "done" and "chunk" in types
    assert {event["context_id"] for event in result["events"]} == {"sdk-sse"}
    expected = sdk_rest_scenarios.JOE
    assert [normalize_words(w) for w in result["words"]] == [
        normalize_words(w) for w in expected.split()
    ]
    pcm = decode((results["dir"] / result["file"]).read_bytes(), Encoding.PCM_S16LE)
    assert_recognized(pcm, NATIVE_RATE, expected, min_recall=MIN_RECALL)


def test_voices_list_ends(results: Results) -> None:
    # With limit 1 the SDK asks for a page after the last voice: it must be empty.
    result = run(results, "voices_list")
    assert result["ids"] == served_voice_ids()
    assert result["small_pages"] == served_voice_ids()


def test_voices_get(results: Results) -> None:
    result = run(results, "voices_get")
    assert result["id"] == DEFAULT_VOICE and "Joe" in result["name"]
    assert result["created_at"].startswith("1970-01-01")


def test_api_error_raises(results: Results) -> None:
    result = run(results, "bad_request")
    assert (result["class"], result["status_code"]) == ("BadRequestError", 400)
    assert result["body"]["error_code"] == "unsupported_output_format"
    assert "`output_format.bit_rate`" in result["body"]["message"]


def test_async_client(results: Results) -> None:
    result = run(results, "async")
    assert result["ids"] == served_voice_ids()
    pcm = decode((results["dir"] / result["file"]).read_bytes(), Encoding.PCM_S16LE)
    assert_recognized(pcm, NATIVE_RATE, sdk_rest_scenarios.COFFEE, min_recall=MIN_RECALL)
