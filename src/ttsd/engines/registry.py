"""The engines a server runs, and how a request's `model_id` and `voice` map onto them.

design.md "models" and "voices": any `sonic*` model id means the default engine, other
ids name an engine; voice ids go through an alias table, and an unknown voice falls
back to the default voice with one warning, unless strict voices are on.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from ttsd.engines.base import Engine, VoiceInfo
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


class EngineRegistry:
    """Engines by name, the first being the default; implements the protocol `Resolver`."""

    def __init__(
        self,
        engines: Sequence[Engine],
        *,
        aliases: Mapping[str, str] | None = None,
        strict_voices: bool = False,
    ) -> None:
        if not engines:
            raise ValueError("a registry needs at least one engine")
        self._engines = {engine.name: engine for engine in engines}
        self._default = engines[0]
        self._aliases = dict(aliases or {})
        self._strict = strict_voices
        self._voices: dict[str, VoiceInfo] = {}
        self._warned: OrderedDict[str, None] = OrderedDict()  # an LRU set: WARNED_VOICES
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

    def load(self) -> None:
        """Load every engine's eager models."""
        for engine in self._engines.values():
            engine.load()

    def voices(self) -> list[VoiceInfo]:
        """Every voice of every engine, default engine's first."""
        return list(self._voices.values())

    def voice(self, voice_id: str) -> VoiceInfo | None:
        """The local voice `voice_id` means (directly or through an alias), or None."""
        return self._voices.get(self._aliases.get(voice_id, voice_id))

    def resolve(self, request: VoiceRequest) -> Resolved:
        """Map the request's model and voice to a local engine and voice."""
        engine = self._engine_for_model(request.model_id)
        return Resolved(engine=engine.name, voice_id=self._voice_for(engine, request.voice))

    def _engine_for_model(self, model_id: str) -> Engine:
        if model_id.startswith(CARTESIA_MODEL_PREFIX):
            return self._default
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
        if requested in self._warned:
            self._warned.move_to_end(requested)
        else:
            self._warned[requested] = None
            if len(self._warned) > WARNED_VOICES:
                self._warned.popitem(last=False)
            _LOGGER.warning(
                "unknown voice %s: using the default voice %r", shown(requested), fallback
            )
        return fallback
