"""Every reference in the README, the docs, docstrings and comments points at something
that exists in this repository.

- A path (`src/ttsd/server/drain.py`, `server/drain.py`, `deploy/nginx/ttsd.conf`) names
  a file of the repository: from its root, from `src/ttsd/`, from `src/`, or from the
  folder of the file that mentions it (or one above it).
- A Markdown link to a local file finds it, and its `#anchor` finds a heading there.
- A section of the two reference documents is cited with the file's name:
  `docs/protocol.md §8.4`, `docs/protocol.md §9.7, §9.8`, `docs/architecture.md "Cancel"`,
  and the section exists (numbers and titles are read from the documents' headings).
  A `§` with no file before it is an error outside those documents (RFCs excepted);
  inside them it means a section of the same document.
- Nothing refers to notes kept outside the repository: `../shared`, `shared/*.md`, the
  design notes (`design.md`), the client captures (`clients.md`) or a `protocol.md` that is
  not `docs/protocol.md`.

`test_the_checks_catch_bad_references` runs the same checks on planted bad references.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("docs/protocol.md", "docs/architecture.md")

#: Files and folders scanned, from the repository root.
SCANNED = (
    "README.md",
    "Dockerfile",
    "pyproject.toml",
    "docs",
    "benchmarks",
    "deploy",
    "examples",
    "scripts",
    "src/ttsd",
    "tests",
)
SUFFIXES = {".py", ".md", ".js", ".sh", ".toml", ".yaml", ".yml", ".conf"}
#: Not ours to check: vendored data, caches, installed packages, this file's own examples.
SKIPPED = {"__pycache__", "node_modules", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
SKIPPED_PATHS = {"src/ttsd/engines/kokoro/data", "tests/test_docs_references.py"}

#: A path to a file, as prose and comments write one: at least one folder, then a name
#: with one of these endings.
PATH = re.compile(
    r"(?<![\w/.@$~{}*-])((?:\.{1,2}/)?(?:[\w.-]+/)+[\w.-]*\.(?:py|md|toml|conf|ya?ml|sh|js))"
    r"(?![\w/])"
)
PATH_SUFFIXES = (".py", ".md", ".toml", ".conf", ".yaml", ".yml", ".sh", ".js")
#: Files of other projects that the code names (a library's module, for instance).
EXTERNAL = ("websockets/", "uvicorn/")
URL = re.compile(r"\b(?:https?|file)://[^\s)>\]\"'`]+")
MD_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
SECTION_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(.*)$")
#: `docs/protocol.md §8.2, §8.3`, `docs/protocol.md §1–§4`, `docs/architecture.md "Cancel"`.
CITATION = re.compile(
    r"docs/(protocol|architecture)\.md"
    r"(?P<sections>(?:(?:\s*(?:,|and|or|to|–|-)?\s*)§\s?\d+(?:\.\d+)*)*)"
    r"(?P<title>\s+\"[^\"\n]+\")?"
)
SECTION_REF = re.compile(r"§\s?(\d+(?:\.\d+)*)")
RFC = re.compile(r"RFC\s?\d+[\s#:]*$")
#: References to notes that live outside the repository.
OUTSIDE = (
    (re.compile(r"\.\./shared\b|/work/shared\b"), "a path outside the repository"),
    (re.compile(r"(?<![\w/.])shared/[\w./-]*\.(?:md|txt)"), "a file outside the repository"),
    (re.compile(r"\bdesign\.md\b"), "design.md (outside the repository): use docs/"),
    (re.compile(r"\bclients\.md\b"), "clients.md (outside the repository): use docs/"),
)
BARE_DOC = re.compile(r"(?<![\w/.-])(protocol|architecture)\.md\b")


def scanned_files() -> Iterator[Path]:
    """Every text file whose references are checked."""
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(ROOT)
                if not file.is_file() or file.suffix not in SUFFIXES:
                    continue
                if SKIPPED & set(relative.parts) or any(
                    relative.as_posix().startswith(skip) for skip in SKIPPED_PATHS
                ):
                    continue
                yield file


@cache
def headings(doc: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Section numbers, titles (lower case, without number and backticks) and GitHub
    anchors of the Markdown file `doc` (a path from the root)."""
    path = ROOT / doc
    if not path.is_file():
        return frozenset(), frozenset(), frozenset()
    text = strip_code_blocks(path.read_text(encoding="utf-8"))
    numbers, titles, anchors = set(), set(), set()
    for heading in HEADING.findall(text):
        anchors.add(anchor_of(heading))
        numbered = SECTION_NUMBER.match(heading)
        title = numbered.group(2) if numbered else heading
        if numbered:
            numbers.add(numbered.group(1))
        titles.add(title.replace("`", "").strip().lower())
    return frozenset(numbers), frozenset(titles), frozenset(anchors)


def anchor_of(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to `-`."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def strip_code_blocks(text: str) -> str:
    """`text` without fenced code blocks (their `#` lines are not headings)."""
    return re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.MULTILINE | re.DOTALL)


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def problems_in(relative: str, text: str) -> list[str]:
    """Every bad reference in `text`, the contents of the file at `relative` (from the
    root), as `file:line: what`."""
    problems: list[str] = []

    def report(offset: int, what: str) -> None:
        problems.append(f"{relative}:{line_of(text, offset)}: {what}")

    in_docs = relative.startswith("docs/")
    for pattern, what in OUTSIDE:
        for match in pattern.finditer(text):
            report(match.start(), f"{what}: {match.group()!r}")
    if not in_docs:
        for match in BARE_DOC.finditer(text):
            report(match.start(), f"write docs/{match.group()}, not {match.group()!r}")
    problems += [f"{relative}:{p}" for p in section_problems(relative, text)]
    problems += [f"{relative}:{p}" for p in path_problems(relative, text)]
    return problems


def section_problems(relative: str, text: str) -> list[str]:
    """Citations of sections that do not exist, and `§`s that name no document."""
    problems: list[str] = []
    cited: set[int] = set()  # offsets of the `§`s that belong to a citation
    for match in CITATION.finditer(text):
        doc = f"docs/{match.group(1)}.md"
        numbers, titles, _ = headings(doc)
        where = line_of(text, match.start())
        if not numbers and not titles:
            problems.append(f"{where}: {doc} does not exist or has no headings")
            continue
        sections = match.group("sections") or ""
        base = match.start("sections")
        for ref in SECTION_REF.finditer(sections):
            cited.add(base + ref.start())
            if ref.group(1) not in numbers:
                problems.append(f"{where}: {doc} has no section §{ref.group(1)}")
        title = match.group("title")
        if title:
            wanted = title.strip().strip('"').replace("`", "").lower()
            if wanted not in titles:
                problems.append(f'{where}: {doc} has no section titled "{title.strip()[1:-1]}"')
    own = relative if relative in DOCS else None
    for ref in SECTION_REF.finditer(text):
        if ref.start() in cited:
            continue
        before = text[max(0, ref.start() - 12) : ref.start()]
        if RFC.search(before):
            continue
        where = line_of(text, ref.start())
        if own is None:
            problems.append(
                f"{where}: §{ref.group(1)} names no document: write docs/protocol.md §N "
                "or docs/architecture.md §N"
            )
        elif ref.group(1) not in headings(own)[0]:
            problems.append(f"{where}: {own} has no section §{ref.group(1)}")
    return problems


def path_problems(relative: str, text: str) -> list[str]:
    """Local links and file paths that lead nowhere."""
    problems: list[str] = []
    here = (ROOT / relative).parent
    markdown = relative.endswith(".md")
    if markdown:
        for match in MD_LINK.finditer(text):
            target = match.group(2)
            if URL.match(target) or target.startswith(("mailto:", "#")):
                own_anchor = target.startswith("#") and relative in DOCS
                if own_anchor and target[1:] not in headings(relative)[2]:
                    problems.append(f"{line_of(text, match.start())}: no heading {target}")
                continue
            file, _, anchor = target.partition("#")
            path = (here / file).resolve()
            if not path.exists():
                problems.append(f"{line_of(text, match.start())}: link to missing {file}")
            elif anchor and path.suffix == ".md":
                doc = path.relative_to(ROOT).as_posix()
                if anchor not in headings(doc)[2]:
                    problems.append(f"{line_of(text, match.start())}: {doc} has no #{anchor}")
        # Links to the web are checked by nobody here: their text may name remote files.
        text = MD_LINK.sub(lambda m: "" if URL.match(m.group(2)) else m.group(0), text)
    text = URL.sub("", text)
    bases = [ROOT, ROOT / "src" / "ttsd", ROOT / "src", here, *here.parents]
    for match in PATH.finditer(text):
        token = match.group(1)
        name = token.removeprefix("./")
        parts = name.split("/")
        if len(parts) < 2 or name.startswith(EXTERNAL):
            continue
        if any(part.endswith(PATH_SUFFIXES) for part in parts[:-1]):
            continue  # `run_all.py/load.py`: one file or the other, both named elsewhere
        if any((base / name).exists() for base in bases) or name in repository_suffixes():
            continue
        problems.append(f"{line_of(text, match.start())}: no file {token}")
    return problems


@cache
def repository_suffixes() -> frozenset[str]:
    """Every tail of every file path in the repository (`base/kustomization.yaml` is a
    tail of `deploy/kubernetes/base/kustomization.yaml`): prose may name a file from the
    folder it is talking about."""
    tails: set[str] = set()
    for folder, folders, files in os.walk(ROOT):
        # Pruned in place: virtual environments and caches are not the repository's.
        folders[:] = [
            name
            for name in folders
            if not name.startswith(".") and name not in SKIPPED and not name.endswith(".egg-info")
        ]
        parts = Path(folder).relative_to(ROOT).parts
        for name in files:
            path = (*parts, name)
            tails.update("/".join(path[i:]) for i in range(len(path) - 1))
    return frozenset(tails)


def test_references_point_at_what_exists() -> None:
    problems = [
        problem
        for path in scanned_files()
        for problem in problems_in(
            path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
        )
    ]
    assert not problems, "\n".join(problems)


def test_the_reference_documents_exist_and_are_numbered() -> None:
    for doc in DOCS:
        numbers, titles, _ = headings(doc)
        assert numbers, f"{doc} has no numbered sections"
        assert titles


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see protocol.md §8.4", "write docs/protocol.md"),
        ("see ../shared/protocol.md", "outside the repository"),
        ("as /work/shared/seeds/x.txt says", "outside the repository"),
        ("(shared/clients.md)", "outside the repository"),
        ('design.md "cancel"', "design.md"),
        ("see docs/protocol.md §99.1", "no section §99.1"),
        ("see docs/protocol.md §1.2, §98", "no section §98"),
        ('see docs/architecture.md "No such section"', "no section titled"),
        ("as §4.1 says", "names no document"),
        ("see src/ttsd/server/no_such_module.py", "no file src/ttsd/server/no_such_module.py"),
        ("see server/no_such_module.py", "no file server/no_such_module.py"),
        ("see docs/no_such_doc.md", "no file docs/no_such_doc.md"),
    ],
)
def test_the_checks_catch_bad_references(text: str, expected: str) -> None:
    problems = problems_in("src/ttsd/planted.py", text)
    assert any(expected in problem for problem in problems), problems


def test_the_checks_catch_bad_markdown_links() -> None:
    text = "[a](docs/missing.md) [b](docs/protocol.md#no-such-anchor)"
    problems = problems_in("README.md", text)
    assert any("link to missing docs/missing.md" in p for p in problems), problems
    assert any("has no #no-such-anchor" in p for p in problems), problems


def test_the_checks_accept_good_references() -> None:
    text = (
        "docs/protocol.md §1.2 and docs/protocol.md §9.7, §9.8; server/drain.py, "
        "src/ttsd/server/drain.py, RFC 6455 §7.4.1; https://example.com/a/b.py"
    )
    assert problems_in("src/ttsd/planted.py", text) == []
