"""Call ttsd's REST endpoints with whatever `cartesia` SDK this interpreter has.

    python tests/e2e/sdk_rest_scenarios.py 127.0.0.1:8420 OUT_DIR [CALLS]

The REST sibling of sdk_scenarios.py, for the same side interpreters (the SDKs 3.2.0 and
4.x): it needs only `cartesia` and the standard library (the tests import it for its texts,
without `cartesia`). Audio goes to files in OUT_DIR; one JSON object is printed:

    {"cartesia_version": "4.2.0",
     "runs": {"bytes_raw": {"result": {...}, "error": null}, ...}}

`error` is the exception a scenario raised (with its traceback), if any.

With CALLS, a JSON object `{"walks": {NAME: {voices.list's arguments}}, "gets": [VOICE_ID]}`,
it makes only these calls (tests/server/test_rest_voices.py, over a server of tone voices;
OUT_DIR is unused) and prints

    {"cartesia_version": "3.2.0", "walks": {NAME: RUN, ...}, "gets": {VOICE_ID: RUN, ...}}

where a walk's `result` is the ids the SDK's auto-pagination yields, a get's the voice's
`id`, `name`, `is_public` and `created_at`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

VOICE = "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"
RAW = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 22050}
WAV = {"container": "wav", "encoding": "pcm_s16le", "sample_rate": 22050}
MP3 = {"container": "mp3", "sample_rate": 44100, "bit_rate": 128000}
#: texts the e2e tests recognize (tests/e2e/speech.py)
COFFEE = "I would like a cup of coffee."
THANKS = "Thank you very much."
JOE = "Good morning, my name is Joe."
#: a listing that yields more voices than this has not ended
MAX_LISTED = 1000


def _run(scenario: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"result": scenario(), "error": None}
    except Exception:
        return {"result": None, "error": traceback.format_exc()}


def _write(out_dir: str, name: str, data: bytes) -> str:
    with open(os.path.join(out_dir, name), "wb") as file:
        file.write(data)
    return name


def _listed(voices: Any) -> list[str]:
    ids = []
    for voice in voices:
        ids.append(voice.id)
        if len(ids) > MAX_LISTED:
            raise RuntimeError(f"voices.list() did not end after {MAX_LISTED} voices")
    return ids


def _voice(voice: Any) -> dict[str, Any]:
    return {
        "id": voice.id,
        "name": voice.name,
        "is_public": voice.is_public,
        "created_at": voice.created_at.isoformat(),
    }


def voices(base: str, calls: dict[str, Any]) -> dict[str, Any]:
    """`calls` (see above) against `http://{base}`."""
    import cartesia

    client = cartesia.Cartesia(api_key="test", base_url=f"http://{base}", max_retries=0)
    try:
        walks = {
            name: _run(lambda params=params: _listed(client.voices.list(**params)))
            for name, params in calls.get("walks", {}).items()
        }
        gets = {
            voice_id: _run(lambda voice_id=voice_id: _voice(client.voices.get(voice_id)))
            for voice_id in calls.get("gets", [])
        }
    finally:
        client.close()
    return {"cartesia_version": cartesia.__version__, "walks": walks, "gets": gets}


def main(base: str, out_dir: str) -> dict[str, Any]:
    """Run every scenario against `http://{base}`; audio files go to `out_dir`."""
    import cartesia

    os.makedirs(out_dir, exist_ok=True)
    http = f"http://{base}"
    client = cartesia.Cartesia(api_key="test", base_url=http, max_retries=0)

    def bytes_raw() -> dict[str, Any]:
        # Deprecated in favour of `generate`, but what existing code calls.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            chunks = client.tts.bytes(
                model_id="sonic-3", transcript=COFFEE, voice=VOICE, output_format=RAW
            )
        return {"file": _write(out_dir, "bytes_raw.pcm", b"".join(chunks))}

    def generate_wav() -> dict[str, Any]:
        response = client.tts.generate(
            model_id="sonic-3",
            transcript=THANKS,
            voice={"mode": "id", "id": VOICE},
            output_format=WAV,
            language="en",
        )
        return {
            "file": _write(out_dir, "generate.wav", response.read()),
            "content_type": response.headers.get("content-type"),
        }

    def generate_mp3() -> dict[str, Any]:
        response = client.tts.generate(
            model_id="sonic-3", transcript=COFFEE, voice=VOICE, output_format=MP3
        )
        return {"file": _write(out_dir, "generate.mp3", response.read())}

    def sse() -> dict[str, Any]:
        events = []
        audio = b""
        words: list[str] = []
        stream = client.tts.sse(
            model_id="sonic-3",
            transcript=JOE,
            voice=VOICE,
            output_format=RAW,
            add_timestamps=True,
            context_id="sdk-sse",
        )
        # Closed explicitly: a stream left open after `break` is closed whenever the
        # garbage collector finds it, which can be inside httpcore's pool lock on a later
        # request, and then the SDK deadlocks (seen with 3.2.0).
        with stream:
            for event in stream:
                events.append(
                    {"type": event.type, "context_id": getattr(event, "context_id", None)}
                )
                if event.type == "chunk":
                    audio += event.audio or b""
                elif event.type == "timestamps":
                    words += event.word_timestamps.words
                elif event.type in ("done", "error"):
                    break
        return {"events": events, "words": words, "file": _write(out_dir, "sse.pcm", audio)}

    def voices_list() -> dict[str, Any]:
        return {
            "ids": _listed(client.voices.list()),
            "small_pages": _listed(client.voices.list(limit=1)),
        }

    def voices_get() -> dict[str, Any]:
        return _voice(client.voices.get("en_US-joe-medium"))

    def bad_request() -> dict[str, Any]:
        try:
            client.tts.generate(
                model_id="sonic-3",
                transcript="Hi.",
                voice=VOICE,
                output_format={"container": "mp3", "sample_rate": 44100, "bit_rate": 1},
            )
        except cartesia.APIStatusError as exc:
            return {"class": type(exc).__name__, "status_code": exc.status_code, "body": exc.body}
        raise AssertionError("no error for an invalid bit_rate")

    async def async_calls() -> dict[str, Any]:
        aclient = cartesia.AsyncCartesia(api_key="test", base_url=http, max_retries=0)
        try:
            response = await aclient.tts.generate(
                model_id="sonic-3", transcript=COFFEE, voice=VOICE, output_format=RAW
            )
            audio = await response.read()
            ids = [voice.id async for voice in aclient.voices.list(limit=1)]
        finally:
            await aclient.close()
        return {"file": _write(out_dir, "async_raw.pcm", audio), "ids": ids}

    runs = {
        "bytes_raw": _run(bytes_raw),
        "generate_wav": _run(generate_wav),
        "generate_mp3": _run(generate_mp3),
        "sse": _run(sse),
        "voices_list": _run(voices_list),
        "voices_get": _run(voices_get),
        "bad_request": _run(bad_request),
        "async": _run(lambda: asyncio.run(async_calls())),
    }
    client.close()
    return {"cartesia_version": cartesia.__version__, "runs": runs}


if __name__ == "__main__":
    import json

    if len(sys.argv) == 4:
        print(json.dumps(voices(sys.argv[1], json.loads(sys.argv[3]))))
    elif len(sys.argv) == 3:
        print(json.dumps(main(sys.argv[1], sys.argv[2])))
    else:
        sys.exit(f"usage: {sys.argv[0]} HOST:PORT OUT_DIR [CALLS]")
