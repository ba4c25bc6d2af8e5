"""The ASGI server: WebSocket and HTTP endpoints, auth, scheduling, settings.

This is the only package that knows ASGI.
"""
