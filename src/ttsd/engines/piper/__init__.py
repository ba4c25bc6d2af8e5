"""The Piper (VITS, ONNX) engine and its voices."""

from ttsd.engines.piper.engine import PiperEngine
from ttsd.engines.piper.voices import PiperVoiceFile, default_voice_file, discover_voices

__all__ = ["PiperEngine", "PiperVoiceFile", "default_voice_file", "discover_voices"]
