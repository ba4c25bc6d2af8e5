"""`ttsd say` and `ttsd voices` in this process: the engines `ttsd serve` would run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ttsd.cli.output import AudioSink, OutputSpec
from ttsd.cli.problems import unknown_voice
from ttsd.protocol.limits import Limits
from ttsd.text.steps import speech_pieces

if TYPE_CHECKING:
    from ttsd.engines.base import VoiceInfo
    from ttsd.engines.registry import EngineRegistry


def speak_in_process(
    text: str,
    voice: str | None,
    speed: float | None,
    voices_dir: Path | None,
    spec: OutputSpec,
    sink: AudioSink,
    advance: Callable[[int], None],
) -> None:
    """Synthesize with the engine in this process, a sentence (or a step of a long one) at a
    time, as the server would (`speech_pieces`)."""
    from ttsd.engines.base import SynthesisOptions
    from ttsd.server.rendering import AudioRenderer

    registry = local_registry(voices_dir)
    info = local_voice(registry, voice)
    engine = registry.engine(info.engine)
    renderer = AudioRenderer(spec.pcm_encoding, spec.sample_rate)
    limits = Limits()
    pieces = speech_pieces(text, limits.max_step_chars, first_chars=limits.first_step_chars)
    for index, piece in enumerate(pieces):
        options = SynthesisOptions(speed=speed or 1.0, first_audio=index == 0)
        for chunk in engine.synthesize(piece, info.id, options):
            sink.write(renderer.render(chunk).audio)
        advance(len(piece))
    sink.write(renderer.finish().audio)


def local_voice(registry: EngineRegistry, voice: str | None) -> VoiceInfo:
    """`voice`, or the default voice when None; an unknown id is a usage error."""
    info = registry.voice(voice) if voice else registry.voices()[0]
    if info is None:
        raise unknown_voice(str(voice), [v.id for v in registry.voices()])
    return info


@functools.cache
def local_registry(voices_dir: Path | None) -> EngineRegistry:
    """The engines `ttsd serve` would run, built once per process."""
    from ttsd.server.app import build_registry
    from ttsd.server.settings import Settings

    # One step at a time here: one ONNX session per voice is enough.
    return build_registry(Settings(voices_dir=voices_dir, parallel_steps=1))
