"""Kokoro's non-English G2P: espeak-ng's IPA on Kokoro's alphabet, words aligned."""

import pytest

from ttsd.engines.kokoro.espeak_g2p import EspeakG2P
from ttsd.engines.kokoro.voices import vocabulary

TEXTS = {
    "es": "Hola, ¿qué tal? Tengo veinticinco años.",
    "fr": "Bonjour, les amis sont là.",
    "it": "Ciao, come stai? Una pizza, per favore.",
    "pt-br": "Olá, tudo bem? Obrigado pela ajuda.",
    "hi": "नमस्ते, आप कैसे हैं?",
}


@pytest.mark.parametrize("voice", sorted(TEXTS))
def test_each_language_gives_phonemes_and_every_word_a_span(voice: str) -> None:
    text = TEXTS[voice]
    sentences = EspeakG2P(voice)(text)
    assert [w.word for s in sentences for w in s.words] == text.split()
    for sentence in sentences:
        assert set(sentence.phonemes) <= set(vocabulary())
        starts = [w.start for w in sentence.words]
        assert starts == sorted(starts)
        assert all(0 <= w.start <= w.end <= len(sentence.phonemes) for w in sentence.words)
    spoken = [s.phonemes[w.start : w.end] for s in sentences for w in s.words]
    assert all(spoken), spoken  # every word has sounds of its own


def test_multi_letter_phonemes_become_kokoros_single_letters() -> None:
    (sentence,) = EspeakG2P("it")("pizza")
    assert "ʦ" in sentence.phonemes and "ts" not in sentence.phonemes


def test_french_keeps_its_liaison_across_words() -> None:
    (sentence,) = EspeakG2P("fr")("les amis")
    assert sentence.phonemes.startswith("lez")
