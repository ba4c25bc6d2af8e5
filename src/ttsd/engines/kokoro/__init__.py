"""The Kokoro-82M engine (`pip install 'ttsd[kokoro]'`): see engine.py."""

from ttsd.engines.kokoro.engine import KokoroEngine

__all__ = ["KokoroEngine"]
