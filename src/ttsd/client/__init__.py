"""The ttsd Python SDK: `Client` and `AsyncClient`, twins over shared code.

    import ttsd

    client = ttsd.Client()  # $TTSD_BASE_URL or http://127.0.0.1:8420, $TTSD_API_KEY
    with client.tts.websocket_connect() as ws:
        ctx = ws.context(voice="en_US-joe-medium")
        ctx.push("Hello there. ")
        ctx.no_more_inputs()
        for response in ctx.receive():
            if response.type == "chunk":
                play(response.audio)

It speaks the Cartesia TTS API (WebSocket, `/tts/bytes`, `/tts/sse`, `/voices`), so it
also works against other compatible servers. Only the standard library, httpx and
websockets are needed: importing it loads none of the server.
"""

from ttsd.client._async import (
    AsyncAudioStream,
    AsyncClient,
    AsyncContext,
    AsyncEventStream,
    AsyncTTS,
    AsyncVoices,
    AsyncWebSocket,
)
from ttsd.client._sync import TTS, AudioStream, Client, Context, EventStream, Voices, WebSocket
from ttsd.client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConnectError,
    ConnectionClosedError,
    ContextLostError,
    InputClosedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReceiveTimeoutError,
    ServerError,
    TransportError,
    TtsdError,
)
from ttsd.client.types import (
    Chunk,
    Done,
    Error,
    FlushDone,
    PhonemeTimestamps,
    PhonemeTimings,
    Response,
    Timestamps,
    Voice,
    WordTimings,
)

__all__ = [
    "TTS",
    "APIError",
    "AsyncAudioStream",
    "AsyncClient",
    "AsyncContext",
    "AsyncEventStream",
    "AsyncTTS",
    "AsyncVoices",
    "AsyncWebSocket",
    "AudioStream",
    "AuthenticationError",
    "BadRequestError",
    "Chunk",
    "Client",
    "ConnectError",
    "ConnectionClosedError",
    "Context",
    "ContextLostError",
    "Done",
    "Error",
    "EventStream",
    "FlushDone",
    "InputClosedError",
    "NotFoundError",
    "PermissionDeniedError",
    "PhonemeTimestamps",
    "PhonemeTimings",
    "RateLimitError",
    "ReceiveTimeoutError",
    "Response",
    "ServerError",
    "Timestamps",
    "TransportError",
    "TtsdError",
    "Voice",
    "Voices",
    "WebSocket",
    "WordTimings",
]
