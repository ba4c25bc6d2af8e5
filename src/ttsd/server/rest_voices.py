"""`GET /voices` and `GET /voices/{id}` (docs/protocol.md §8.4, §8.5).

A voice's `created_at` is the Unix epoch: ttsd does not know when a voice was made, and a
file's mtime would say when it was installed, differ between identical deployments, and
change on every reinstall. The epoch is stable, parses everywhere, and reads as "unknown".
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ttsd.engines.base import VoiceInfo, primary_language
from ttsd.protocol.errors import ErrorCode, ProtocolError, invalid_request
from ttsd.protocol.rest import VoiceQuery, parse_voice_query
from ttsd.protocol.shown import shown
from ttsd.server.runtime import Runtime

#: `created_at` of every voice (see the module docstring).
VOICE_CREATED_AT: Final = "1970-01-01T00:00:00Z"


def voice_json(voice: VoiceInfo) -> dict[str, Any]:
    """A voice as the voice API describes it (docs/protocol.md §8.5), for SDK 3.x and 4.x.

    Every voice is installed on the server for every caller: public, owned by nobody.
    """
    return {
        "id": voice.id,
        "name": voice.name,
        "description": voice.description,
        "created_at": VOICE_CREATED_AT,
        "language": voice.language,
        "is_owner": False,
        "is_public": True,
        "gender": voice.gender,
        "country": voice.country,
        # 2026-08-14 (SDK 4.x) names
        "access": "public",
        "visibility": "all",
        "tagline": "",
        "accent": None,
        "locales": [{"locale": voice.locale, "is_native": True}],
        # ttsd's own
        "engine": voice.engine,
        "sample_rate": voice.sample_rate,
        "license": voice.license,
        "source": voice.source,
    }


def page_voices(voices: list[VoiceInfo], query: VoiceQuery) -> tuple[list[VoiceInfo], bool]:
    """The page `query` asks for, and whether more match beyond it (in its direction).

    Cursors are positions in the full list, so a filter may change between pages. A page
    after the last voice is empty: the SDKs page until they get one (docs/protocol.md §8.4).
    """
    candidates = voices
    if query.starting_after is not None:
        candidates = voices[_position(voices, "starting_after", query.starting_after) + 1 :]
    elif query.ending_before is not None:
        candidates = voices[: _position(voices, "ending_before", query.ending_before)]
    matching = [voice for voice in candidates if _matches(voice, query)]
    has_more = len(matching) > query.limit
    if query.ending_before is not None:
        return matching[-query.limit :] if has_more else matching, has_more
    return matching[: query.limit], has_more


def _position(voices: list[VoiceInfo], field: str, voice_id: str) -> int:
    for index, voice in enumerate(voices):
        if voice.id == voice_id:
            return index
    raise invalid_request(
        f"`{field}`: {shown(voice_id)} is not a voice id of this server; "
        "use the id of a voice from a previous page"
    )


def _matches(voice: VoiceInfo, query: VoiceQuery) -> bool:
    if query.q is not None:
        needle = query.q.lower()
        haystacks = (voice.id, voice.name, voice.description)
        if not any(needle in text.lower() for text in haystacks):
            return False
    if query.language is not None and primary_language(query.language) != voice.language:
        return False
    if query.gender is not None and voice.gender != query.gender:
        return False
    # Nobody owns a ttsd voice (see `voice_json`).
    return not query.is_owner


async def list_voices(request: Request, request_id: str) -> Response:
    """`GET /voices`: one page of voices (docs/protocol.md §8.4)."""
    runtime: Runtime = request.app.state.runtime
    query = parse_voice_query(request.query_params.multi_items())
    page, has_more = page_voices(runtime.registry.voices(), query)
    next_page = None
    if has_more and page:
        next_page = page[0].id if query.ending_before is not None else page[-1].id
    return JSONResponse(
        {"data": [voice_json(v) for v in page], "has_more": has_more, "next_page": next_page}
    )


async def get_voice(request: Request, request_id: str) -> Response:
    """`GET /voices/{id}`: one voice; an alias gives the voice it stands for."""
    runtime: Runtime = request.app.state.runtime
    voice_id = request.path_params["voice_id"]
    voice = runtime.registry.voice(voice_id)
    if voice is None:
        raise ProtocolError(
            404,
            ErrorCode.VOICE_NOT_FOUND,
            "Voice not found",
            f"`id`: {shown(voice_id)} is not a voice of this server; GET /voices lists them",
        )
    return JSONResponse(voice_json(voice))
