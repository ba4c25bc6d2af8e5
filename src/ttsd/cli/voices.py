"""`ttsd voices`: list the voices, in-process or from a running server; `ttsd voices download`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ttsd.cli.extras import needs_server

if TYPE_CHECKING:
    from ttsd.engines.piper.catalogue import CatalogueFile, FileOutcome

#: Options of the listing that mean nothing to a subcommand.
_LISTING_OPTIONS = ("url", "api_key", "voices_dir", "ids")


@click.group(invoke_without_command=True)
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
@click.pass_context
def voices(
    ctx: click.Context, url: str | None, api_key: str | None, voices_dir: Path | None, ids: bool
) -> None:
    """List the voices you can pass as `voice` (id, name, language, engine, licence).

    `ttsd voices download NAME` adds a voice from Piper's catalogue.
    """
    if ctx.invoked_subcommand is not None:
        _refuse_listing_options(ctx)
        return
    rows: list[tuple[str, ...]]
    if url:
        from ttsd.cli.remote import list_voices_remote

        rows = list_voices_remote(url, api_key)
    else:
        with needs_server(
            "`ttsd voices` without --url", alternative=", or pass --url of a ttsd server"
        ):
            from ttsd.cli.local import local_registry

            registry = local_registry(voices_dir)
        rows = [(v.id, v.name, v.locale, v.engine, v.license) for v in registry.voices()]
    if ids:
        for row in rows:
            click.echo(row[0])
        return
    table = Table("id", "name", "language", "engine", "licence")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _refuse_listing_options(ctx: click.Context) -> None:
    """`ttsd voices --ids download X` would silently ignore --ids: say so instead."""
    for name in _LISTING_OPTIONS:
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
            flag = "--" + name.replace("_", "-")
            raise click.UsageError(f"{flag} lists voices; it does not apply to a subcommand")


@voices.command(short_help="Download voices from Piper's catalogue.")
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    envvar="TTSD_VOICES_DIR",
    default=Path("voices"),
    show_default="$TTSD_VOICES_DIR, else ./voices",
    help="Voices directory to write into (created if missing).",
)
@click.option(
    "--catalogue",
    "catalogue_url",
    envvar="TTSD_VOICE_CATALOGUE",
    metavar="URL",
    help="Base URL of a Piper voice catalogue (also $TTSD_VOICE_CATALOGUE) "
    "[default: Piper's, on Hugging Face].",
)
@click.option("--force", is_flag=True, help="Download even files already present and intact.")
def download(
    names: tuple[str, ...], directory: Path, catalogue_url: str | None, force: bool
) -> None:
    """Download Piper voices (e.g. en_US-lessac-medium) into a voices directory.

    Fetches NAME.onnx, NAME.onnx.json and NAME.onnx.MODEL_CARD (the voice's licence) from
    Piper's public catalogue and checks each against the catalogue's size and MD5. This
    is the only time ttsd fetches anything from the internet. Voice names: see
    https://huggingface.co/rhasspy/piper-voices.
    """
    with needs_server("`ttsd voices download`"):
        # ttsd.engines.piper loads the engine: only a server has use for its voices
        from ttsd.engines.piper.catalogue import CatalogueError, download_voices

    stderr = Console(stderr=True)
    try:
        with _RichProgress(stderr) as progress:
            done = download_voices(
                names, directory, base_url=catalogue_url, force=force, progress=progress
            )
    except (CatalogueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    # soft_wrap: paths stay whole, to be copied.
    for voice in done:
        stderr.print(
            f"[green]✓[/] {escape(f'{voice.key}: {voice.model_path}')}",
            highlight=False,
            soft_wrap=True,
        )
    serve = f"ttsd serve --voices-dir {shlex.quote(str(directory))}"
    stderr.print(f"Serve with: {serve}", highlight=False, soft_wrap=True, markup=False)


class _RichProgress:
    """A DownloadProgress drawn as a rich progress bar per file, on standard error."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> _RichProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Progress.stop prints a blank line off a terminal, even if it never started.
        if self._bars.live.is_started:
            self._bars.stop()

    def started(self, file: CatalogueFile, destination: Path) -> None:
        """A bar for the file about to be downloaded."""
        # Started only once a file is on its way, so an early error stays a single line.
        self._bars.start()
        self._task = self._bars.add_task(destination.name, total=file.size_bytes)

    def advanced(self, nbytes: int) -> None:
        """Move the current bar."""
        if self._task is not None:
            self._bars.advance(self._task, nbytes)

    def finished(self, file: CatalogueFile, destination: Path, outcome: FileOutcome) -> None:
        """Note a skipped file; a downloaded one's full bar says enough."""
        from ttsd.engines.piper.catalogue import FileOutcome

        if outcome is FileOutcome.SKIPPED:
            self._bars.console.print(
                f"{destination.name}: {outcome.value}", highlight=False, markup=False
            )
        self._task = None
