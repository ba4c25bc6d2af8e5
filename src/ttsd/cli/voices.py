"""`ttsd voices`: list the voices, in-process or from a running server."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table


@click.command()
@click.option(
    "--url",
    envvar="TTSD_BASE_URL",
    help="List the voices of the ttsd server at this URL (also $TTSD_BASE_URL).",
)
@click.option("--api-key", envvar="TTSD_API_KEY", help="API key for --url (also $TTSD_API_KEY).")
@click.option(
    "--voices-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="In-process only: extra Piper voices to list as well.",
)
@click.option("--ids", is_flag=True, help="Print only the voice ids, one per line.")
def voices(url: str | None, api_key: str | None, voices_dir: Path | None, ids: bool) -> None:
    """List the voices you can pass as `voice` (id, name, language)."""
    rows: list[tuple[str, str, str]]
    if url:
        from ttsd.cli.remote import list_voices_remote

        rows = list_voices_remote(url, api_key)
    else:
        from ttsd.cli.say import local_registry

        registry = local_registry(voices_dir)
        rows = [(v.id, v.name, v.language) for v in registry.voices()]
    if ids:
        for voice_id, _, _ in rows:
            click.echo(voice_id)
        return
    table = Table("id", "name", "language")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
