"""ttsd: a self-hosted streaming text-to-speech server speaking the Cartesia TTS protocol.

`ttsd.Client` and `ttsd.AsyncClient` are the Python SDK (`ttsd.client`); they are
imported on first use, so the server and the sans-I/O layers do not load the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["AsyncClient", "Client", "__version__"]

if TYPE_CHECKING:
    from ttsd.client import AsyncClient, Client


def __getattr__(name: str) -> Any:
    if name in ("Client", "AsyncClient"):
        import ttsd.client

        return getattr(ttsd.client, name)
    raise AttributeError(f"module 'ttsd' has no attribute {name!r}")
