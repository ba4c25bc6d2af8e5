"""The REST surface (docs/protocol.md §8): its routes and error handlers, for the app.

`GET /` lives in `app.py`; the endpoints in `rest_tts.py` and `rest_voices.py`.
"""

from __future__ import annotations

from starlette.routing import Route

from ttsd.server.http import EXCEPTION_HANDLERS, endpoint
from ttsd.server.rest_openai import models, openai_endpoint, speech, voices
from ttsd.server.rest_tts import tts_bytes, tts_sse
from ttsd.server.rest_voices import get_voice, list_voices

__all__ = ["EXCEPTION_HANDLERS", "rest_routes"]


def rest_routes() -> list[Route]:
    """The REST endpoints, for the app's route table."""
    return [
        Route("/tts/bytes", endpoint(tts_bytes), methods=["POST"]),
        Route("/tts/sse", endpoint(tts_sse), methods=["POST"]),
        Route("/voices", endpoint(list_voices), methods=["GET"]),
        Route("/voices/{voice_id}", endpoint(get_voice), methods=["GET"]),
        # OpenAI's speech API (rest_openai.py)
        Route("/v1/audio/speech", openai_endpoint(speech), methods=["POST"]),
        Route("/v1/audio/voices", openai_endpoint(voices), methods=["GET"]),
        Route("/v1/models", openai_endpoint(models), methods=["GET"]),
    ]
