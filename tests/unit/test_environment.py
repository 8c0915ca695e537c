"""The locked environment: requirements.txt pins every package with hashes, and the venv is it."""

from __future__ import annotations

import platform
import re
import sys
from importlib import metadata

import pytest

from tests.helpers import REPO

LOCK = REPO / "requirements.txt"
TOP_LEVEL = REPO / "requirements.in"
NOT_COMPARED = {"pip", "setuptools", "wheel"}  # installer tools: the venv's own, whatever the lock
FIX = (
    "run bash scripts/setup.sh (if it says up to date, delete the venv's .procrustean-setup first; "
    "pip uninstall what the lock lacks); the lock is changed by editing requirements.in and "
    "running bash scripts/lock.sh"
)


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def logical_lines(text: str) -> list[str]:
    """Lines of a requirements file with backslash continuations joined and comments dropped."""
    lines = []
    for line in text.replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if line:
            lines.append(line)
    return lines


def requirement_lines(text: str) -> list[str]:
    """The requirement lines (not options such as --index-url) of a requirements file."""
    return [line for line in logical_lines(text) if not line.startswith("-")]


def name_of(line: str) -> str:
    """The normalised name a requirement line starts with."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    assert match, f"not a requirement: {line!r}"
    return normalise(match.group())


def locked() -> dict[str, str]:
    """Normalised name -> exact version, from the lock."""
    pins = {}
    for line in requirement_lines(LOCK.read_text()):
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"requirements.txt: no exact pin in {line!r}"
        pins[normalise(match.group(1))] = match.group(2)
    return pins


def test_lock_pins_every_package_with_hashes():
    lines = requirement_lines(LOCK.read_text())
    assert len(lines) > 100, "requirements.txt should be the full lock (bash scripts/lock.sh)"
    bad = [
        line.split()[0]
        for line in lines
        if "--hash=sha256:" not in line or not re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*==\S", line)
    ]
    assert not bad, (
        f"requirements.txt: no exact '==' pin or no --hash=sha256: for {bad}; regenerate it with bash scripts/lock.sh"
    )
    top = {name_of(line) for line in requirement_lines(TOP_LEVEL.read_text())}
    missing = sorted(top - set(locked()))
    assert not missing, (
        f"requirements.in names {missing}, which the lock lacks; run bash scripts/lock.sh"
    )


@pytest.mark.skipif(
    (sys.platform, platform.machine(), sys.version_info[:2]) != ("linux", "x86_64", (3, 11)),
    reason="the lock is for Linux x86-64, CPython 3.11",
)
def test_venv_holds_exactly_the_lock():
    installed: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        name = normalise(dist.metadata["Name"] or "")
        if name and name != "procrustean" and name not in NOT_COMPARED:
            installed.setdefault(name, set()).add(dist.version)
    lock = {n: v for n, v in locked().items() if n not in NOT_COMPARED}
    problems = [f"missing: {n}=={lock[n]}" for n in sorted(lock.keys() - installed.keys())]
    problems += [
        f"not in the lock: {n}=={'/'.join(sorted(installed[n]))}"
        for n in sorted(installed.keys() - lock.keys())
    ]
    problems += [
        f"{n}: installed {'/'.join(sorted(installed[n]))}, locked {lock[n]}"
        for n in sorted(lock.keys() & installed.keys())
        if installed[n] != {lock[n]}
    ]
    assert not problems, (
        f"the venv ({sys.prefix}) differs from requirements.txt:\n  "
        + "\n  ".join(problems)
        + f"\nTo fix: {FIX}"
    )
