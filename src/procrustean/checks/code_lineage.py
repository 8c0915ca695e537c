"""Stage code accepted as equivalent: the committed record that a change of stage code leaves
the stage's bytes unchanged, written only after a study re-derived byte for byte under the new
code (``procrustean accept-code``; procrustean.checks.accept_code).

A provenance record names the code its stage ran (the sha256 of each source file). That code is
current when it equals this tree's, or when a chain of accepted changes leads from one to the
other: each entry of ``LINEAGE_FILE`` names, per kind of stage, the code before (``from``) and
after (``to``) one change, with the evidence. The content rule, DVC's key files and
``procrustean audit`` compare code through ``root``: the oldest code of its chain, so a stage
made before an accepted change, one made after it and this tree agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from procrustean.errors import UserError
from procrustean.fileio import sha256_json

LINEAGE_FILE = Path("results/code_lineage.json")
Code = dict[str, str]  # source file -> sha256


def code_id(code: Code) -> str:
    """A short, stable name for one version of a stage's code."""
    return sha256_json(code)[:12]


@dataclass(frozen=True)
class Lineage:
    """The accepted changes: per kind of stage, each later code's digest -> (earlier code,
    the entry that accepted the change)."""

    entries: tuple[dict[str, Any], ...] = ()
    _back: dict[tuple[str, str], tuple[Code, str]] = field(
        default_factory=dict, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        for entry in self.entries:
            for kind, change in entry["stages"].items():
                self._back[(kind, sha256_json(change["to"]))] = (change["from"], entry["id"])

    def plus(self, entry: dict[str, Any]) -> Lineage:
        """This lineage with one more accepted change (to ask what it would accept)."""
        return Lineage((*self.entries, entry))

    def root(self, kind: str, code: Code) -> Code:
        """The oldest code the accepted changes lead back to from ``code`` (on a cycle, the one
        with the smallest digest, so every code on it has the same root)."""
        path = [(sha256_json(code), code)]
        while (step := self._back.get((kind, path[-1][0]))) is not None:
            digest = sha256_json(step[0])
            seen = [d for d, _ in path]
            if digest in seen:
                return min(path[seen.index(digest) :], key=lambda p: p[0])[1]
            path.append((digest, step[0]))
        return path[-1][1]

    def accepted(self, kind: str, recorded: Code, current: Code) -> str | None:
        """'' when the codes are equal, the accepting entries' ids (comma-separated) when
        accepted changes lead from one to the other, None when the code really changed."""
        if recorded == current:
            return ""
        if self.root(kind, recorded) != self.root(kind, current):
            return None
        ids = []
        for code in (recorded, current):
            while (step := self._back.get((kind, sha256_json(code)))) is not None:
                if step[1] in ids:
                    break
                ids.append(step[1])
                code = step[0]
        return ", ".join(dict.fromkeys(ids))


def _check_entry(entry: Any, where: str) -> None:
    ok = (
        isinstance(entry, dict)
        and isinstance(entry.get("id"), str)
        and isinstance(entry.get("stages"), dict)
        and all(
            isinstance(c, dict)
            and isinstance(c.get("from"), dict)
            and isinstance(c.get("to"), dict)
            for c in entry["stages"].values()
        )
    )
    if not ok:
        raise UserError(
            f"{where}: an entry lacks 'id' or 'stages' {{kind: {{from, to}}}}; restore the file "
            "from git (git checkout -- results/code_lineage.json): only procrustean accept-code "
            "writes it"
        )


@cache
def _read(path: str, stamp: tuple[int, int]) -> Lineage:
    try:
        doc = json.loads(Path(path).read_text())
    except ValueError as exc:
        raise UserError(
            f"{path} is not valid JSON ({exc}); restore it from git "
            "(git checkout -- results/code_lineage.json)"
        ) from None
    entries = doc.get("accepted", []) if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise UserError(f"{path}: expected {{'accepted': [...]}}; restore it from git")
    for i, entry in enumerate(entries):
        _check_entry(entry, f"{path} accepted[{i}]")
    return Lineage(tuple(entries))


def load_lineage(path: str | Path = LINEAGE_FILE) -> Lineage:
    """The accepted changes this tree records (none when the file is absent)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return Lineage()
    return _read(str(p), (st.st_mtime_ns, st.st_size))
