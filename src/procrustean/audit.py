"""``procrustean audit``: walk from an output to the raw data, re-hashing every file on the way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from procrustean.errors import UserError
from procrustean.fileio import read_json, sha256_file
from procrustean.lineage import PROV_SUFFIX

SEARCH_ROOTS = ("results", "data", "runs")


@dataclass
class AuditReport:
    """The chain that was walked and the mismatches found (first one first)."""

    lines: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    files: int = 0


def index_records(roots: Iterable[str] = SEARCH_ROOTS) -> dict[str, tuple[str, dict]]:
    """Map each recorded output path to (record path, record)."""
    producers: dict[str, tuple[str, dict]] = {}
    for root in roots:
        for rec_path in Path(root).rglob(f"*{PROV_SUFFIX}"):
            try:
                record = read_json(rec_path)
            except ValueError:
                continue
            for out in record.get("outputs", {}):
                producers[out] = (str(rec_path), record)
    return producers


def audit(target: str, roots: Iterable[str] = SEARCH_ROOTS) -> AuditReport:
    """Re-hash ``target`` and everything it was made from, against every recorded hash."""
    if not Path(target).is_file():
        raise UserError(f"{target}: no such file; give a table, metrics file or checkpoint path")
    producers = index_records(roots)
    if target not in producers:
        raise UserError(
            f"{target}: no provenance record lists it; is it a pipeline output? "
            "(records are the *.prov.json files beside outputs)"
        )
    report = AuditReport()
    hashes: dict[str, str | None] = {}
    visited: set[str] = set()

    def current(path: str) -> str | None:
        if path not in hashes:
            hashes[path] = sha256_file(path) if Path(path).is_file() else None
            report.files += 1
        return hashes[path]

    def check(path: str, expected: str, recorded_by: str, depth: int) -> None:
        actual = current(path)
        ok = actual == expected
        status = "ok" if ok else ("MISSING" if actual is None else "MISMATCH")
        report.lines.append(
            f"{'  ' * depth}{'<- ' if depth else ''}{path}  sha256 {expected[:12]}  {status}"
        )
        if not ok:
            found = "missing" if actual is None else f"sha256 {actual[:12]}..."
            report.mismatches.append(
                f"{path}: {found}, but {recorded_by} recorded {expected[:12]}..."
            )
        walk(path, depth + 1)

    def walk(path: str, depth: int) -> None:
        if path in visited or path not in producers:
            return
        visited.add(path)
        rec_path, record = producers[path]
        for inp, expected in sorted(record.get("inputs", {}).items()):
            check(inp, expected, rec_path, depth)

    rec_path, record = producers[target]
    check(target, record["outputs"][target], rec_path, 0)
    return report
