"""The `ttsd` command line: `ttsd serve`, `ttsd say`, `ttsd voices`."""

from __future__ import annotations

import click

from ttsd import __version__
from ttsd.cli.extras import lacks_server, server_command
from ttsd.cli.say import say
from ttsd.cli.voices import voices

serve: click.Command
try:
    from ttsd.cli.serve import serve
except ImportError as exc:  # the client-only install (`pip install ttsd`)
    if not lacks_server(exc):
        raise
    serve = server_command("serve", "Run the server.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ttsd")
def main() -> None:
    """ttsd: a self-hosted streaming TTS server speaking the Cartesia protocol.

    Start a server with `ttsd serve`; speak text to a file with `ttsd say`; list voices
    with `ttsd voices`. `ttsd COMMAND --help` tells more.
    """


main.add_command(serve)
main.add_command(say)
main.add_command(voices)

__all__ = ["main"]
