"""Word alignment against espeak-style phoneme sequences (no model needed)."""

from ttsd.engines.alignment import WordSpan, align_words


def _spoken(spans: list[WordSpan], spoken: list[str]) -> list[str]:
    return ["".join(spoken[s.start : s.end]) for s in spans]


def test_one_to_one_words_map_to_their_groups() -> None:
    spoken = list("hɛloʊ wɜːld")
    spans = align_words(["Hello", "world"], [list("hɛloʊ"), list("wɜːld")], spoken)
    assert _spoken(spans, spoken) == ["hɛloʊ", "wɜːld"]


def test_words_merged_by_the_phonemizer_are_split_again() -> None:
    # espeak speaks "in the" as one group "ɪnðə"
    spoken = list("ɪnðə kæt")
    spans = align_words(["in", "the", "cat"], [list("ɪn"), list("ðə"), list("kæt")], spoken)
    assert _spoken(spans, spoken) == ["ɪn", "ðə", "kæt"]


def test_a_word_expanded_to_several_groups_keeps_them_all() -> None:
    spoken = list("ɪt wʌz θɹiː pɔɪnt faɪv dɪɡɹiːz")
    words = ["It", "was", "3.5", "degrees"]
    isolated = [list("ɪt"), list("wʌz"), list("θɹiː pɔɪnt faɪv"), list("dɪɡɹiːz")]
    spans = align_words(words, isolated, spoken)
    assert _spoken(spans, spoken) == ["ɪt", "wʌz", "θɹiː pɔɪnt faɪv", "dɪɡɹiːz"]


def test_context_dependent_pronunciation_still_aligns() -> None:
    # "the" is "ðə" alone but "ði" before a vowel in context
    spoken = list("ði æpəl")
    spans = align_words(["the", "apple"], [list("ðə"), list("æpəl")], spoken)
    assert _spoken(spans, spoken) == ["ði", "æpəl"]


def test_unspoken_words_get_empty_spans_in_order() -> None:
    spoken = list("dʌn ænd dʌstɪd")
    words = ["done", "—", "&", "dusted"]
    spans = align_words(words, [list("dʌn"), [], list("ænd"), list("dʌstɪd")], spoken)
    assert [s.word for s in spans] == words
    assert spans[1].start == spans[1].end
    assert _spoken(spans, spoken)[2:] == ["ænd", "dʌstɪd"]
    starts = [s.start for s in spans]
    assert starts == sorted(starts)


def test_a_trailing_unspoken_word_sits_on_the_last_phoneme() -> None:
    spoken = list("hɛloʊ.")
    spans = align_words(["Hello.", "—"], [list("hɛloʊ."), []], spoken)
    assert spans[1].start == len(spoken) - 1 == spans[1].end
