"""The engines a server runs, and how a request's `model_id` and `voice` map onto them.

docs/protocol.md §2.1.4: voice ids go through an alias table; a `sonic*` model
id means the engine of the voice asked for (the default engine for a voice ttsd does not
have), other ids name an engine; an unknown voice falls back to the engine's default
voice with one warning, unless strict voices are on.

Each voice speaks one language (issue 11): a request whose `language` is another gets a
400 naming `language`, the voice's language and the voices that speak the one asked for,
unless language fallback is on, which speaks the voice's own language and warns once.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from ttsd.engines.base import Engine, VoiceInfo, primary_language
from ttsd.protocol.errors import ErrorCode, ProtocolError
from ttsd.protocol.messages import Voice
from ttsd.protocol.resolver import Resolved, VoiceRequest
from ttsd.protocol.shown import shown

_LOGGER = logging.getLogger(__name__)

#: Cartesia model ids all start with this (sonic, sonic-2, sonic-3, sonic-latest, ...).
CARTESIA_MODEL_PREFIX = "sonic"

#: Unknown voice ids remembered so each warns once; the least recently seen are forgotten
#: beyond this, so clients inventing ids cannot grow the set without end (issue 8). A
#: forgotten id warns again, once, when it comes back.
WARNED_VOICES = 1024

#: What a `language` must look like: a BCP 47-ish tag ("en", "pt-BR", "zh_Hans").
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")


class EngineRegistry:
    """Engines by name, the first being the default; implements the protocol `Resolver`."""

    def __init__(
        self,
        engines: Sequence[Engine],
        *,
        aliases: Mapping[str, str] | None = None,
        strict_voices: bool = False,
        language_fallback: bool = False,
    ) -> None:
        if not engines:
            raise ValueError("a registry needs at least one engine")
        self._engines = {engine.name: engine for engine in engines}
        self._default = engines[0]
        self._aliases = dict(aliases or {})
        self._strict = strict_voices
        self._language_fallback = language_fallback
        self._voices: dict[str, VoiceInfo] = {}
        # LRU sets of what was warned about, each at most WARNED_VOICES long
        self._warned: OrderedDict[str, None] = OrderedDict()
        self._warned_languages: OrderedDict[str, None] = OrderedDict()
        for engine in engines:
            for voice in engine.voices():
                self._voices.setdefault(voice.id, voice)
        unknown = {
            alias: target for alias, target in self._aliases.items() if target not in self._voices
        }
        if unknown:
            raise ValueError(f"aliases point at voices that do not exist: {unknown}")

    @property
    def default_engine(self) -> Engine:
        """The engine `sonic*` model ids map to."""
        return self._default

    def engine(self, name: str) -> Engine:
        """The engine called `name` (KeyError if none)."""
        return self._engines[name]

    def load(self, *, preload: bool = False) -> None:
        """Load every engine's eager models (`preload`: every voice of every engine)."""
        for engine in self._engines.values():
            if preload:
                engine.preload()
            else:
                engine.load()

    def voices(self) -> list[VoiceInfo]:
        """Every voice of every engine, default engine's first."""
        return list(self._voices.values())

    def voice(self, voice_id: str) -> VoiceInfo | None:
        """The local voice `voice_id` means (directly or through an alias), or None."""
        return self._voices.get(self._aliases.get(voice_id, voice_id))

    def resolve(self, request: VoiceRequest) -> Resolved:
        """Map the request's model and voice to a local engine and voice, and check that
        the voice speaks the requested language."""
        engine = self._engine_for(request.model_id, request.voice)
        voice = self._voices[self._voice_for(engine, request.voice)]
        if request.language is not None:
            self._check_language(request.language, voice)
        return Resolved(engine=engine.name, voice_id=voice.id, language=voice.language)

    def _engine_for(self, model_id: str, voice: Voice) -> Engine:
        if model_id.startswith(CARTESIA_MODEL_PREFIX):
            # A Cartesia model id says nothing about engines: the voice chooses.
            local = self.voice(voice.id) if voice.id is not None else None
            return self._engines[local.engine] if local is not None else self._default
        engine = self._engines.get(model_id)
        if engine is None:
            names = ", ".join(sorted(self._engines))
            raise ProtocolError(
                400,
                ErrorCode.MODEL_NOT_FOUND,
                "Invalid model",
                f"`model_id`: {shown(model_id)} is not a model ttsd serves; use a 'sonic' id "
                f"(e.g. 'sonic-3', mapped to the default engine) or an engine name: {names}",
            )
        return engine

    def _voice_for(self, engine: Engine, voice: Voice) -> str:
        requested = voice.id if voice.id is not None else "(embedding)"
        local = self.voice(requested)
        if local is not None and local.engine == engine.name:
            return local.id
        if self._strict:
            raise ProtocolError(
                404,
                ErrorCode.VOICE_NOT_FOUND,
                "Voice not found",
                f"`voice`: {shown(requested)} is not a voice of engine {engine.name!r}; "
                "GET /voices lists them, or add an alias in the config file",
            )
        fallback = engine.voices()[0].id
        if _first_time(self._warned, requested):
            _LOGGER.warning(
                "unknown voice %s: using the default voice %r", shown(requested), fallback
            )
        return fallback

    def _check_language(self, language: str, voice: VoiceInfo) -> None:
        if not _LANGUAGE_CODE.fullmatch(language):
            raise ProtocolError(
                400,
                ErrorCode.INVALID_REQUEST,
                "Invalid language",
                f"`language`: {shown(language)} is not a language code (e.g. 'en', 'es', 'pt-BR')",
            )
        wanted = primary_language(language)
        if wanted == voice.language:
            return
        if self._language_fallback:
            if _first_time(self._warned_languages, f"{voice.id}:{wanted}"):
                _LOGGER.warning(
                    "voice %r does not speak %s: speaking %r (language fallback is on)",
                    voice.id,
                    shown(language),
                    voice.language,
                )
            return
        speakers = [v.id for v in self._voices.values() if v.language == wanted]
        hint = (
            f"voices that speak it: {', '.join(speakers[:8])}"
            if speakers
            else "no voice of this server speaks it"
        )
        raise ProtocolError(
            400,
            ErrorCode.UNSUPPORTED_LANGUAGE,
            "Unsupported language",
            f"`language`: voice {voice.id!r} speaks {voice.language!r}, not {shown(language)}; "
            f"{hint} (GET /voices?language={wanted})",
        )


def _first_time(seen: OrderedDict[str, None], key: str) -> bool:
    """Whether `key` is new to the LRU set `seen` (at most WARNED_VOICES long); remembers it."""
    if key in seen:
        seen.move_to_end(key)
        return False
    seen[key] = None
    if len(seen) > WARNED_VOICES:
        seen.popitem(last=False)
    return True
