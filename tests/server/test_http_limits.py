"""Request heads are bounded in size (431) and in time (408), over real sockets.

The hostile clients are raw sockets; the well-behaved ones are httpx and the WebSocket test
client, to show the protocol class changes nothing for them. Timeouts here are only upper
bounds with generous margins, never speed claims.
"""

from __future__ import annotations

import json
import select
import socket
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.support.live_server import live_server
from tests.support.rest import tts_body
from tests.support.tone_engine import ToneEngine
from tests.support.wsclient import Client, request
from ttsd.engines.registry import EngineRegistry
from ttsd.server.app import create_app
from ttsd.server.http_protocol import LimitedHttpToolsProtocol, uvicorn_http_options
from ttsd.server.settings import Settings

LIMIT = 16 * 1024
TIMEOUT_S = 1.0
#: how long a test waits for the server to close a stalled connection (TIMEOUT_S + margin)
CLOSE_BOUND_S = 8.0

UPGRADE = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """A tone-engine server with `settings`, its HTTP head limits included."""
    app = create_app(settings, EngineRegistry([ToneEngine()]))
    with live_server(app, settings=settings) as base:
        yield base


@pytest.fixture
def base() -> Iterator[str]:
    """A tone-engine server with a 16 KiB head limit and a 1 s head timeout."""
    with serve(
        Settings(parallel_steps=2, max_header_bytes=LIMIT, header_timeout_s=TIMEOUT_S)
    ) as base:
        yield base


def head(size: int, target: str = "/", extra: str = "") -> bytes:
    """A request head (line, headers, blank line) of exactly `size` bytes, padded with
    `X-Pad` headers of at most 4000 bytes (under websockets' 8 KiB per line)."""
    start = f"GET {target} HTTP/1.1\r\nHost: x\r\n{extra}"
    pads = []
    missing = size - len(start) - 2
    while missing > 0:
        line_size = min(missing, 4000)
        if 0 < missing - line_size < 10:  # leave room for one more whole header line
            line_size -= 10
        pads.append("X-Pad: " + "a" * (line_size - 9) + "\r\n")
        missing -= line_size
    data = (start + "".join(pads) + "\r\n").encode()
    assert len(data) == size, (len(data), size)
    return data


def connect(base: str) -> socket.socket:
    host, port = base.split(":")
    sock = socket.create_connection((host, int(port)), timeout=CLOSE_BOUND_S)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response: status, headers (lower-case names), body (by content-length).

    Reads no byte past it, so the next call finds the next (pipelined) response."""
    raw_head = b""
    while not raw_head.endswith(b"\r\n\r\n"):  # byte by byte: response heads are short
        byte = sock.recv(1)
        assert byte, f"closed before a response: {raw_head!r}"
        raw_head += byte
    status_line, *lines = raw_head[:-4].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        assert chunk, "closed inside a body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed the connection (waits up to CLOSE_BOUND_S for it)."""
    sock.settimeout(CLOSE_BOUND_S)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def assert_refused(sock: socket.socket, status: int, mentions: str) -> None:
    """The server answered `status` with a JSON error and closed."""
    code, headers, body = read_response(sock)
    assert code == status, (code, body[:200])
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    error = json.loads(body)
    assert error["status_code"] == status and mentions in error["message"], error
    assert (
        error["error_code"] == "invalid_request" and headers["x-request-id"] == error["request_id"]
    )
    assert closed_by_server(sock)


def stall(sock: socket.socket) -> tuple[float, bytes]:
    """Trickle header bytes, one each 0.2 s, until the server closes (at most 20 s).

    Returns the seconds it took and whatever the server sent."""
    started = time.monotonic()
    received = b""
    sock.setblocking(False)
    while time.monotonic() - started < 20:
        try:
            sock.send(b"a")
        except OSError:  # reset: the server is gone
            break
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            received += chunk
    return time.monotonic() - started, received


def test_the_protocol_class_carries_the_settings() -> None:
    options = uvicorn_http_options(Settings(max_header_bytes=1234, header_timeout_s=2.5))
    protocol = options["http"]
    assert issubclass(protocol, LimitedHttpToolsProtocol)
    assert (protocol.max_header_bytes, protocol.header_timeout_s) == (1234, 2.5)
    defaults = uvicorn_http_options(Settings())["http"]
    assert (defaults.max_header_bytes, defaults.header_timeout_s) == (64 * 1024, 10.0)


def test_a_head_of_exactly_the_limit_is_served(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(head(LIMIT))
        status, _, body = read_response(sock)
        assert status == 200, body
        # the connection stays usable, and each request gets the whole limit again
        for _ in range(3):
            sock.sendall(head(LIMIT))
            assert read_response(sock)[0] == 200


def test_a_head_one_byte_over_the_limit_is_refused_with_431(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(head(LIMIT + 1))
        assert_refused(sock, 431, f"exceed {LIMIT} bytes")


def test_a_websocket_handshake_under_the_limit_upgrades(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(head(LIMIT, "/tts/websocket", UPGRADE))
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            assert chunk, buf
            buf += chunk
        assert buf.startswith(b"HTTP/1.1 101 "), buf[:200]


def test_a_websocket_handshake_over_the_limit_is_refused_with_431(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(head(LIMIT + 1, "/tts/websocket", UPGRADE))
        assert_refused(sock, 431, f"exceed {LIMIT} bytes")


def test_a_request_line_over_the_limit_is_refused_with_431(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(b"GET /" + b"a" * LIMIT + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert_refused(sock, 431, "exceed")


def test_an_endless_header_is_cut_off_near_the_limit() -> None:
    """50 MiB of one header: the server stops reading at the default limit (64 KiB) and
    closes; neither it nor the client gets anywhere near 50 MiB."""
    total = 50 * 1024 * 1024
    chunk = b"a" * (64 * 1024)
    with serve(Settings(parallel_steps=2)) as served:
        tracemalloc.start()
        try:
            with connect(served) as sock:
                # A small send buffer: what the client manages to send is then about what
                # the server's kernel buffered, not what sat in the client's.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
                sent = 0
                try:
                    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
                    while sent < total:
                        sent += sock.send(chunk)
                except OSError:  # reset, broken pipe, or the server stopped reading
                    pass
                try:
                    answer = sock.recv(65536)
                except ConnectionResetError:
                    answer = b""  # the reset may overtake the 431
                except TimeoutError:
                    answer = b"(no answer)"
                closed = closed_by_server(sock)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert sent < 16 * 1024 * 1024, f"the client sent {sent} bytes unhindered"
    assert closed
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    # the server held no more than a few reads' worth of the header (old: all 50 MiB)
    assert peak < 8 * 1024 * 1024, f"{peak} bytes allocated at peak"


@pytest.mark.parametrize("target,extra", [("/", ""), ("/tts/websocket", UPGRADE)])
def test_a_stalled_head_times_out_with_408(base: str, target: str, extra: str) -> None:
    with connect(base) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n{extra}X-Slow: ".encode())
        took, received = stall(sock)
    assert took < CLOSE_BOUND_S, "the server never closed the slow connection"
    assert received.startswith(b"HTTP/1.1 408 "), received[:200]
    assert b"took longer than 1 s" in received


def test_a_stalled_second_request_on_a_kept_alive_connection_times_out(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(head(200))
        assert read_response(sock)[0] == 200
        time.sleep(TIMEOUT_S * 1.5)  # idle between requests is keep-alive's business
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        took, received = stall(sock)
    assert took < CLOSE_BOUND_S, "the server never closed the slow connection"
    assert received.startswith(b"HTTP/1.1 408 "), received[:200]


def test_blank_lines_trickled_between_requests_time_out(base: str) -> None:
    """uvicorn's keep-alive timeout is cancelled by any byte, a lone CRLF included."""
    with connect(base) as sock:
        sock.sendall(head(200))
        assert read_response(sock)[0] == 200
        started = time.monotonic()
        sock.setblocking(False)
        gone = False
        while not gone and time.monotonic() - started < 20:
            try:
                sock.send(b"\r\n")
                readable, _, _ = select.select([sock], [], [], 0.3)
                gone = bool(readable) and not sock.recv(65536)
            except OSError:
                gone = True
        assert gone and time.monotonic() - started < CLOSE_BOUND_S


def test_a_connection_that_sends_nothing_is_closed(base: str) -> None:
    with connect(base) as sock:
        started = time.monotonic()
        sock.settimeout(20)
        try:
            received = sock.recv(65536)
        except ConnectionResetError:
            received = b""
    assert received == b""  # a plain close: no request, no answer
    assert time.monotonic() - started < CLOSE_BOUND_S


def test_pipelined_requests_are_served(base: str) -> None:
    with connect(base) as sock:
        sock.sendall(head(LIMIT // 2) + head(LIMIT // 2))
        assert read_response(sock)[0] == 200
        assert read_response(sock)[0] == 200


def test_well_behaved_clients_see_no_difference(base: str) -> None:
    with httpx.Client(base_url=f"http://{base}") as http:
        for _ in range(3):  # one kept-alive connection
            assert http.get("/", headers={"X-Pad": "a" * (LIMIT // 2)}).status_code == 200
        with http.stream("POST", "/tts/bytes", json=tts_body("One two three.")) as response:
            assert response.status_code == 200
            assert len(b"".join(response.iter_bytes())) == 3 * 1600 * 2
    with Client(base) as client:
        client.send(request("c1", "Hello there, world."))
        frames = client.until_done("c1")
    assert frames[-1]["type"] == "done"


def test_a_request_body_larger_than_the_head_limit_is_served() -> None:
    with serve(Settings(parallel_steps=2, max_header_bytes=1024)) as served:
        body = tts_body("One two three." + " " * 4000)
        response = httpx.post(f"http://{served}/tts/bytes", json=body, timeout=20)
        assert response.status_code == 200, response.text[:300]
        assert len(response.content) == 3 * 1600 * 2
