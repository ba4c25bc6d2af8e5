"""How the Kokoro engine cuts a sentence into bounded inferences (no model needed)."""

from collections.abc import Callable

from ttsd.engines.kokoro.engine import _parts
from ttsd.engines.kokoro.english import EnglishG2P

US = EnglishG2P(british=False)


def _budgets(first: int, rest: int) -> Callable[[], int]:
    """`first` for the first inference, `rest` for every later one."""
    asked: list[int] = []

    def budget() -> int:
        asked.append(1)
        return first if len(asked) == 1 else rest

    return budget


def test_a_first_part_ends_after_a_clause_where_the_budget_allows() -> None:
    (sentence,) = US("Thanks for calling, how can I help you today with the order you placed?")
    parts = list(_parts(sentence, _budgets(40, 150)))
    assert [w.word for w in parts[0].words] == ["Thanks", "for", "calling,"]
    assert [w.word for p in parts for w in p.words] == [w.word for w in sentence.words]
    assert "".join(p.phonemes for p in parts) == sentence.phonemes


def test_without_punctuation_parts_end_between_words_and_stay_within_budget() -> None:
    (sentence,) = US(" ".join(["morning"] * 60))
    parts = list(_parts(sentence, _budgets(40, 150)))
    assert len(parts[0].phonemes) <= 40 and all(len(p.phonemes) <= 150 for p in parts)
    assert all(p.phonemes.endswith(" ") for p in parts[:-1])  # never inside a word
    assert sum(len(p.words) for p in parts) == 60


def test_one_huge_word_is_cut_hard_and_reported_once() -> None:
    sentence = US("x" * 3000)[0]
    parts = list(_parts(sentence, _budgets(40, 150)))
    assert all(len(p.phonemes) <= 150 for p in parts)
    assert [w.word for p in parts for w in p.words] == ["x" * 3000]


def test_the_budget_is_asked_anew_for_each_inference() -> None:
    (sentence,) = US(" ".join(["morning"] * 60))
    sizes = iter([40, 20, 100, 150, 150, 150])
    parts = list(_parts(sentence, lambda: next(sizes)))
    assert len(parts[0].phonemes) <= 40 and len(parts[1].phonemes) <= 20
    assert 20 < len(parts[2].phonemes) <= 100
