"""Feeding text token by token, as an LLM streams it, and releasing what may be spoken.

The server concatenates pieces into a buffer, calls `find_release_point` after each
piece, and cuts the released prefix off. Whatever the pieces, the releases plus the
final remainder must give back the input exactly, and no release may cut a sentence.
"""

from __future__ import annotations

import re

import pytest

from ttsd.text import find_release_point, split_sentences

# A rough imitation of a BPE tokenizer: a leading space sticks to the word after it,
# long words come in pieces of three letters ("Hel", "lo"), "..." and ".com"-like
# suffixes are one token (as in GPT and Llama vocabularies), other punctuation is one
# token per character, and runs of newlines are one token.
_TOKEN = re.compile(r" ?[^\W\d_]+| ?\d{1,3}|\.\.\.|\.\w+|\n+|\s+|[^\w\s]")
_PIECE = re.compile(r" ?[^\W\d_]{1,3}|.+", re.DOTALL)


def llm_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        tokens.extend(_PIECE.findall(token) if token.strip().isalpha() else [token])
    assert "".join(tokens) == text
    return tokens


def stream(pieces: list[str], *, first_segment_clauses: bool = False) -> tuple[list[str], str]:
    """Feed `pieces`; return the released segments and what is left in the buffer."""
    released: list[str] = []
    buffer = ""
    for piece in pieces:
        buffer += piece
        first = first_segment_clauses and not released
        cut = find_release_point(buffer, first_segment=first)
        if cut:
            released.append(buffer[:cut])
            buffer = buffer[cut:]
    return released, buffer


PARAGRAPHS: list[tuple[str, list[str]]] = [
    (
        "Hello world. How are you today? I am fine, thanks! See you soon.",
        ["Hello world.", "How are you today?", "I am fine, thanks!", "See you soon."],
    ),
    (
        "Dr. Smith paid $1,000.50 at 3:30 p.m. yesterday. The U.S. office agreed. "
        "J. R. R. Tolkien wrote it, e.g. in 1937. Done.",
        [
            "Dr. Smith paid $1,000.50 at 3:30 p.m. yesterday.",
            "The U.S. office agreed.",
            "J. R. R. Tolkien wrote it, e.g. in 1937.",
            "Done.",
        ],
    ),
    (
        "Visit https://a.b/c?d=1 or example.com today. Mail joe@mail.example.org. "
        "Pi is 3.14159. Thanks.",
        [
            "Visit https://a.b/c?d=1 or example.com today.",
            "Mail joe@mail.example.org.",
            "Pi is 3.14159.",
            "Thanks.",
        ],
    ),
    (
        'He said "Stop." Then he left. Wait... what? "No!" she said. (Fine.) Ok.',
        ['He said "Stop."', "Then he left.", "Wait... what?", '"No!" she said.', "(Fine.)", "Ok."],
    ),
    (
        "Steps:\n1. Open the box.\n2. Take it out.\n\nThat is all",
        ["Steps:\n1. Open the box.", "2. Take it out.", "That is all"],
    ),
    (
        "你好。我是小明！你呢？好的。",
        ["你好。", "我是小明！", "你呢？", "好的。"],
    ),
    (
        "Apples, pears, etc. are fruit. No. 5 is mine. No. I won't.   Bye.",
        ["Apples, pears, etc. are fruit.", "No. 5 is mine.", "No.", "I won't.", "Bye."],
    ),
]


@pytest.mark.parametrize(("text", "sentences"), PARAGRAPHS)
def test_streamed_tokens_release_whole_sentences(text: str, sentences: list[str]) -> None:
    released, rest = stream(llm_tokens(text))
    assert "".join(released) + rest == text
    assert [segment.strip() for segment in [*released, rest] if segment.strip()] == sentences


@pytest.mark.parametrize(("text", "sentences"), PARAGRAPHS)
def test_streamed_tokens_agree_with_split_sentences(text: str, sentences: list[str]) -> None:
    assert [s.strip() for s in split_sentences(text)] == sentences


# Character by character is harsher than any tokenizer: every prefix is a buffer. A bare
# domain ("example." before "com") or an ellipsis ("wait." before "..") cannot be told
# from a sentence end that way, so these paragraphs leave them out.
CHAR_BY_CHAR = [text for text, _ in PARAGRAPHS if "example.com" not in text and "..." not in text]


@pytest.mark.parametrize("text", CHAR_BY_CHAR)
def test_char_by_char_releases_whole_sentences(text: str) -> None:
    released, rest = stream(list(text))
    assert "".join(released) + rest == text
    expected = [s.strip() for s in split_sentences(text)]
    assert [segment.strip() for segment in [*released, rest] if segment.strip()] == expected


def test_first_segment_releases_a_clause_early() -> None:
    text = "Well, as I said before, the point is simple. We wait, and then we go"
    released, rest = stream(llm_tokens(text), first_segment_clauses=True)
    assert "".join(released) + rest == text
    assert [segment.strip() for segment in released] == [
        "Well, as I said before,",
        "the point is simple.",
    ]
    # Later segments wait for a sentence end: "We wait, " is not released.
    assert rest.strip() == "We wait, and then we go"


def test_released_prefix_carries_the_following_whitespace() -> None:
    # When the whitespace has arrived with the punctuation, the remainder starts at a word.
    released, rest = stream(["Hello", " world.", " ", " How", " are"])
    assert released == ["Hello world."]
    assert rest == "  How are"
    released, rest = stream(["Hello", " world", ". ", "How", " are"])
    assert released == ["Hello world. "]
    assert rest == "How are"
