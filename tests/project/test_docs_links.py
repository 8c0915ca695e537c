"""The user's guide and its reference pages: links resolve, the README stays short and starts
with its two commands, and the bad-input table lists every tested case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import REPO

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MAX_LINES = 210  # the guide aims at about 200

QUICK_COMMAND = "bash scripts/setup.sh && .venv/bin/snakemake --cores all quick"
TEST_COMMAND = 'bash scripts/setup.sh && .venv/bin/python -m pytest -m "not slow"'

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+).*?\1")
# [text](target) and ![alt](target); the target ends at whitespace or ")" (a title may follow).
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SECTION_BY_NAME = re.compile(r"\bsee \"([^\"]+)\"", re.IGNORECASE)


def prose_lines(path: Path) -> list[str]:
    """The page's lines outside fenced code blocks (a `#` there is a comment, not a heading)."""
    out, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append(line)
    return out


def fenced_blocks(path: Path) -> list[list[str]]:
    blocks, current = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            if current is None:
                current = []
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lowercased, punctuation removed
    (letters, digits, `_`, hyphens and spaces kept), spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor, with GitHub's -1, -2, ... suffixes for repeated headings."""
    seen: dict[str, int] = {}
    out = set()
    for line in prose_lines(path):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        if slug in seen:
            seen[slug] += 1
            out.add(f"{slug}-{seen[slug]}")
        else:
            seen[slug] = 0
            out.add(slug)
    return out


def links(path: Path) -> list[str]:
    """Relative link targets in the page's prose (code spans and blocks excluded)."""
    found = []
    for line in prose_lines(path):
        found += LINK.findall(INLINE_CODE.sub("", line))
    return [t for t in found if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]


def test_pages_exist():
    assert README.is_file()
    assert DOCS, "docs/*.md: the reference pages are missing"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_and_anchors_resolve(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest}")
            continue
        try:
            dest.relative_to(REPO)
        except ValueError:
            broken.append(f"{target}: outside the repository")
            continue
        if anchor:
            if dest.suffix != ".md" or dest.is_dir():
                broken.append(f"{target}: an anchor into a file that is not Markdown")
            elif anchor not in anchors(dest):
                broken.append(f"{target}: no heading with anchor #{anchor} in {dest.name}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_sections_named_in_prose_exist(page):
    """A section referred to by its quoted name ('see "Running"') must be a heading somewhere."""
    headings = {
        HEADING.match(line).group(2).strip().lower()
        for p in PAGES
        for line in prose_lines(p)
        if HEADING.match(line)
    }
    named = [
        name
        for line in prose_lines(page)
        for name in SECTION_BY_NAME.findall(line)
        if name.strip().lower() not in headings
    ]
    assert not named, named


def test_no_link_leaves_the_repository():
    """References to files outside the repository (../shared/...) cannot be followed by users."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert "../shared/" not in text, page


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_readme_starts_with_its_two_commands():
    first = fenced_blocks(README)[0]
    text = "\n".join(first)
    assert "bash scripts/setup.sh" in text
    assert any(line.startswith(QUICK_COMMAND) for line in first), first
    assert any(line.startswith(TEST_COMMAND) for line in first), first


def test_bad_input_table_lists_every_case():
    """Every case of tests/cli/test_bad_input.py is a row of docs/reliability.md's table."""
    from tests.cli.test_bad_input import CASES

    text = (REPO / "docs" / "reliability.md").read_text(encoding="utf-8")
    table = text.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    missing = [c.name for c in CASES if f"| {c.name} |" not in table]
    assert not missing, missing


def test_slug_rule():
    assert github_slug("Verifying: verify, compare, status, audit") == (
        "verifying-verify-compare-status-audit"
    )
    assert github_slug("Choosing MFW's constants") == "choosing-mfws-constants"
    assert github_slug("The paper study (CIFAR-10/100-LT)") == "the-paper-study-cifar-10100-lt"
    assert github_slug("Deployment: the venv") == "deployment-the-venv"
