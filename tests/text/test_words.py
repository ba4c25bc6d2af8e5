"""Words for word timestamps, and the rules of the `ttsd.text` package itself."""

from __future__ import annotations

import ast
import itertools
import sys
from pathlib import Path

import pytest

import ttsd.text
from ttsd.text import count_words, split_words, word_spans

WORDS: list[tuple[str, list[str]]] = [
    ("Hello, world!", ["Hello,", "world!"]),
    ("", []),
    ("   ", []),
    ("  padded  text  ", ["padded", "text"]),
    ("line\nbreak\ttab", ["line", "break", "tab"]),
    ('He said "Stop." Then', ["He", "said", '"Stop."', "Then"]),
    ("It costs $1,000.50 at 3:30 p.m.", ["It", "costs", "$1,000.50", "at", "3:30", "p.m."]),
    ("Mail joe@mail.example.org now", ["Mail", "joe@mail.example.org", "now"]),
    ("Well — as I said", ["Well", "—", "as", "I", "said"]),
    ("well-known don't", ["well-known", "don't"]),
    ("你好。我是小明！", ["你好。我是小明！"]),
    ("no\u00a0break space", ["no", "break", "space"]),
]


@pytest.mark.parametrize(("text", "expected"), WORDS)
def test_split_words(text: str, expected: list[str]) -> None:
    assert split_words(text) == expected
    assert split_words(text) == text.split()


@pytest.mark.parametrize(("text", "expected"), WORDS)
def test_word_spans_point_into_the_text(text: str, expected: list[str]) -> None:
    spans = word_spans(text)
    assert [text[start:end] for start, end in spans] == expected
    assert all(a_end < b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_word_spans_offsets() -> None:
    assert word_spans(" Hi,  you.") == [(1, 4), (6, 10)]


def test_count_words_of_a_slice() -> None:
    text = "Well, as I said before, the point"
    assert count_words(text) == 7
    assert count_words(text, 6) == 6
    assert count_words(text, 0, text.index(" the")) == 5


def test_all_exports_exist() -> None:
    assert sorted(ttsd.text.__all__) == [
        "count_words",
        "find_release_point",
        "split_sentences",
        "split_words",
        "word_spans",
    ]
    for name in ttsd.text.__all__:
        assert callable(getattr(ttsd.text, name))


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize(
    "path", sorted(Path(ttsd.text.__file__).parent.glob("*.py")), ids=lambda p: p.name
)
def test_text_package_imports_only_stdlib_and_protocol(path: Path) -> None:
    # Layering: text/ sits under protocol/ and above audio/; no asyncio, numpy or I/O.
    for module in _imported_modules(path):
        top = module.split(".")[0]
        if top == "ttsd":
            assert module.startswith(("ttsd.text", "ttsd.protocol")), module
        else:
            assert top in sys.stdlib_module_names, module
            assert top not in {"asyncio", "socket", "io", "os", "threading"}, module
