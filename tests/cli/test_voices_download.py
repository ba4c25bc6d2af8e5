"""`ttsd voices download` against a local HTTP server standing in for Piper's catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.engines.test_piper_catalogue import (
    COPY_KEY,
    KEY,
    SOURCE,
    LocalCatalogue,
    build_catalogue,
    closed_port,
    serving,
)
from ttsd.cli import main
from ttsd.engines.piper import discover_voices


@pytest.fixture
def local_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCatalogue]:
    with serving(build_catalogue(tmp_path_factory.mktemp("catalogue"))) as catalogue:
        yield catalogue


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run `ttsd ARGS` with only `env`'s voice settings; an exception other than click's
    exit is a bug, so raise it."""
    unset: dict[str, str | None] = {"TTSD_VOICES_DIR": None, "TTSD_VOICE_CATALOGUE": None}
    result = CliRunner().invoke(main, list(args), env={**unset, **(env or {})})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    # Progress bars may come first; the error is one line, the last.
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_download_writes_the_voice_and_says_how_to_serve_it(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    directory = tmp_path / "voices"
    result = run(
        "voices", "download", KEY, "--dir", str(directory), "--catalogue", local_catalogue.url
    )
    assert result.exit_code == 0, result.stderr
    assert (directory / f"{KEY}.onnx").read_bytes() == SOURCE.read_bytes()
    assert (directory / f"{KEY}.onnx.MODEL_CARD").is_file()
    assert [v.id for v in discover_voices(directory)] == [KEY]
    assert str(directory / f"{KEY}.onnx") in result.stderr
    assert f"ttsd serve --voices-dir {directory}\n" in result.stderr


def test_the_directory_and_catalogue_come_from_the_environment(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    directory = tmp_path / "from-env"
    env = {"TTSD_VOICES_DIR": str(directory), "TTSD_VOICE_CATALOGUE": local_catalogue.url}
    result = run("voices", "download", KEY, env=env)
    assert result.exit_code == 0, result.stderr
    assert (directory / f"{KEY}.onnx.json").is_file()


def test_the_default_directory_is_voices_here(
    local_catalogue: LocalCatalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("voices", "download", KEY, env={"TTSD_VOICE_CATALOGUE": local_catalogue.url})
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "voices" / f"{KEY}.onnx").is_file()
    assert "ttsd serve --voices-dir voices\n" in result.stderr


def test_a_downloaded_voice_is_listed_with_voices_dir(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    directory = tmp_path / "voices"
    result = run(
        "voices", "download", COPY_KEY, "--dir", str(directory), "--catalogue", local_catalogue.url
    )
    assert result.exit_code == 0, result.stderr
    listed = run("voices", "--voices-dir", str(directory), "--ids")
    ids = listed.stdout.split()
    assert KEY in ids and COPY_KEY in ids  # other engines may list theirs too


def test_a_second_download_skips_intact_files_unless_forced(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    args = ["voices", "download", KEY, "--dir", str(tmp_path), "--catalogue", local_catalogue.url]
    assert run(*args).exit_code == 0
    local_catalogue.requests.clear()
    again = run(*args)
    assert again.exit_code == 0
    assert again.stderr.count("already present") == 3
    assert local_catalogue.file_requests() == []
    forced = run(*args, "--force")
    assert forced.exit_code == 0 and "already present" not in forced.stderr
    assert len(local_catalogue.file_requests()) == 3


def test_a_corrupted_file_is_a_one_line_error_and_leaves_nothing(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    local_catalogue.corrupt(KEY, ".onnx")
    directory = tmp_path / "voices"
    result = run(
        "voices", "download", KEY, "--dir", str(directory), "--catalogue", local_catalogue.url
    )
    assert_one_line_error(result, f"{KEY}.onnx: MD5 ", "does not match")
    assert list(directory.iterdir()) == []


def test_an_unknown_name_suggests_close_matches(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    result = run(
        "voices", "download", "en_US-joe-meduim", "--dir", str(tmp_path / "v"),
        "--catalogue", local_catalogue.url,
    )  # fmt: skip
    assert_one_line_error(result, "no voice 'en_US-joe-meduim'", f"did you mean {KEY}")
    assert result.stderr.count("\n") == 1  # nothing was on its way: no progress either
    assert not (tmp_path / "v").exists()


def test_a_server_that_is_down_is_a_one_line_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    result = run("voices", "download", KEY, "--dir", str(tmp_path / "v"), "--catalogue", url)
    assert_one_line_error(result, f"cannot fetch {url}voices.json")
    assert result.stderr.count("\n") == 1


def test_download_needs_a_name() -> None:
    result = run("voices", "download")
    assert result.exit_code == 2 and "NAME" in result.stderr


def test_listing_options_do_not_apply_to_download() -> None:
    result = run("voices", "--ids", "download", KEY)
    assert result.exit_code == 2 and "--ids" in result.stderr


def test_voices_without_a_subcommand_still_lists() -> None:
    result = run("voices", "--ids")
    assert result.exit_code == 0 and result.stdout.split()[0] == KEY  # the default voice
    help_text = run("voices", "--help").stdout
    assert "download" in help_text and "--ids" in help_text
    assert "--catalogue" in run("voices", "download", "--help").stdout
