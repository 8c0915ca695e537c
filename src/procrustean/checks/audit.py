"""``procrustean audit``: walk from an output to the raw data, re-hashing every file on the way.

Each file on the chain is one of: present and matching its record; absent here (a clone holds
the committed small outputs, not splits and checkpoints); or present but different from its
record (tampering or staleness). Absent files can be re-derived in a scratch clone and checked
against their records.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from procrustean.checks.code_lineage import LINEAGE_FILE, load_lineage
from procrustean.errors import UserError
from procrustean.fileio import read_json, sha256_file
from procrustean.provenance import PROV_SUFFIX, STAGE_ENTRY, current_code_hash, stage_code_hashes

SEARCH_ROOTS = ("results", "data", "runs")
OK, ABSENT, DIFFERS = "ok", "absent here", "DIFFERS"
EXIT_OK, EXIT_DIFFERS, EXIT_UNVERIFIED = 0, 1, 3


@dataclass
class AuditReport:
    """The chain that was walked: each file's expected hash and what was found."""

    lines: list[str] = field(default_factory=list)
    expected: dict[str, str] = field(default_factory=dict)  # path -> recorded sha256
    status: dict[str, str] = field(default_factory=dict)  # path -> OK | ABSENT | DIFFERS
    recorded_by: dict[str, str] = field(default_factory=dict)
    code_changes: dict[str, set[str]] = field(default_factory=dict)  # code file -> records
    accepted: dict[str, set[str]] = field(default_factory=dict)  # lineage entry ids -> records

    @property
    def files(self) -> int:
        return len(self.status)

    def paths(self, status: str) -> list[str]:
        return [p for p, s in self.status.items() if s == status]

    @property
    def exit_code(self) -> int:
        if self.paths(DIFFERS):
            return EXIT_DIFFERS
        return EXIT_UNVERIFIED if self.paths(ABSENT) else EXIT_OK


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


def _study_of(path: str) -> str | None:
    parts = Path(path).parts
    if len(parts) >= 2 and parts[0] in ("results", "runs"):
        return parts[1]
    if len(parts) >= 3 and parts[:2] == ("data", "splits"):
        return parts[2]
    return None


def dvc_remote_configured() -> bool:
    """Whether DVC has a remote to pull from here."""
    try:
        proc = subprocess.run(["dvc", "remote", "list"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def how_to_bring(path: str, remote: bool) -> str:
    """The commands that bring an absent file here."""
    study = _study_of(path)
    remake = f"snakemake --cores all {study}" if study else "re-run the stage that makes it"
    return f"dvc pull {path}, or {remake}" if remote else remake


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
    remote: list[bool] = []
    lineage = load_lineage()

    def check(path: str, expected: str, recorded_by: str, depth: int) -> None:
        first = path not in report.status
        if first:
            actual = sha256_file(path) if Path(path).is_file() else None
            status = OK if actual == expected else (ABSENT if actual is None else DIFFERS)
            report.status[path], report.expected[path] = status, expected
            report.recorded_by[path] = recorded_by
        status = report.status[path]
        note = ""
        if status == ABSENT:
            if not remote:
                remote.append(dvc_remote_configured())
            note = f" (bring it: {how_to_bring(path, remote[0])})"
        elif status == DIFFERS:
            note = f" (recorded by {recorded_by})"
        indent = f"{'  ' * depth}{'<- ' if depth else ''}"
        report.lines.append(f"{indent}{path}  sha256 {expected[:12]}  {status}{note}")
        if first:
            walk(path, depth + 1)

    def walk(path: str, depth: int) -> None:
        if path not in producers:
            return
        rec_path, record = producers[path]
        code, kind = record.get("code_files", {}), record.get("stage")
        via = lineage.accepted(kind, code, stage_code_hashes(kind)) if kind in STAGE_ENTRY else None
        if via:
            report.accepted.setdefault(via, set()).add(rec_path)
        elif via is None:
            for code_file, digest in code.items():
                if current_code_hash(code_file) != digest:
                    report.code_changes.setdefault(code_file, set()).add(rec_path)
        for inp, expected in sorted(record.get("inputs", {}).items()):
            check(inp, expected, rec_path, depth)

    rec_path, record = producers[target]
    check(target, record["outputs"][target], rec_path, 0)
    return report


def summary_lines(report: AuditReport) -> list[str]:
    """What the audit found, in a few lines, the verdict last."""
    ok, absent, differs = (len(report.paths(s)) for s in (OK, ABSENT, DIFFERS))
    lines = []
    for via, records in sorted(report.accepted.items()):
        lines.append(
            f"code: {len(records)} record(s) on this chain were made by code that {LINEAGE_FILE} "
            f"accepts as equivalent to this tree's (accepted {via})"
        )
    if report.code_changes:
        files = ", ".join(sorted(report.code_changes))
        lines.append(
            f"code: outputs on this chain were made by code that differs from this tree ({files}); "
            "'procrustean status' lists them"
        )
    counts = (
        f"{report.files} files: {ok} match their records, {absent} absent here, {differs} differ"
    )
    if differs:
        first = report.paths(DIFFERS)[0]
        lines.append(
            f"audit FAILED: {counts}; {first} differs from the hash "
            f"{report.recorded_by[first]} recorded (changed after it was made, or stale)"
        )
    elif absent:
        lines.append(
            f"audit unverified here: {counts}; nothing present contradicts its record "
            "(bring the absent files with dvc pull, or re-derive them: procrustean audit --rederive)"
        )
    else:
        lines.append(f"audit ok: {counts}")
    return lines
