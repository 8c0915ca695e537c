"""``procrustean verify``: re-derive a study's committed numbers in a scratch clone, compare."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from procrustean.audit import ABSENT, DIFFERS, OK, AuditReport
from procrustean.compare import StudyComparison, compare_study
from procrustean.config import load_params, lookup
from procrustean.errors import UserError
from procrustean.fileio import sha256_file


def tool_env() -> dict[str, str]:
    """The environment with this interpreter's tools (snakemake, dvc, procrustean) first."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def scratch_clone(repo: str | Path, dest: Path) -> Path:
    """A ``git clone`` of ``repo``'s committed HEAD (what a newcomer gets) at ``dest``."""
    proc = subprocess.run(
        ["git", "clone", "-q", str(Path(repo).resolve()), str(dest)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise UserError(
            f"cannot clone {repo} into {dest}: {proc.stderr.strip().splitlines()[-1:]}; "
            "run verify inside a git checkout of procrustean"
        )
    return dest


def rederive(clone: Path, targets: list[str], cores: str, stream: bool = True) -> None:
    """Run ``snakemake TARGETS`` in ``clone``; a failure becomes a UserError naming the log."""
    cmd = ["snakemake", "--cores", cores, *targets]
    proc = subprocess.run(
        cmd,
        cwd=clone,
        env=tool_env(),
        stdout=None if stream else subprocess.PIPE,
        stderr=subprocess.STDOUT if not stream else None,
        text=True,
    )
    if proc.returncode != 0:
        raise UserError(
            f"re-deriving {' '.join(targets)} in {clone} failed (snakemake exit "
            f"{proc.returncode}); see the logs under {clone}/logs/"
        )


def verify(
    study: str,
    params_path: str = "params.yaml",
    cores: str = "all",
    scratch: str | None = None,
    keep: bool = False,
) -> StudyComparison:
    """Clone HEAD into a scratch folder, re-derive ``study`` there from the raw data (splits,
    training, evaluation, report) and compare its metrics and histories with the committed ones."""
    params = load_params(params_path)
    lookup(params, "studies", study)
    root = (
        Path(scratch) if scratch else Path(tempfile.mkdtemp(prefix=f"procrustean-verify-{study}-"))
    )
    clone = scratch_clone(".", root / "repo")
    try:
        # Start from nothing but the raw data: drop the study's committed outputs (git keeps
        # the committed versions to compare with).
        shutil.rmtree(clone / "results" / study, ignore_errors=True)
        print(f"verify {study}: re-deriving in {clone}", file=sys.stderr, flush=True)
        rederive(clone, [study], cores)
        return compare_study(load_params(clone / "params.yaml"), study, workdir=clone, repo=clone)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def rederive_absent(report: AuditReport, cores: str = "all", keep: bool = False) -> list[str]:
    """Re-derive the audit's absent files in a scratch clone of HEAD and check each against the
    hash its record holds; mark them OK or DIFFERS in ``report``. Returns one line per file."""
    absent = [p for p in report.paths(ABSENT) if not Path(p).is_absolute()]
    if not absent:
        return []
    root = Path(tempfile.mkdtemp(prefix="procrustean-rederive-"))
    lines = []
    try:
        clone = scratch_clone(".", root / "repo")
        print(f"audit: re-deriving {len(absent)} absent files in {clone}", file=sys.stderr)
        rederive(clone, absent, cores)
        for path in absent:
            made = clone / path
            actual = sha256_file(made) if made.is_file() else None
            ok = actual == report.expected[path]
            report.status[path] = OK if ok else DIFFERS
            verdict = "matches its record" if ok else f"DIFFERS (sha256 {str(actual)[:12]})"
            lines.append(f"re-derived {path}: {verdict}")
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return lines
