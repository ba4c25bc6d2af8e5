"""Client → server messages: parsing and validation (docs/protocol.md §2).

A frame is a generation request or a cancel request, told apart by shape (there is no
`type` field). Unknown fields are ignored; legacy fields are mapped onto current ones.
Validation errors become `ProtocolError`s whose message names the offending field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ttsd.protocol.errors import ErrorCode, ProtocolError, invalid_request
from ttsd.protocol.formats import SAMPLE_RATES, Container, Encoding
from ttsd.protocol.limits import Limits
from ttsd.protocol.shown import shown

#: Range of `max_buffer_delay_ms` (docs/protocol.md §9.3: the older [0, 1000] is superseded).
MAX_BUFFER_DELAY_RANGE_MS = (0, 5000)

#: `generation_config` ranges. Speed: the docs say 0.6–1.5, LiveKit documents up to 2.0
#: (docs/protocol.md §9.9); ttsd accepts the wider range so LiveKit users are not rejected.
SPEED_RANGE = (0.6, 2.0)
VOLUME_RANGE = (0.5, 2.0)

#: The deprecated `speed` enum mapped to a rate factor.
LEGACY_SPEEDS = {"slowest": 0.6, "slow": 0.8, "normal": 1.0, "fast": 1.25, "fastest": 1.5}

#: Code points a transcript may not hold, as one character class: one linear search at C
#: speed even over 20,000 characters. C0 controls except the whitespace ones (tab, LF, VT,
#: FF, CR and U+001C-U+001F are whitespace to `str.isspace`, and so to the segmenter in
#: ttsd/text/segmenter.py), DEL, C1 controls except NEL (U+0085, a line break), and
#: surrogates: a `str` holds one only unpaired (orjson already refuses "\ud800" as invalid
#: JSON, so this is the guard for callers that decode JSON some other way). A NUL used to
#: reach the engine and come back as a 500 "Synthesis failed" (issue 8).
_FORBIDDEN_IN_TEXT = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff]")


class Lenient(BaseModel):
    """Ignore unknown fields (newer clients send more), validate known ones strictly."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class RawOutputFormat(Lenient):
    """`output_format` on the WebSocket: raw PCM only (docs/protocol.md §2.1.2)."""

    container: str
    encoding: str
    sample_rate: int


class GenerationConfig(Lenient):
    """`generation_config` (sonic-3): speed and volume are applied; emotion is accepted."""

    speed: Annotated[float, Field(ge=SPEED_RANGE[0], le=SPEED_RANGE[1])] | None = None
    volume: Annotated[float, Field(ge=VOLUME_RANGE[0], le=VOLUME_RANGE[1])] | None = None
    emotion: str | list[str] | None = None


class VoiceObject(Lenient):
    """`voice` as an object: `{"mode": "id", "id": ...}`, `{"id": ...}` or an embedding."""

    mode: Literal["id", "embedding"] | None = None
    id: str | None = None
    embedding: list[float] | None = None
    experimental_controls: dict[str, Any] | None = Field(
        default=None, alias="__experimental_controls"
    )


class _GenerationModel(Lenient):
    model_id: Annotated[str, Field(min_length=1)]
    transcript: str
    # Validated by hand in `parse_voice`: a union error from pydantic would list both branches.
    voice: Any
    output_format: RawOutputFormat
    context_id: Annotated[str, Field(min_length=1)] | None = None
    continue_: bool | None = Field(default=None, alias="continue")
    flush: bool | None = None
    max_buffer_delay_ms: (
        Annotated[int, Field(ge=MAX_BUFFER_DELAY_RANGE_MS[0], le=MAX_BUFFER_DELAY_RANGE_MS[1])]
        | None
    ) = None
    add_timestamps: bool | None = None
    add_phoneme_timestamps: bool | None = None
    use_normalized_timestamps: bool | None = None
    use_original_timestamps: bool | None = None
    language: str | None = None
    generation_config: GenerationConfig | None = None
    speed: str | float | None = None
    duration: float | None = None
    pronunciation_dict_id: str | None = None


class _CancelModel(Lenient):
    context_id: Annotated[str, Field(min_length=1)]
    # A strict bool, not `Literal[True]`: the literal check lets 1 and 1.0 through (1 == True).
    cancel: bool

    @field_validator("cancel")
    @classmethod
    def _must_be_true(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("must be true")
        return value


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """A validated raw output format."""

    encoding: Encoding
    sample_rate: int


@dataclass(frozen=True, slots=True)
class Voice:
    """A requested voice: an id (possibly foreign, resolved later) or an embedding."""

    id: str | None
    embedding: tuple[float, ...] | None = None

    @property
    def key(self) -> str:
        """A string identifying the request's voice, for mid-context change checks."""
        return self.id if self.id is not None else f"embedding:{hash(self.embedding)}"


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """A validated generation request with legacy fields folded in."""

    model_id: str
    transcript: str
    voice: Voice
    output_format: OutputFormat
    context_id: str | None
    continue_: bool
    flush: bool
    max_buffer_delay_ms: int | None
    add_timestamps: bool
    add_phoneme_timestamps: bool
    use_normalized_timestamps: bool
    language: str | None
    speed: float | None
    volume: float | None


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """`{"context_id": ..., "cancel": true}` (docs/protocol.md §2.2)."""

    context_id: str


ClientMessage = GenerationRequest | CancelRequest


def parse_message(payload: Any, limits: Limits | None = None) -> ClientMessage:
    """Validate a decoded JSON value as a client message.

    Raises `ProtocolError` naming the field and the problem; its `context_id` is set
    whenever the payload carried a usable one, so the error can be attributed. An id
    longer than `limits.max_context_id_chars` is not usable: that error says `null`.
    """
    if not isinstance(payload, dict):
        raise ProtocolError(
            400,
            ErrorCode.INVALID_MESSAGE,
            "Invalid message",
            f"a message must be a JSON object, got {json_type_name(payload)}",
        )
    context_id = payload.get("context_id")
    # First, so that no error about another field echoes an over-long id.
    check_context_id(context_id, limits or Limits())
    attributed = context_id if isinstance(context_id, str) and context_id else None
    try:
        if "cancel" in payload:
            return CancelRequest(context_id=_CancelModel.model_validate(payload).context_id)
        return _to_request(_GenerationModel.model_validate(payload))
    except ValidationError as exc:
        raise invalid_request(describe_validation_error(exc)).for_context(attributed) from None
    except ProtocolError as exc:
        raise exc.for_context(attributed) from None


def check_context_id(context_id: object, limits: Limits) -> None:
    """Reject a `context_id` string longer than `limits.max_context_id_chars`.

    The error carries `context_id: null` and does not quote the id: clients match errors
    by exact id, and a cut echo would be an id the client never sent (or worse, the id of
    another live context that shares its first characters). Every id the server does echo
    is therefore at most `max_context_id_chars` long, in every frame (issue 8: one error
    frame used to echo a 64 KB id twice). Other types are left to the field validators.
    """
    if isinstance(context_id, str) and len(context_id) > limits.max_context_id_chars:
        raise invalid_request(
            f"`context_id`: has {len(context_id)} characters; the limit is "
            f"{limits.max_context_id_chars} (a UUID has 36)"
        )


def check_text(field: str, value: str) -> None:
    """Reject control characters and lone surrogates in speech text (400 naming `field`).

    The message gives the first offending code point as U+XXXX and its offset, so the
    sender can find it; whitespace controls (tab, newlines, U+001C-U+001F) pass.
    """
    match = _FORBIDDEN_IN_TEXT.search(value)
    if match is None:
        return
    code_point = ord(match.group())
    kind = "a lone surrogate" if 0xD800 <= code_point <= 0xDFFF else "a control character"
    raise invalid_request(
        f"`{field}`: U+{code_point:04X} at offset {match.start()} is {kind}; text to speak "
        "may hold no control characters other than whitespace (tab, newlines)"
    )


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One clause per problem: `` `field.path`: what is wrong ``."""
    problems = []
    for error in exc.errors(include_url=False):
        parts = [prefix] if prefix else []
        parts += [str(part) for part in error["loc"] if not _is_union_tag(part)]
        location = ".".join(parts)
        location = location.replace("continue_", "continue")
        problem = "field required" if error["type"] == "missing" else error["msg"]
        problems.append(f"`{location}`: {problem}" if location else problem)
    # pydantic reports each branch of a union; identical lines add nothing.
    return "; ".join(dict.fromkeys(problems))


def _is_union_tag(part: int | str) -> bool:
    # pydantic puts the union branch ("str", "VoiceObject", "function-after[...]") in locations.
    return isinstance(part, str) and (
        part in {"str", "int", "float", "bool", "list[str]", "VoiceObject", "GenerationConfig"}
        or part.startswith(("function-", "constrained-", "list["))
    )


def _to_request(model: _GenerationModel) -> GenerationRequest:
    check_text("transcript", model.transcript)
    config = model.generation_config
    return GenerationRequest(
        model_id=model.model_id,
        transcript=model.transcript,
        voice=parse_voice(model.voice),
        output_format=_to_output_format(model.output_format),
        context_id=model.context_id,
        continue_=bool(model.continue_),
        flush=bool(model.flush),
        max_buffer_delay_ms=model.max_buffer_delay_ms,
        add_timestamps=bool(model.add_timestamps),
        add_phoneme_timestamps=bool(model.add_phoneme_timestamps),
        use_normalized_timestamps=normalized_timestamps(
            model.use_normalized_timestamps, model.use_original_timestamps
        ),
        language=model.language,
        speed=resolve_speed(config, model.speed, model.voice),
        volume=config.volume if config else None,
    )


def parse_voice(raw: Any) -> Voice:
    """A `voice` field in any of its shapes, validated."""
    # Shapes of docs/protocol.md §2.1.1: a bare id, {"id"}, {"mode": "id", "id"}, or an embedding.
    if isinstance(raw, str):
        if not raw:
            raise invalid_request("`voice`: must not be empty")
        return Voice(id=raw)
    if not isinstance(raw, dict):
        raise invalid_request(
            '`voice`: must be a voice id string or an object like {"mode": "id", "id": "..."}'
        )
    try:
        voice = VoiceObject.model_validate(raw)
    except ValidationError as exc:
        raise invalid_request(describe_validation_error(exc, prefix="voice")) from None
    if voice.mode == "embedding" or (voice.mode is None and voice.embedding is not None):
        if not voice.embedding:
            raise invalid_request("`voice.embedding`: required when `voice.mode` is 'embedding'")
        return Voice(id=None, embedding=tuple(voice.embedding))
    if not voice.id:
        raise invalid_request("`voice.id`: required when `voice.mode` is 'id'")
    return Voice(id=voice.id)


def _to_output_format(fmt: RawOutputFormat) -> OutputFormat:
    if fmt.container != Container.RAW:
        raise unsupported_format(
            f"`output_format.container`: {shown(fmt.container)} is not supported on the WebSocket; "
            "use 'raw' (wav and mp3 are for POST /tts/bytes)"
        )
    return check_pcm_format(fmt.encoding, fmt.sample_rate)


def check_pcm_format(encoding: str, sample_rate: int) -> OutputFormat:
    """`output_format.encoding` and `.sample_rate` of a raw or wav format, validated."""
    if encoding not in Encoding.__members__.values():
        choices = ", ".join(e.value for e in Encoding)
        raise unsupported_format(
            f"`output_format.encoding`: {shown(encoding)} is not supported; use one of {choices}"
        )
    return OutputFormat(encoding=Encoding(encoding), sample_rate=check_sample_rate(sample_rate))


def check_sample_rate(sample_rate: int) -> int:
    """`output_format.sample_rate`, validated (every container)."""
    if sample_rate not in SAMPLE_RATES:
        choices = ", ".join(str(r) for r in SAMPLE_RATES)
        raise unsupported_format(
            f"`output_format.sample_rate`: {sample_rate} is not supported; use one of {choices}"
        )
    return sample_rate


def unsupported_format(message: str) -> ProtocolError:
    """A 400 for an output format ttsd cannot produce."""
    return ProtocolError(
        400, ErrorCode.UNSUPPORTED_OUTPUT_FORMAT, "Unsupported output format", message
    )


def normalized_timestamps(use_normalized: bool | None, use_original: bool | None) -> bool:
    """`use_normalized_timestamps`, or the inverse of its legacy twin, default false."""
    # `use_original_timestamps` is the legacy inverse (docs/protocol.md §2.1).
    if use_normalized is not None:
        return use_normalized
    if use_original is not None:
        return not use_original
    return False


def resolve_speed(
    config: GenerationConfig | None, speed: str | float | None, voice: Any
) -> float | None:
    """The rate factor a request asks for, from whichever speed field it uses (or None)."""
    # Most specific first: `generation_config.speed`, then the deprecated top-level
    # `speed`, then the 2024-11-13 `voice.__experimental_controls.speed` (docs/protocol.md §2.1.1).
    if config and config.speed is not None:
        return config.speed
    if speed is not None:
        return _speed_factor(speed, "speed")
    controls = voice.get("__experimental_controls") if isinstance(voice, dict) else None
    if isinstance(controls, dict) and controls.get("speed") is not None:
        return _speed_factor(controls["speed"], "voice.__experimental_controls.speed")
    return None


def _speed_factor(value: object, field: str) -> float:
    """A legacy speed (an enum name, or a number in [-1, 1] with 0 normal) as a rate factor."""
    if isinstance(value, str):
        if value not in LEGACY_SPEEDS:
            raise invalid_request(f"`{field}`: must be one of {sorted(LEGACY_SPEEDS)}")
        return LEGACY_SPEEDS[value]
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
        raise invalid_request(f"`{field}`: must be a number in [-1, 1] or a speed name")
    # -1 → slowest (0.6), 0 → normal, 1 → fastest (1.5)
    low, high = LEGACY_SPEEDS["slowest"], LEGACY_SPEEDS["fastest"]
    return 1.0 + value * ((1.0 - low) if value < 0 else (high - 1.0))


def json_type_name(value: Any) -> str:
    """How an error message names the JSON type of `value` ("an array", "null", ...)."""
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number"
