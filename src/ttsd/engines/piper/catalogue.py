"""Piper's public voice catalogue: find a voice in `voices.json` and download it, verified.

This is the only code in ttsd that fetches anything from the internet, and only
`ttsd voices download` calls it: serving never downloads anything. A voice is downloaded
whole or not at all: every file goes to a temporary file beside its destination, is
checked against the size and MD5 the catalogue publishes, and only once all of them are
good are they renamed into place, the `.onnx` last, so `discover_voices` never sees half
a voice.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote

import httpx

#: Piper's voices on Hugging Face; `voices.json` and every voice file are paths under it.
DEFAULT_CATALOGUE_URL = "https://huggingface.co/rhasspy/piper-voices/resolve/main/"
#: Environment variable that replaces DEFAULT_CATALOGUE_URL (a mirror, a test server).
CATALOGUE_ENV = "TTSD_VOICE_CATALOGUE"
#: The catalogue's index, relative to its base URL.
INDEX_NAME = "voices.json"
#: Largest voice file accepted (the biggest Piper voices are ~120 MB): a catalogue that
#: declares more is refused before anything is downloaded.
MAX_FILE_BYTES = 500 * 1024 * 1024
#: Largest index accepted (Piper's is ~1 MB), so a wrong URL cannot fill memory.
MAX_INDEX_BYTES = 64 * 1024 * 1024
#: Connect quickly or fail; reads may pause while a CDN warms up.
TIMEOUT = httpx.Timeout(30.0, connect=10.0)

_CHUNK_BYTES = 1024 * 1024
_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")
# A voice key becomes a file name: no separators, no leading dot.
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class CatalogueError(Exception):
    """A voice could not be found or fetched; the message says why, in one line."""


class UnknownVoiceError(CatalogueError):
    """The name is not in the catalogue; `suggestions` holds the closest keys."""

    def __init__(self, name: str, suggestions: list[str], catalogue_url: str, count: int) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = (
            f"did you mean {', '.join(suggestions)}?"
            if suggestions
            else f"no close match among its {count} voices"
        )
        super().__init__(f"no voice {name!r} in the catalogue at {catalogue_url}; {hint}")


class FileRole(StrEnum):
    """What a catalogue file is to ttsd, in the order files are moved into place; the value
    is the suffix its local name gets after the voice's key."""

    # The catalogue calls every card `MODEL_CARD`, one folder per voice; here voices share
    # a folder, so the card is named after its model (PiperVoiceFile reads it there).
    MODEL_CARD = ".onnx.MODEL_CARD"
    CONFIG = ".onnx.json"
    MODEL = ".onnx"


@dataclass(frozen=True, slots=True)
class CatalogueFile:
    """One file of a voice as the catalogue lists it."""

    path: str
    """Path under the catalogue's base URL, e.g. `en/en_US/lessac/medium/...onnx`."""
    size_bytes: int
    md5: str
    role: FileRole

    def local_name(self, key: str) -> str:
        """The file name in the voices directory: named after the voice, so voices never clash."""
        return key + self.role.value


@dataclass(frozen=True, slots=True)
class CatalogueVoice:
    """A voice in the catalogue: its key (e.g. `en_US-lessac-medium`) and its files."""

    key: str
    files: tuple[CatalogueFile, ...]
    """In the order they are moved into place: model card, config, model."""


class FileOutcome(Enum):
    """What happened to one file."""

    DOWNLOADED = "downloaded"
    SKIPPED = "already present"


@dataclass(frozen=True, slots=True)
class DownloadedVoice:
    """A voice now complete in the voices directory."""

    key: str
    model_path: Path
    outcomes: tuple[tuple[Path, FileOutcome], ...]


class DownloadProgress(Protocol):
    """Told about each file as it is fetched, so a front end can show progress."""

    def started(self, file: CatalogueFile, destination: Path) -> None:
        """A download of `file` begins."""

    def advanced(self, nbytes: int) -> None:
        """`nbytes` more bytes of the current file arrived."""

    def finished(self, file: CatalogueFile, destination: Path, outcome: FileOutcome) -> None:
        """`file` is verified (DOWNLOADED) or was already there (SKIPPED)."""


class NoProgress:
    """A DownloadProgress that shows nothing."""

    def started(self, file: CatalogueFile, destination: Path) -> None:
        """Nothing to show."""

    def advanced(self, nbytes: int) -> None:
        """Nothing to show."""

    def finished(self, file: CatalogueFile, destination: Path, outcome: FileOutcome) -> None:
        """Nothing to show."""


def catalogue_url(explicit: str | None = None) -> str:
    """`explicit`, else $TTSD_VOICE_CATALOGUE, else Piper's own catalogue; ends with `/`."""
    url = explicit or os.environ.get(CATALOGUE_ENV) or DEFAULT_CATALOGUE_URL
    return url if url.endswith("/") else url + "/"


def new_client() -> httpx.Client:
    """An HTTP client for the catalogue (Hugging Face answers with redirects to its CDN)."""
    return httpx.Client(timeout=TIMEOUT, follow_redirects=True)


class Catalogue:
    """Piper's voice catalogue at `base_url`, read through `client`."""

    def __init__(self, client: httpx.Client, base_url: str | None = None) -> None:
        self.base_url = _checked(catalogue_url(base_url))
        self._client = client
        self._index: dict[str, Any] | None = None

    def index(self) -> dict[str, Any]:
        """`voices.json`, fetched once."""
        if self._index is None:
            url = self.base_url + INDEX_NAME
            body = bytearray()
            with _streamed(self._client, url) as chunks:
                for chunk in chunks:
                    body += chunk
                    if len(body) > MAX_INDEX_BYTES:
                        raise CatalogueError(f"{url}: index larger than {MAX_INDEX_BYTES} bytes")
            self._index = _parse_index(bytes(body), url)
        return self._index

    def voice(self, name: str) -> CatalogueVoice:
        """The voice called `name`; UnknownVoiceError with close matches if there is none."""
        index = self.index()
        entry = index.get(name)
        if entry is None:
            raise UnknownVoiceError(name, close_matches(name, index), self.base_url, len(index))
        return _parse_voice(name, entry)

    def download(
        self,
        voice: CatalogueVoice,
        directory: Path,
        *,
        force: bool = False,
        progress: DownloadProgress | None = None,
    ) -> DownloadedVoice:
        """Put `voice`'s files into `directory` (created), all verified, or none of them.

        Files already there with the published MD5 are kept unless `force`.
        """
        progress = progress or NoProgress()
        directory.mkdir(parents=True, exist_ok=True)
        fetched: list[tuple[Path, Path]] = []  # (temporary file, destination)
        outcomes: list[tuple[Path, FileOutcome]] = []
        try:
            for file in voice.files:
                destination = directory / file.local_name(voice.key)
                if not force and _is_intact(destination, file):
                    progress.finished(file, destination, FileOutcome.SKIPPED)
                    outcomes.append((destination, FileOutcome.SKIPPED))
                    continue
                progress.started(file, destination)
                fetched.append((self._fetch_file(file, directory, progress), destination))
                progress.finished(file, destination, FileOutcome.DOWNLOADED)
                outcomes.append((destination, FileOutcome.DOWNLOADED))
            # voice.files ends with the model, so the voice becomes visible only when whole.
            for temp, destination in fetched:
                os.replace(temp, destination)
        finally:
            for temp, _ in fetched:
                temp.unlink(missing_ok=True)
        model = next(f for f in voice.files if f.role is FileRole.MODEL)
        return DownloadedVoice(voice.key, directory / model.local_name(voice.key), tuple(outcomes))

    def _fetch_file(self, file: CatalogueFile, directory: Path, progress: DownloadProgress) -> Path:
        """Stream `file` into a temporary file in `directory` and verify it; return its path."""
        if file.size_bytes > MAX_FILE_BYTES:
            raise CatalogueError(
                f"{file.path}: the catalogue says {file.size_bytes} bytes, "
                f"more than the {MAX_FILE_BYTES} accepted"
            )
        url = self.base_url + quote(file.path)
        # Hidden and in the same directory: invisible to discover_voices, and os.replace
        # within one file system is atomic.
        fd, name = tempfile.mkstemp(
            dir=directory, prefix=f".{Path(file.path).name}.", suffix=".part"
        )
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out, _streamed(self._client, url) as chunks:
                # mkstemp makes it private; a server running as another user must read voices.
                os.fchmod(out.fileno(), 0o644)
                digest = _copy_bounded(chunks, out, url, file.size_bytes, progress)
                out.flush()
                os.fsync(out.fileno())
            _verify(file, digest)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp


def close_matches(name: str, keys: Iterable[str], limit: int = 5) -> list[str]:
    """The keys closest to `name`, ignoring case (people type `en_us`)."""
    by_lower = {key.lower(): key for key in keys}
    matches = difflib.get_close_matches(name.lower(), by_lower, n=limit, cutoff=0.6)
    return [by_lower[match] for match in matches]


def download_voices(
    names: Iterable[str],
    directory: Path,
    *,
    base_url: str | None = None,
    force: bool = False,
    progress: DownloadProgress | None = None,
    client: httpx.Client | None = None,
) -> list[DownloadedVoice]:
    """Download every voice in `names` into `directory`; see `Catalogue.download`.

    All names are looked up before anything is downloaded, so a typo costs no bandwidth.
    A `client` passed in is used and left open; without one, a new one is made and closed.
    """
    http = client or new_client()
    try:
        catalogue = Catalogue(http, base_url)
        voices = [catalogue.voice(name) for name in names]
        return [
            catalogue.download(voice, directory, force=force, progress=progress) for voice in voices
        ]
    finally:
        if client is None:
            http.close()


@contextmanager
def _streamed(client: httpx.Client, url: str) -> Iterator[Iterator[bytes]]:
    """The body of GET `url` in chunks; failures and statuses other than 200 are CatalogueError."""
    try:
        with client.stream("GET", url) as response:
            if response.status_code != httpx.codes.OK:
                raise CatalogueError(f"cannot fetch {url}: HTTP {response.status_code}")
            # A failure while the caller reads is thrown in here, so it is translated too.
            yield response.iter_bytes(_CHUNK_BYTES)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise CatalogueError(f"cannot fetch {url}: {_describe(exc)}") from exc


def _checked(base_url: str) -> str:
    """`base_url` if it is an http(s) URL, else a CatalogueError saying so."""
    try:
        scheme = httpx.URL(base_url).scheme
    except httpx.InvalidURL as exc:
        raise CatalogueError(f"catalogue URL {base_url!r}: {exc}") from exc
    if scheme not in ("http", "https"):
        raise CatalogueError(f"catalogue URL {base_url!r}: not an http:// or https:// URL")
    return base_url


def _copy_bounded(
    chunks: Iterable[bytes], out: BinaryIO, url: str, size: int, progress: DownloadProgress
) -> str:
    """Copy `chunks` into `out`, never past the declared `size`; return their MD5."""
    md5 = hashlib.md5(usedforsecurity=False)
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > size:
            raise CatalogueError(f"{url}: more than the {size} bytes the catalogue declares")
        md5.update(chunk)
        out.write(chunk)
        progress.advanced(len(chunk))
    if received != size:
        raise CatalogueError(f"{url}: {received} bytes, the catalogue declares {size}")
    return md5.hexdigest()


def _verify(file: CatalogueFile, digest: str) -> None:
    if digest != file.md5:
        raise CatalogueError(
            f"{file.path}: MD5 {digest} does not match the catalogue's {file.md5}; "
            "nothing was written"
        )


def _is_intact(path: Path, file: CatalogueFile) -> bool:
    """True if `path` already holds exactly `file` (size first: cheap, then MD5)."""
    try:
        if path.stat().st_size != file.size_bytes:
            return False
        md5 = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as existing:
            while chunk := existing.read(_CHUNK_BYTES):
                md5.update(chunk)
    except OSError:
        return False
    return md5.hexdigest() == file.md5


def _parse_index(body: bytes, url: str) -> dict[str, Any]:
    try:
        index = json.loads(body)
    except ValueError as exc:
        raise CatalogueError(f"{url}: not a voice catalogue (invalid JSON: {exc})") from exc
    if not isinstance(index, dict):
        raise CatalogueError(f"{url}: not a voice catalogue (expected a JSON object)")
    return index


def _parse_voice(key: str, entry: object) -> CatalogueVoice:
    """Check the catalogue's entry for `key`: every field a download relies on."""
    if not _SAFE_KEY.match(key):
        raise CatalogueError(f"{key!r}: not a usable voice name")
    files = entry.get("files") if isinstance(entry, Mapping) else None
    if not isinstance(files, Mapping):
        raise CatalogueError(f"{key}: the catalogue entry lists no files")
    parsed = [f for path, meta in files.items() if (f := _parse_file(key, path, meta))]
    by_role = {f.role: f for f in parsed}
    for role in (FileRole.CONFIG, FileRole.MODEL):
        if role not in by_role:
            raise CatalogueError(f"{key}: the catalogue entry has no {role.value} file")
    order = list(FileRole)
    return CatalogueVoice(key, tuple(sorted(by_role.values(), key=lambda f: order.index(f.role))))


def _parse_file(key: str, path: object, meta: object) -> CatalogueFile | None:
    """The file at `path`, or None if ttsd has no use for it."""
    if not isinstance(path, str):
        return None
    role = _role_of(path)
    if role is None:
        return None
    if path.startswith("/") or "://" in path or ".." in path.split("/"):
        raise CatalogueError(f"{key}: unsafe file path {path!r} in the catalogue")
    size = meta.get("size_bytes") if isinstance(meta, Mapping) else None
    md5 = meta.get("md5_digest") if isinstance(meta, Mapping) else None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise CatalogueError(f"{key}: no valid size_bytes for {path} in the catalogue")
    if not isinstance(md5, str) or not _MD5_HEX.match(md5.lower()):
        raise CatalogueError(f"{key}: no valid md5_digest for {path} in the catalogue")
    return CatalogueFile(path, size, md5.lower(), role)


def _role_of(path: str) -> FileRole | None:
    name = path.rsplit("/", 1)[-1]
    if name == "MODEL_CARD":
        return FileRole.MODEL_CARD
    if name.endswith(".onnx.json"):
        return FileRole.CONFIG
    if name.endswith(".onnx"):
        return FileRole.MODEL
    return None


def _describe(exc: Exception) -> str:
    """A short reason: the exception's text, else its class (timeouts often have no text)."""
    return str(exc) or type(exc).__name__
