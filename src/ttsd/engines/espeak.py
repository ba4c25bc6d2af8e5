"""espeak-ng, as bundled by `piper-tts`, shared by every engine in the process.

espeak-ng keeps one global state (the voice set last, its buffers): two threads that set
different voices and phonemize at once would read each other's language. Piper's own
`PiperVoice.phonemize` holds `piper.voice._ESPEAK_PHONEMIZER_LOCK` around its calls, so
every other user here (the Kokoro engine's G2P for its non-English voices and for English
words its lexicon lacks) holds the same lock, and uses the same phonemizer instance.
"""

from __future__ import annotations

import threading
from typing import Any

from piper import voice as piper_voice
from piper.phonemize_espeak import ESPEAK_DATA_DIR, EspeakPhonemizer

#: The lock Piper's voices hold while they phonemize (a private name of `piper.voice`; a
#: lock of our own stands in if a future piper-tts renames it, and then only Piper's
#: own calls could race with ours).
ESPEAK_LOCK: Any = getattr(piper_voice, "_ESPEAK_PHONEMIZER_LOCK", threading.Lock())


def phonemize(language: str, text: str) -> list[list[str]]:
    """`text` as espeak-ng's IPA for `language` (an espeak voice name such as "en-us",
    "fr-fr"), one list of phoneme characters (NFD, punctuation and spaces kept) per
    sentence. Raises RuntimeError for a voice espeak does not know."""
    with ESPEAK_LOCK:
        phonemizer = getattr(piper_voice, "_ESPEAK_PHONEMIZER", None)
        if phonemizer is None:
            phonemizer = EspeakPhonemizer(ESPEAK_DATA_DIR)
            piper_voice._ESPEAK_PHONEMIZER = phonemizer
        result: list[list[str]] = phonemizer.phonemize(language, text)
        return result
