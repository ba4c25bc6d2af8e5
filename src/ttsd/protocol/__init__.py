"""Sans-I/O core of the Cartesia TTS WebSocket protocol.

Nothing in this package does I/O, touches asyncio, sockets or numpy: it turns received
text frames into events and outgoing frames, so it can be tested without an event loop.
"""
