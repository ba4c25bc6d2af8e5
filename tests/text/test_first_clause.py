"""`first_clause_end`: where a context's first text is cut so its audio starts sooner."""

import pytest

from ttsd.text.segmenter import first_clause_end


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Well, as I said before, the quick brown fox.", "Well, as I said before, "),
        ("One two three four, five six", "One two three four, "),
        ("First of all; second of all.", "First of all; "),
        ("So here we go — off to the races.", "So here we go — "),
        ("It costs 1,000 dollars, more or less.", "It costs 1,000 dollars, "),
        ("At 3:30 we meet, then we eat.", "At 3:30 we meet, "),
        ("(for example, this one here), then", "(for example, this one here), "),
        # "Dr. Smith," has two words: the cut waits for the next clause end
        ("Dr. Smith, our guest, arrived.", "Dr. Smith, our guest, "),
    ],
)
def test_the_first_clause_with_enough_words_is_cut(text: str, first: str) -> None:
    assert text[: first_clause_end(text, min_words=3)] == first


@pytest.mark.parametrize(
    "text",
    [
        "Hi, you.",  # the sentence ends before a three-word clause
        "Hello there. Well, as I said before, yes.",  # clauses after the first sentence
        "No clause at all here",
        "",
    ],
)
def test_no_cut_without_a_long_enough_first_clause(text: str) -> None:
    assert first_clause_end(text, min_words=3) == 0


def test_min_words_is_respected() -> None:
    text = "Well, as I said before, yes."
    assert text[: first_clause_end(text, min_words=1)] == "Well, "
    assert first_clause_end(text, min_words=6) == 0
