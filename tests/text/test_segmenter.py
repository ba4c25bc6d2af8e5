"""Sentence and clause boundaries of `ttsd.text.segmenter`, on real-world text."""

from __future__ import annotations

import pytest

from ttsd.text import find_release_point, split_sentences

# Complete texts and their sentences. Each sentence keeps the whitespace after it.
SENTENCES: list[tuple[str, list[str]]] = [
    ("Hello world. How are you?", ["Hello world. ", "How are you?"]),
    ("No terminator at all", ["No terminator at all"]),
    ("", []),
    # decimals and currency
    ("It costs 3.5 dollars. Fine.", ["It costs 3.5 dollars. ", "Fine."]),
    ("I paid $1,000.50 for it. Then I left.", ["I paid $1,000.50 for it. ", "Then I left."]),
    ("Pi is about 3.14159. That is enough.", ["Pi is about 3.14159. ", "That is enough."]),
    ("I counted to 10. Then I stopped.", ["I counted to 10. ", "Then I stopped."]),
    # times: a colon between digits is not a boundary of any kind
    ("We meet at 3:30. Be on time.", ["We meet at 3:30. ", "Be on time."]),
    # titles and other abbreviations that never end a sentence
    ("Dr. Smith arrived. He sat down.", ["Dr. Smith arrived. ", "He sat down."]),
    ("Mr. and Mrs. Jones met Ms. Lee.", ["Mr. and Mrs. Jones met Ms. Lee."]),
    (
        "Prof. Adams lives on Baker St. near the park.",
        ["Prof. Adams lives on Baker St. near the park."],
    ),
    ("It was Ali vs. Frazier. A classic.", ["It was Ali vs. Frazier. ", "A classic."]),
    ("Use a fruit, e.g. an apple. Or not.", ["Use a fruit, e.g. an apple. ", "Or not."]),
    ("One thing, i.e. This one. Done.", ["One thing, i.e. This one. ", "Done."]),
    # abbreviations that end a sentence only before a capitalized word
    ("Apples, pears, etc. are fruit.", ["Apples, pears, etc. are fruit."]),
    ("Apples, pears, etc. Then we ate.", ["Apples, pears, etc. ", "Then we ate."]),
    (
        "At 9 a.m. we left. At 5 p.m. We came back.",
        ["At 9 a.m. we left. ", "At 5 p.m. ", "We came back."],
    ),
    ("The U.S. economy grew. Good.", ["The U.S. economy grew. ", "Good."]),
    ("He moved to the U.S. Then he worked.", ["He moved to the U.S. ", "Then he worked."]),
    ("It is No. 5 on the list. No. I won't.", ["It is No. 5 on the list. ", "No. ", "I won't."]),
    # initials
    ("J. R. R. Tolkien wrote it. Read it.", ["J. R. R. Tolkien wrote it. ", "Read it."]),
    ("George W. Bush spoke. People listened.", ["George W. Bush spoke. ", "People listened."]),
    # URLs and e-mails
    ("Visit example.com for more. Thanks.", ["Visit example.com for more. ", "Thanks."]),
    ("See https://a.b/c?d=1 now. Bye.", ["See https://a.b/c?d=1 now. ", "Bye."]),
    ("Write to joe@mail.example.org. I answer.", ["Write to joe@mail.example.org. ", "I answer."]),
    ("Go to www.python.org! It helps.", ["Go to www.python.org! ", "It helps."]),
    # quotes and brackets
    ('He said "Stop." Then he left.', ['He said "Stop." ', "Then he left."]),
    ('"Stop!" she said. He did.', ['"Stop!" she said. ', "He did."]),
    ("“Why?” he asked. “Because.” Fine.", ["“Why?” he asked. ", "“Because.” ", "Fine."]),
    ("(This is an aside.) Then it ended.", ["(This is an aside.) ", "Then it ended."]),
    ("He left (finally). We cheered.", ["He left (finally). ", "We cheered."]),
    ("She said 'no.' Then she ran.", ["She said 'no.' ", "Then she ran."]),
    # ellipsis
    ("Wait... what? No way.", ["Wait... what? ", "No way."]),
    ("I thought… maybe not. Then… Yes!", ["I thought… maybe not. ", "Then… ", "Yes!"]),
    ("And then... Nothing happened.", ["And then... ", "Nothing happened."]),
    # runs of terminal punctuation
    (
        "Really?! I had no idea. Wow!!! Great.",
        ["Really?! ", "I had no idea. ", "Wow!!! ", "Great."],
    ),
    ("Yahoo! is a company. Sure.", ["Yahoo! ", "is a company. ", "Sure."]),
    # whitespace: multiple spaces, newlines, paragraphs
    ("One.   Two.", ["One.   ", "Two."]),
    ("One.\nTwo.\n", ["One.\n", "Two.\n"]),
    ("Title\n\nBody text here", ["Title\n\n", "Body text here"]),
    ("Title\r\n\r\nBody", ["Title\r\n\r\n", "Body"]),
    ("Line one\nline two", ["Line one\nline two"]),
    ("\n\nLeading blank. Next", ["\n\nLeading blank. ", "Next"]),
    # CJK: no space needed after the full stop
    ("你好。我是小明！你呢？", ["你好。", "我是小明！", "你呢？"]),
    ("「你好。」他说。", ["「你好。」", "他说。"]),
    ("今日は。 元気ですか？", ["今日は。 ", "元気ですか？"]),
    # numbered lists: "1. " at a line start is a marker, not a sentence
    (
        "Steps:\n1. Open the box.\n2. Remove the tray.\n",
        ["Steps:\n1. Open the box.\n", "2. Remove the tray.\n"],
    ),
    ("1. First item\n2. Second item", ["1. First item\n2. Second item"]),
    ("  3. Indented item. Done.", ["  3. Indented item. ", "Done."]),
    # clauses never split a complete text into sentences
    ("Well, as I said before, the point is this.", ["Well, as I said before, the point is this."]),
]


@pytest.mark.parametrize(("text", "expected"), SENTENCES)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected
    assert "".join(split_sentences(text)) == text


# A buffer in the middle of a stream, and what may be released from it now (the buffer
# may end anywhere: the next token has not arrived).
RELEASES: list[tuple[str, str]] = [
    ("Hello world", ""),
    ("Hello world.", "Hello world."),
    ("Hello world. ", "Hello world. "),
    ("Hello world. How", "Hello world. "),
    ("Hello world.  \n How are", "Hello world.  \n "),
    ("One. Two. Three", "One. Two. "),
    ("Is it?", "Is it?"),
    ("Stop!", "Stop!"),
    ("Really?!", "Really?!"),
    # "." at the end of the buffer waits when the word could go on
    ("It costs 3.", ""),
    ("It costs $1,000.", ""),
    ("I was born in 1990.", ""),
    ("Ask Dr.", ""),
    ("Ask Dr. ", ""),
    ("Call J.", ""),
    ("For example, e.", ""),
    ("For example, e.g.", ""),
    ("and so on, etc.", ""),
    ("and so on, etc. ", ""),
    ("and so on, etc. Then", "and so on, etc. "),
    ("and so on, etc. then", ""),
    ("It is No.", ""),
    ("It is No. 5", ""),
    ("We meet at 3 p.m.", ""),
    ("He moved to the U.S.", ""),
    ("Mail joe@mail.", ""),
    ("Mail joe@mail.example.org.", ""),
    ("Mail joe@mail.example.org. Thanks", "Mail joe@mail.example.org. "),
    ("See https://a.b/c?", ""),
    ("See https://a.b/c?d=1", ""),
    ("Go to mail.example.", ""),
    ("Go to www.python.", ""),
    # ellipsis waits for the next word: "wait... what" is one sentence
    ("Wait...", ""),
    ("Wait... ", ""),
    ("Wait... what", ""),
    ("Wait... What", "Wait... "),
    ("I think…", ""),
    # quotes and brackets: wait for the closer, and for the word after a closing quote
    ('He said "Stop.', ""),
    ('He said "Stop!', ""),
    ('He said "Stop."', ""),
    ('He said "Stop." ', ""),
    ('He said "Stop." Then', 'He said "Stop." '),
    ('"Stop!" she', ""),
    ("(An aside.", ""),
    ("(An aside.)", "(An aside.)"),
    ("「你好。", ""),
    ("「你好。」", "「你好。」"),
    ("你好。", "你好。"),
    ("你好。我是", "你好。"),
    # list markers at the start of a line
    ("1. ", ""),
    ("Steps:\n2. ", ""),
    ("Steps:\n2. Open the box.", "Steps:\n2. Open the box."),
    # paragraph breaks
    ("Title\n\n", "Title\n\n"),
    ("Title\n\nBody", "Title\n\n"),
    ("\n\n", ""),
    # clauses are not released when first_segment is False
    ("Well, as I said before, the point", ""),
]


@pytest.mark.parametrize(("buffer", "released"), RELEASES)
def test_find_release_point(buffer: str, released: str) -> None:
    cut = find_release_point(buffer, first_segment=False)
    assert buffer[:cut] == released


# First segment: a clause end releases once its sentence has `min_clause_words` words.
CLAUSES: list[tuple[str, int, str]] = [
    ("Well, as I said before, the point is", 3, "Well, as I said before, "),
    ("Well, as I said before", 3, ""),
    ("Well, as I said", 1, "Well, "),
    ("Well, as I said before, the point is", 10, ""),
    ("First of all; second", 3, "First of all; "),
    ("Here is the plan: we go", 3, "Here is the plan: "),
    ("We met at 3:30 and then", 3, ""),
    ("It cost 1,000 dollars, more or less", 3, "It cost 1,000 dollars, "),
    ("Well — as I said — the point", 3, "Well — as I said — "),
    ("Well – as I said – the point", 3, "Well – as I said – "),
    ("Well -- as I said -- the point", 3, "Well -- as I said -- "),
    ("A well-known fact, indeed", 3, "A well-known fact, "),
    ("It was 1,", 1, ""),  # no whitespace yet: "1," may become "1,000"
    ("Visit https://example.com now, please", 3, "Visit https://example.com now, "),
    ('He said "yes, of course," and', 3, 'He said "yes, of course," '),
    ("He left (for good, it seems", 3, ""),
    ("Hi there. Well, as", 3, "Hi there. "),
    ("Hi there. Well, as I said, the", 3, "Hi there. Well, as I said, "),
    ("Sure. And then, later on, we", 2, "Sure. And then, later on, "),
]


@pytest.mark.parametrize(("buffer", "min_words", "released"), CLAUSES)
def test_clause_release_first_segment(buffer: str, min_words: int, released: str) -> None:
    cut = find_release_point(buffer, first_segment=True, min_clause_words=min_words)
    assert buffer[:cut] == released


@pytest.mark.parametrize(
    "buffer",
    ["Well, as I said before, the point is", "Here is the plan: we go", "Well — as I said — the"],
)
def test_no_clause_release_after_first_segment(buffer: str) -> None:
    assert find_release_point(buffer, first_segment=False) == 0


@pytest.mark.parametrize(
    ("buffer", "min_chars", "released"),
    [
        ("Hi. How are you? Fine", 1, "Hi. How are you? "),
        ("Hi. How", 5, ""),
        ("Hi. How are you? Fine", 5, "Hi. How are you? "),
        ("Hi.", 4, ""),
        ("Hi.", 3, "Hi."),
        ("  Ok.  ", 3, "  Ok.  "),
    ],
)
def test_min_sentence_chars(buffer: str, min_chars: int, released: str) -> None:
    cut = find_release_point(buffer, first_segment=False, min_sentence_chars=min_chars)
    assert buffer[:cut] == released


def test_clause_may_release_before_a_short_sentence_would() -> None:
    # A too-short sentence end does not hide a later clause end of the first segment.
    buffer = "Hi. Well, as I said before, the"
    cut = find_release_point(buffer, first_segment=True, min_sentence_chars=10)
    assert buffer[:cut] == "Hi. Well, as I said before, "


@pytest.mark.parametrize(("text", "expected"), SENTENCES)
def test_release_point_of_a_complete_text_is_a_sentence_end(text: str, expected: list[str]) -> None:
    # On a whole text, the release point lies on one of split_sentences' cuts.
    cuts = {0}
    for sentence in expected:
        cuts.add(max(cuts) + len(sentence))
    assert find_release_point(text, first_segment=False) in cuts
