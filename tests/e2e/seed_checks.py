"""Checks of a run of the seed's flushing examples (tests/e2e/seed_examples.py), whichever
client ran them: the official SDK (test_cartesia_sdk.py) or ttsd's own (test_sdk.py).

Each run must write one `.pcm` file per flush id (1 and 2), print the flush_done of flush 1
between them and no error, and each file must be heard as its own transcript.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.asr import assert_speech_like, recognize, word_recall
from ttsd.audio.encoders import decode
from ttsd.protocol.formats import Encoding

#: What the examples ask for: raw pcm_s16le at 44.1 kHz.
RATE = 44100

#: transcripts and file-name prefix of each example (as in seed_examples.py)
SYNC = (("Stay hungry, ", "stay foolish."), "tts_flush_")
ASYNC = (("First transcript.", "Second transcript."), "tts_flush_async_")


def flush_files(names: list[str], prefix: str) -> dict[int, list[str]]:
    """`{flush_id: [file names]}` for the example's `{prefix}{flush_id}_{timestamp}.pcm` files."""
    by_id: dict[int, list[str]] = {}
    for name in names:
        match = re.fullmatch(rf"{re.escape(prefix)}(\d+)_\d{{8}}_\d{{6}}\.pcm", name)
        assert match, f"unexpected file {name!r}"
        by_id.setdefault(int(match.group(1)), []).append(name)
    return by_id


def check_output(output: str) -> None:
    """What the example printed: audio of flush 1, its flush_done, then flush 2; no error."""
    assert "error:" not in output, output
    assert "Finished." in output, output
    lines = output.splitlines()
    created_1 = next(i for i, line in enumerate(lines) if "file for flush_id 1:" in line)
    done_1 = lines.index("Flush done received for flush_id: 1")
    created_2 = next(i for i, line in enumerate(lines) if "file for flush_id 2:" in line)
    assert created_1 < done_1 < created_2, output
    assert "Flush done received for flush_id: 2" not in output, "the last segment was not flushed"


def check_sync_audio(files: dict[int, Path]) -> None:
    """ "Stay hungry, " / "stay foolish.": PocketSphinx mishears this voice's "stay" and
    "foolish" ("say hungry state polish"), but it hears "hungry" every time."""
    (first, second), _ = SYNC
    hungry = decode(files[1].read_bytes(), Encoding.PCM_S16LE)
    foolish = decode(files[2].read_bytes(), Encoding.PCM_S16LE)
    assert_speech_like(hungry, RATE, first)
    assert_speech_like(foolish, RATE, second)
    heard_1, heard_2 = recognize(hungry, RATE), recognize(foolish, RATE)
    assert "hungry" in heard_1, f"flush 1 ({first!r}) heard as {heard_1}"
    assert "hungry" not in heard_2, f"flush 2 ({second!r}) heard as {heard_2}"


def check_async_audio(files: dict[int, Path]) -> None:
    """ "First transcript." / "Second transcript.": each file says its own text, not the other."""
    transcripts, _ = ASYNC
    for flush_id, text in enumerate(transcripts, start=1):
        pcm = decode(files[flush_id].read_bytes(), Encoding.PCM_S16LE)
        assert_speech_like(pcm, RATE, text)
        heard = recognize(pcm, RATE)
        own = word_recall(text, heard)
        other = word_recall(transcripts[2 - flush_id], heard)
        assert own >= 0.5, f"flush {flush_id} ({text!r}) heard as {heard}"
        assert own > other, f"flush {flush_id} ({text!r}) heard as {heard}"


def check_seed_run(directory: Path, names: list[str], output: str, *, asynchronous: bool) -> None:
    """A whole run: its files (`names`, in `directory`), what it printed, and the audio."""
    _, prefix = ASYNC if asynchronous else SYNC
    by_id = flush_files(names, prefix)
    assert sorted(by_id) == [1, 2], f"files per flush id: {by_id}"
    assert all(len(group) == 1 for group in by_id.values()), f"files per flush id: {by_id}"
    files = {flush_id: directory / group[0] for flush_id, group in by_id.items()}
    check_output(output)
    (check_async_audio if asynchronous else check_sync_audio)(files)


def pcm_files(directory: Path) -> list[str]:
    """The `.pcm` files an example wrote into `directory`."""
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".pcm")
