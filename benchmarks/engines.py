"""Each engine and voice side by side, in one run (issue 11).

For every voice asked for, in this process: time to first audio of a stream's first step
(`first_audio`, a two-clause sentence), real-time factor of a paragraph (compute seconds
per audio second), and, for English voices, the PocketSphinx word recall of that
paragraph (the test suite's recognizer). Memory: this process's peak RSS growth after
each voice has loaded and spoken, so the Kokoro rows include Piper's. Then, through a
real `ttsd serve` and one WebSocket: the first audio of the same sentence sent whole
(`continue: false`), where the server's first-clause cut and the scheduler apply. Piper's
default voice is the baseline every ratio is to. Runs on every core.

    .venv/bin/python benchmarks/engines.py [--runs 3] [--voices af_heart,ef_dora]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.support.asr import recognize, word_recall

import latency
from benchlib import running_ttsd
from ttsd.engines.base import Engine, SynthesisOptions
from ttsd.engines.kokoro import KokoroEngine
from ttsd.engines.piper import PiperEngine, default_voice_file

FIRST = "Thanks for calling, how can I help you today?"
PARAGRAPH = (
    "Please call me back tomorrow morning about the meeting schedule. "
    "We measured the weather station readings at noon every day last summer. "
    "The children played in the garden while their parents cooked dinner. "
    "Our company will open a new office in the city next year."
)
OTHERS = {
    "es": "Hola, ¿qué tal? Mañana vamos a la playa con mis amigos y después comemos juntos.",
    "fr": "Bonjour, les amis. Nous allons au marché ce matin, puis nous déjeunerons ensemble.",
    "it": "Ciao, come stai? Domani andiamo al mare con gli amici e poi mangiamo insieme.",
    "pt": "Olá, tudo bem? Amanhã vamos à praia com os amigos e depois almoçamos juntos.",
    "hi": "नमस्ते, आप कैसे हैं? कल हम समुद्र तट पर जाएंगे और फिर साथ में खाना खाएंगे।",
}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _first_audio(engine: Engine, voice: str, text: str) -> float:
    start = time.perf_counter()
    chunks = engine.synthesize(text, voice, SynthesisOptions(first_audio=True))
    next(iter(chunks))
    elapsed = time.perf_counter() - start
    chunks.close()  # type: ignore[attr-defined]
    return elapsed


def _paragraph(engine: Engine, voice: str, text: str) -> tuple[float, np.ndarray, int]:
    start = time.perf_counter()
    chunks = list(engine.synthesize(text, voice, SynthesisOptions()))
    elapsed = time.perf_counter() - start
    return elapsed, np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--voices", default="", help="comma-separated Kokoro voices (all)")
    args = parser.parse_args()
    rss_before = _peak_rss_mib()
    piper = PiperEngine([default_voice_file()])
    piper.load()
    kokoro = KokoroEngine()
    rows = []
    for engine, voices in ((piper, [piper.default_voice_id]), (kokoro, None)):
        infos = [v for v in engine.voices() if voices is None or v.id in voices]
        if args.voices and engine is kokoro:
            infos = [v for v in infos if v.id in args.voices.split(",")]
        engine.load()
        for info in infos:
            english = info.language == "en"
            first_text = FIRST if english else OTHERS[info.language]
            text = PARAGRAPH if english else OTHERS[info.language]
            _first_audio(engine, info.id, first_text)  # warm up (caches, arenas)
            ttfa = statistics.median(
                _first_audio(engine, info.id, first_text) for _ in range(args.runs)
            )
            runs = [_paragraph(engine, info.id, text) for _ in range(args.runs)]
            compute = statistics.median(r[0] for r in runs)
            _, pcm, rate = runs[0]
            rtf = compute / (len(pcm) / rate)
            recall = word_recall(text, recognize(pcm, rate)) if english else None
            rows.append((engine.name, info.id, ttfa, rtf, recall, _peak_rss_mib() - rss_before))
            print(f"  measured {engine.name} {info.id}", file=sys.stderr, flush=True)
    socket = _socket_first_audio([(r[1], _language(r[1], piper, kokoro)) for r in rows], args.runs)
    base_ttfa, base_rtf, base_socket = rows[0][2], rows[0][3], socket[rows[0][1]]
    print(
        "| engine | voice | first audio (engine) | × piper | first audio (socket) | × piper "
        "| RTF | × piper | recall | peak RSS |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, voice, ttfa, rtf, recall, rss in rows:
        said = f"{recall:.2f}" if recall is not None else "-"
        print(
            f"| {name} | {voice} | {ttfa * 1000:.0f} ms | {ttfa / base_ttfa:.1f} | "
            f"{socket[voice] * 1000:.0f} ms | {socket[voice] / base_socket:.1f} | {rtf:.3f} | "
            f"{rtf / base_rtf:.1f} | {said} | +{rss:.0f} MiB |"
        )


def _language(voice_id: str, *engines: Engine) -> str:
    return next(v.language for e in engines for v in e.voices() if v.id == voice_id)


def _socket_first_audio(voices: list[tuple[str, str]], runs: int) -> dict[str, float]:
    """Median first audio of each voice's first sentence through `ttsd serve`."""
    found: dict[str, float] = {}
    with running_ttsd("--kokoro", "on") as server:
        url = f"ws://{server.host}:{server.port}/tts/websocket"
        for voice, language in voices:
            measure, close = latency.ttsd_socket(url, 24000, voice, language)
            text = FIRST if language == "en" else OTHERS[language]
            try:
                measure(text)  # warm up
                samples = [measure(text) for _ in range(runs)]
            finally:
                close()
            found[voice] = statistics.median(s.ttfa_s for s in samples)
            print(f"  measured {voice} over the socket", file=sys.stderr, flush=True)
    return found


if __name__ == "__main__":
    main()
