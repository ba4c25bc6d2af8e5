"""ttsd: a self-hosted streaming text-to-speech server speaking the Cartesia TTS protocol."""

__version__ = "0.1.0"

__all__ = ["__version__"]
