"""Every message and request body the client sends, built in one place for both twins.

WebSocket messages repeat the context's fields on every message, in the official SDK's
order (docs/protocol.md §10.7): `context_id`, `model_id`, `transcript`, `voice`,
`output_format`, `continue`, then the optional fields that were set, then `flush`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ttsd.protocol.formats import Container, Encoding

DEFAULT_MODEL = "sonic-3"
#: Raw 16-bit PCM at 44.1 kHz: the WebSocket and SSE default.
DEFAULT_RAW_FORMAT: Mapping[str, Any] = {
    "container": Container.RAW.value,
    "encoding": Encoding.PCM_S16LE.value,
    "sample_rate": 44100,
}
#: A playable file: the `/tts/bytes` default.
DEFAULT_BYTES_FORMAT: Mapping[str, Any] = {
    "container": Container.WAV.value,
    "encoding": Encoding.PCM_S16LE.value,
    "sample_rate": 44100,
}

#: A voice: an id (sent as ``{"mode": "id", "id": ...}``) or a voice object as is.
VoiceSpec = str | Mapping[str, Any]

Message = dict[str, Any]


def voice_object(voice: VoiceSpec) -> Any:
    """A voice id becomes ``{"mode": "id", "id": voice}`` (every API version takes that)."""
    if isinstance(voice, str):
        if not voice:
            raise ValueError("voice: must not be empty")
        return {"mode": "id", "id": voice}
    if isinstance(voice, Mapping):
        return dict(voice)
    raise TypeError(f"voice: expected a voice id or a mapping, got {type(voice).__name__}")


@dataclass(frozen=True, kw_only=True)
class ContextOptions:
    """The fields a context repeats on every message (None: not sent)."""

    model_id: str = DEFAULT_MODEL
    voice: Any
    output_format: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_RAW_FORMAT))
    language: str | None = None
    add_timestamps: bool | None = None
    add_phoneme_timestamps: bool | None = None
    generation_config: Mapping[str, Any] | None = None
    max_buffer_delay_ms: int | None = None
    pronunciation_dict_id: str | None = None
    use_normalized_timestamps: bool | None = None

    @classmethod
    def create(
        cls,
        *,
        model_id: str,
        voice: VoiceSpec,
        output_format: Mapping[str, Any] | None,
        **optional: Any,
    ) -> ContextOptions:
        """Normalize the voice and default the output format."""
        return cls(
            model_id=model_id,
            voice=voice_object(voice),
            output_format=dict(output_format or DEFAULT_RAW_FORMAT),
            **optional,
        )

    def optional_fields(self) -> Message:
        """The optional fields that are set, in wire order."""
        names = (
            "language",
            "add_timestamps",
            "add_phoneme_timestamps",
            "generation_config",
            "max_buffer_delay_ms",
            "pronunciation_dict_id",
            "use_normalized_timestamps",
        )
        fields: Message = {}
        for name in names:
            value = getattr(self, name)
            if value is not None:
                fields[name] = dict(value) if isinstance(value, Mapping) else value
        return fields


def generation_message(
    context_id: str,
    options: ContextOptions,
    transcript: str,
    *,
    continue_: bool,
    flush: bool = False,
) -> Message:
    """A generation request for `context_id` (`flush` adds ``"flush": true``)."""
    message: Message = {
        "context_id": context_id,
        "model_id": options.model_id,
        "transcript": transcript,
        "voice": _copy(options.voice),
        "output_format": dict(options.output_format),
        "continue": continue_,
    }
    message.update(options.optional_fields())
    if flush:
        message["flush"] = True
    return message


def push_message(context_id: str, options: ContextOptions, text: str, *, flush: bool) -> Message:
    """`ctx.push(text, flush=...)`: text with ``continue: true`` (and ``flush: true``)."""
    return generation_message(context_id, options, text, continue_=True, flush=flush)


def flush_message(context_id: str, options: ContextOptions) -> Message:
    """`ctx.flush()`: an empty transcript with ``continue: true, flush: true``."""
    return generation_message(context_id, options, "", continue_=True, flush=True)


def end_message(context_id: str, options: ContextOptions) -> Message:
    """`ctx.no_more_inputs()`: an empty transcript with ``continue: false``."""
    return generation_message(context_id, options, "", continue_=False)


def cancel_message(context_id: str) -> Message:
    """`ctx.cancel()`."""
    return {"context_id": context_id, "cancel": True}


def bytes_body(
    *,
    model_id: str,
    transcript: str,
    voice: VoiceSpec,
    output_format: Mapping[str, Any] | None,
    language: str | None,
    generation_config: Mapping[str, Any] | None,
) -> Message:
    """The JSON body of `POST /tts/bytes` (default output: a 16-bit WAV file)."""
    body: Message = {
        "model_id": model_id,
        "transcript": transcript,
        "voice": voice_object(voice),
        "output_format": dict(output_format or DEFAULT_BYTES_FORMAT),
    }
    if language is not None:
        body["language"] = language
    if generation_config is not None:
        body["generation_config"] = dict(generation_config)
    return body


def sse_body(
    *,
    model_id: str,
    transcript: str,
    voice: VoiceSpec,
    output_format: Mapping[str, Any] | None,
    language: str | None,
    generation_config: Mapping[str, Any] | None,
    add_timestamps: bool | None,
    add_phoneme_timestamps: bool | None,
    use_normalized_timestamps: bool | None,
    context_id: str | None,
) -> Message:
    """The JSON body of `POST /tts/sse` (raw output; default 16-bit PCM at 44.1 kHz)."""
    body = bytes_body(
        model_id=model_id,
        transcript=transcript,
        voice=voice,
        output_format=output_format or DEFAULT_RAW_FORMAT,
        language=language,
        generation_config=generation_config,
    )
    optional = {
        "add_timestamps": add_timestamps,
        "add_phoneme_timestamps": add_phoneme_timestamps,
        "use_normalized_timestamps": use_normalized_timestamps,
        "context_id": context_id,
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    return body


def voices_params(
    *,
    limit: int | None,
    starting_after: str | None,
    ending_before: str | None,
    q: str | None,
    language: str | None,
    gender: str | None,
) -> dict[str, str]:
    """Query parameters of `GET /voices` (only those that are set)."""
    values: dict[str, Any] = {
        "limit": limit,
        "starting_after": starting_after,
        "ending_before": ending_before,
        "q": q,
        "language": language,
        "gender": gender,
    }
    return {name: str(value) for name, value in values.items() if value is not None}


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value
