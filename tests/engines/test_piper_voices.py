"""Voice discovery from the default package and a voices directory."""

import json
import shutil
from pathlib import Path

import pytest

from ttsd.engines.piper.voices import PiperVoiceFile, default_voice_file, discover_voices


def test_the_default_voice_ships_in_a_package() -> None:
    voice = default_voice_file()
    assert voice.id == "en_US-joe-medium"
    assert voice.model_path.is_file() and voice.config_path.is_file()
    assert (voice.language, voice.country, voice.sample_rate) == ("en", "US", 22050)


def test_a_voices_directory_gives_stable_ids_and_skips_broken_voices(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    default = default_voice_file()
    # a second voice: the same model under another name (symlink: no 60 MB copy)
    (tmp_path / "en_GB-test-low.onnx").symlink_to(default.model_path)
    config = json.loads(default.config_path.read_text())
    config["dataset"] = "test"
    (tmp_path / "en_GB-test-low.onnx.json").write_text(json.dumps(config))
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    (tmp_path / "broken.onnx.json").write_text("{")
    (tmp_path / "no-config.onnx").write_bytes(b"")
    voices = discover_voices(tmp_path)
    assert [v.id for v in voices] == ["en_GB-test-low"]
    assert voices[0].name.startswith("Test")
    assert "broken" in caplog.text and "no-config" in caplog.text


def test_a_missing_voices_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        discover_voices(tmp_path / "nope")


def test_reading_a_voice_needs_its_config(tmp_path: Path) -> None:
    shutil.copy(default_voice_file().config_path, tmp_path / "x.onnx.json")
    (tmp_path / "x.onnx").write_bytes(b"")
    assert PiperVoiceFile.from_model_path(tmp_path / "x.onnx").sample_rate == 22050
    with pytest.raises(ValueError):
        PiperVoiceFile.from_model_path(tmp_path / "y.onnx")


@pytest.mark.parametrize(
    ("card", "license", "in_source"),
    [
        ("* License: MIT\n", "MIT", ""),
        (
            "## Dataset\n* URL: https://example.org/data\n* License: CC-BY-4.0\n"
            "## Training\nFinetuned from U.S. English lessac voice.\n",
            "CC-BY-4.0 (fine-tuned from lessac, whose training data is licensed for research only)",
            "https://example.org/data",
        ),
        (None, "", "Piper voice en_GB-test-low"),
    ],
)
def test_a_voice_states_the_licence_and_source_of_its_model_card(
    tmp_path: Path, card: str | None, license: str, in_source: str
) -> None:
    default = default_voice_file()
    (tmp_path / "en_GB-test-low.onnx").symlink_to(default.model_path)
    shutil.copy(default.config_path, tmp_path / "en_GB-test-low.onnx.json")
    if card is not None:  # where `ttsd voices download` saves it
        (tmp_path / "en_GB-test-low.onnx.MODEL_CARD").write_text(card)
    voice = PiperVoiceFile.from_model_path(tmp_path / "en_GB-test-low.onnx")
    assert voice.license == license
    assert in_source in voice.source
