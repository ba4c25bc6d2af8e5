"""`ttsd serve` on an address it cannot listen on: one clear line and exit 2, before the
engines load and with no "ready" line (issue 12, part 7)."""

from __future__ import annotations

import socket
import subprocess

import pytest

from tests.support.serve_process import TTSD
from ttsd.server.serving import CannotListen, check_can_listen
from ttsd.server.settings import Settings


@pytest.fixture
def taken_port() -> socket.socket:
    """A loopback port something else is listening on."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def test_a_taken_port_is_refused_before_anything_loads(taken_port: socket.socket) -> None:
    port = taken_port.getsockname()[1]
    with taken_port:
        done = subprocess.run(
            [str(TTSD), "serve", "--port", str(port), "--kokoro", "off"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    log = done.stdout + done.stderr
    assert done.returncode == 2, log
    assert f"cannot start: 127.0.0.1:{port} is already in use" in log
    assert "--port" in log
    assert " ready at " not in log
    assert "Traceback" not in log
    # refused before the engines load: nothing from the app's start-up
    assert "Application startup" not in log


def test_check_can_listen_names_the_address_and_what_to_do(taken_port: socket.socket) -> None:
    port = taken_port.getsockname()[1]
    with taken_port, pytest.raises(CannotListen, match=rf"127\.0\.0\.1:{port} is already in use"):
        check_can_listen(Settings(port=port))


def test_check_can_listen_refuses_a_foreign_address() -> None:
    # TEST-NET-1 (RFC 5737) is never an address of this machine.
    with pytest.raises(CannotListen, match="not an address of this machine"):
        check_can_listen(Settings(host="192.0.2.1", port=8420))


def test_check_can_listen_refuses_a_name_that_does_not_resolve() -> None:
    with pytest.raises(CannotListen, match=r"--host 'no-such-host\.invalid'"):
        check_can_listen(Settings(host="no-such-host.invalid", port=8420))


def test_a_free_port_passes_and_stays_free() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    check_can_listen(Settings(port=port))
    with socket.socket() as again:  # the check let go of it
        again.bind(("127.0.0.1", port))
