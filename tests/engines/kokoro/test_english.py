"""English G2P for Kokoro: misaki's lexicons, espeak-ng for the rest, numbers spelled out."""

import pytest

from ttsd.engines.kokoro.english import MAX_WORD_CHARS, EnglishG2P
from ttsd.engines.kokoro.normalize import spoken_words
from ttsd.engines.kokoro.voices import vocabulary

US = EnglishG2P(british=False)
GB = EnglishG2P(british=True)


def _said(g2p: EnglishG2P, text: str) -> list[list[tuple[str, str]]]:
    return [[(w.word, s.phonemes[w.start : w.end]) for w in s.words] for s in g2p(text)]


def test_lexicon_words_use_misaki_phonemes_per_dialect() -> None:
    assert _said(US, "Hello world") == [[("Hello", "həlˈO"), ("world", "wˈɜɹld")]]
    assert _said(GB, "Hello world") == [[("Hello", "həlˈQ"), ("world", "wˈɜːld")]]


def test_sentences_end_at_their_punctuation_but_not_at_abbreviations() -> None:
    sentences = US("Mr. Smith left. Did he go to the U.S. today? Yes!")
    assert [[w.word for w in s.words] for s in sentences] == [
        ["Mr.", "Smith", "left."],
        ["Did", "he", "go", "to", "the", "U.S.", "today?"],
        ["Yes!"],
    ]
    assert sentences[0].phonemes.startswith("mˈɪstəɹ smˈɪθ")  # no pause after "Mr."
    assert sentences[0].phonemes.endswith(".")


def test_punctuation_stays_as_pauses_outside_the_word_spans() -> None:
    (sentence,) = US('"Wait," she said (quietly).')
    assert sentence.phonemes == '"wˈAt," ʃi sˈɛd (kwˈIətli).'
    assert [sentence.phonemes[w.start : w.end] for w in sentence.words] == [
        "wˈAt",
        "ʃi",
        "sˈɛd",
        "kwˈIətli",
    ]


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("$12.50", "twelve dollars and fifty cents"),
        ("£1", "one pound"),
        ("1999", "nineteen ninety nine"),
        ("1990s", "nineteen nineties"),
        ("3:05", "three oh five"),
        ("7:00", "seven o'clock"),
        ("12%", "twelve percent"),
        ("21st", "twenty first"),
        ("1,000,000", "one million"),
        ("-3.14", "minus three point one four"),
        ("1234567890123", "one two three four five six seven eight nine zero one two three"),
        ("COVID-19", "COVID nineteen"),
        ("&", "and"),
        ("e.g.", "for example"),
        ("—", ""),
    ],
)
def test_numbers_money_and_symbols_are_spelled_out(token: str, words: str) -> None:
    assert spoken_words(token) == words.split()


@pytest.mark.parametrize(
    ("text", "british", "words"),
    [
        ("12/02/2026", False, "December second twenty twenty six"),
        ("12/02/2026", True, "February twelfth twenty twenty six"),
        ("2026-12-02", False, "December second twenty twenty six"),
        ("2026-13-45", False, "two thousand and twenty six thirteen forty five"),
        ("3pm", False, "three P.M."),
        ("10:30a.m.", False, "ten thirty A.M."),
        ("Dec.", False, "December"),
    ],
)
def test_dates_and_times_are_read_as_a_speaker_says_them(
    text: str, british: bool, words: str
) -> None:
    assert spoken_words(text, british=british) == words.split()


def test_a_day_after_a_month_is_an_ordinal_and_dec_does_not_end_a_sentence() -> None:
    (sentence,) = US("On Dec. 2 we met.")
    assert sentence.phonemes.startswith("ˌɔn disˈɛmbəɹ sˈɛkənd wi")


def test_a_lexicon_entry_for_the_whole_token_wins_over_its_parts() -> None:
    assert _said(US, "Wi-Fi")[0] == [("Wi-Fi", "wˈIfˌI")]


def test_a_curly_apostrophe_reads_as_a_straight_one() -> None:
    assert _said(US, "don’t")[0] == [("don’t", "dˈOnt")]


def test_function_words_take_their_weak_forms() -> None:
    assert _said(US, "a cat, an owl, I am")[0] == [
        ("a", "ɐ"),
        ("cat,", "kˈæt"),
        ("an", "ɐn"),
        ("owl,", "ˈWl"),
        ("I", "ˌI"),
        ("am", "æm"),
    ]


def test_the_and_to_take_their_weak_or_strong_form_from_the_next_word() -> None:
    phonemes = [p for _, p in _said(US, "the apple to eat the cat to go")[0]]
    assert phonemes[0] == "ði" and phonemes[2] == "tʊ"
    assert phonemes[4] == "ðə" and phonemes[6] == "tə"


def test_inflections_of_known_words_and_unknown_words_are_phonemized() -> None:
    said = dict(_said(US, "walked jumping cats Zorblax")[0])
    assert said["walked"].endswith("t") and said["jumping"].endswith("ɪŋ")
    assert said["cats"].endswith("s")
    assert said["Zorblax"]  # from espeak-ng, mapped onto Kokoro's alphabet


def test_every_phoneme_is_in_kokoros_vocabulary_whatever_the_text() -> None:
    vocab = vocabulary()
    text = "Ünïcödé café naïve 😀 <b>tags</b> 3D MP3 #1 ©2024 x@y.z ½ ∑ … “quoted” — ok"
    for sentence in US(text) + GB(text):
        assert set(sentence.phonemes) <= set(vocab)


def test_a_huge_word_costs_bounded_work() -> None:
    (sentence,) = US("x" * 5000)
    # Read in pieces of MAX_WORD_CHARS letters, each cached: one word span, many phonemes.
    assert [w.word for w in sentence.words] == ["x" * 5000]
    assert len(sentence.phonemes) > 5000 // MAX_WORD_CHARS
