"""`split_steps` / `step_end` / `speech_pieces`: no engine step longer than its budget,
cut where a speaker would pause (issue 8)."""

from __future__ import annotations

import random

import pytest

from ttsd.text.steps import speech_pieces, split_steps, step_end

LONG_SENTENCE = (
    "The rain fell on the hills and the rivers rose, while in the town the people waited "
    "for hours in the cold wind that blew from the sea without a pause. "
)


def check_pieces(text: str, pieces: list[str], max_chars: int, first: int | None = None) -> None:
    assert "".join(pieces) == text
    assert all(pieces), pieces
    assert all(len(piece) <= max_chars for piece in pieces), [len(p) for p in pieces]
    if first is not None and pieces:
        assert len(pieces[0]) <= first


def test_text_that_fits_is_one_piece() -> None:
    assert split_steps("Hello there, world.", 100) == ["Hello there, world."]
    assert step_end("Hello", 0, 5) == 5


def test_the_budget_holds_at_its_edge() -> None:
    text = "word " * 40  # 200 characters
    assert split_steps(text, 200) == [text]
    assert len(split_steps(text + "x", 200)) == 2


def test_a_clause_end_is_preferred() -> None:
    pieces = split_steps(LONG_SENTENCE, 100)
    check_pieces(LONG_SENTENCE, pieces, 100)
    assert pieces[0].endswith("rivers rose, ")


def test_without_a_clause_the_cut_falls_before_a_phrase() -> None:
    text = "Everybody waited patiently outside the old station building " * 3
    pieces = split_steps(text, 80)
    check_pieces(text, pieces, 80)
    first_word_after_cut = pieces[1].split()[0]
    assert first_word_after_cut.lower() in {"outside", "the"} or pieces[0].endswith(" ")
    # Never right after another phrase-opening word: "the | old" would be one.
    assert not pieces[0].rstrip().endswith((" the", " a", " to"))


def test_a_cut_between_words_keeps_the_space_with_the_first_piece() -> None:
    text = "supercalifragilistic expialidocious " * 10
    pieces = split_steps(text, 50)
    check_pieces(text, pieces, 50)
    assert all(piece.endswith(" ") for piece in pieces[:-1])
    assert all(not piece.startswith(" ") for piece in pieces)


def test_a_single_word_longer_than_the_budget_is_cut_hard() -> None:
    text = "x" * 20_000
    pieces = split_steps(text, 200)
    check_pieces(text, pieces, 200)
    assert len(pieces) == 100


def test_never_between_groups_of_digits() -> None:
    text = "word " * 7 + "1 000 000 000"  # the last word boundaries lie inside the number
    assert split_steps(text, 40) == ["word " * 7, "1 000 000 000"]


def test_a_hard_cut_never_falls_inside_a_number() -> None:
    text = "abcdefghij" * 3 + "1234567890"  # the number straddles the 35-character edge
    pieces = split_steps(text, 35)
    check_pieces(text, pieces, 35)
    assert pieces[1].startswith("1234567890")


def test_a_number_longer_than_the_budget_is_cut_anyway() -> None:
    text = "7" * 500
    check_pieces(text, split_steps(text, 100), 100)


def test_a_hard_cut_keeps_combining_marks_with_their_letter() -> None:
    text = "e\u0301" * 100  # é as e + combining acute, no spaces
    pieces = split_steps(text, 51)
    check_pieces(text, pieces, 51)
    assert all(piece[0] == "e" for piece in pieces)


def test_cjk_clause_marks_are_clause_ends() -> None:
    text = "我们今天去公园散步，" * 20
    pieces = split_steps(text, 50)
    check_pieces(text, pieces, 50)
    assert all(piece.endswith("，") for piece in pieces)


def test_the_first_piece_has_its_own_budget() -> None:
    text = "word " * 100
    pieces = split_steps(text, 200, first_chars=60)
    check_pieces(text, pieces, 200, first=60)
    assert len(pieces[1]) > 100


def test_adversarial_brackets_and_commas_are_cut_into_bounded_pieces() -> None:
    text = "(" + ", " * 9999
    check_pieces(text, split_steps(text, 200), 200)


@pytest.mark.parametrize("seed", range(20))
def test_random_text_always_joins_and_fits(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["word", "1", "000", ",", " ", "  ", "(", ")", '"', "the", "x" * 30, "—", "\n"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
    budget = rng.randint(1, 120)
    check_pieces(text, split_steps(text, budget), budget)


def test_speech_pieces_are_sentences_with_long_ones_cut() -> None:
    text = "Hello there. " + LONG_SENTENCE + "Goodbye now."
    pieces = speech_pieces(text, 100, first_chars=8)
    check_pieces(text, pieces, 100)
    assert pieces[0] == "Hello "  # the first piece's own budget, cut between words
    assert pieces[1] == "there. "
    assert pieces[-1] == "Goodbye now."


def test_split_steps_rejects_a_zero_budget() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        split_steps("text", 0)


def test_a_sentence_end_is_preferred_over_a_clause_end() -> None:
    text = "We met at noon. Then, after lunch, we walked for hours along the river " * 3
    pieces = split_steps(text, 100)
    check_pieces(text, pieces, 100)
    assert pieces[0].endswith("noon. ")


def test_an_abbreviation_is_not_a_sentence_end() -> None:
    text = "Please ask Dr. Smith about the results of the test and the next appointment "
    pieces = split_steps(text * 2, 60)
    check_pieces(text * 2, pieces, 60)
    assert not pieces[0].endswith("Dr. ")
