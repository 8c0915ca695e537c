"""``procrustean verify``: re-derive a study's committed numbers in a scratch clone, compare."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from procrustean.checks.audit import ABSENT, DIFFERS, OK, AuditReport
from procrustean.checks.compare import StudyComparison, compare_study
from procrustean.config import load_params
from procrustean.errors import UserError
from procrustean.fileio import sha256_file


def tool_env(clone: Path | None = None) -> dict[str, str]:
    """The environment with this interpreter's tools (snakemake, dvc, procrustean) first; given
    a ``clone``, its own source is imported (not the checkout the venv was installed from), so
    a re-derivation runs the code of the commit it cloned."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if clone is not None:
        src = str(Path(clone).resolve() / "src")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
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


PROGRESS = re.compile(r"(\d+) of (\d+) steps \([^)]*\) done")
LOG = "logs/verify-snakemake.log"  # Snakemake's output during verify, inside the scratch clone
TAIL = 15  # lines of that log shown when the re-derivation fails


def run_logged(cmd: list[str], cwd: Path, log: Path, label: str) -> int:
    """Run ``cmd`` with its output going to ``log``; on stderr, one line per finished job
    (from Snakemake's 'N of M steps (x%) done'). Returns the exit status."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        log.open("w", buffering=1) as out,
        subprocess.Popen(
            cmd,
            cwd=cwd,
            env=tool_env(cwd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if m := PROGRESS.search(line):
                print(f"{label}: {m[1]} of {m[2]} jobs done", file=sys.stderr, flush=True)
        return proc.wait()


def _tail(log: Path, n: int = TAIL) -> list[str]:
    try:
        return log.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return []


def rederive(
    clone: Path, targets: list[str], cores: str, log: Path | None = None, label: str = ""
) -> None:
    """Run ``snakemake TARGETS`` in ``clone``: its output streamed, or, given ``log``, written
    there with a progress line per finished job. A failure becomes a UserError naming the logs
    (given ``log``: its last lines go to stderr first)."""
    cmd = ["snakemake", "--cores", cores, *targets]
    if log is None:
        code = subprocess.run(cmd, cwd=clone, env=tool_env(clone)).returncode
    else:
        code = run_logged(cmd, clone, log, label or "re-derive")
    if code != 0:
        where = f"see the logs under {clone}/logs/"
        if log is not None:
            print(f"--- last lines of {log} ---", file=sys.stderr)
            print("\n".join(_tail(log)), file=sys.stderr, flush=True)
            where = f"Snakemake's log: {log} (last lines above; job logs under {clone}/logs/)"
        raise UserError(
            f"re-deriving {' '.join(targets)} in {clone} failed (snakemake exit {code}); {where}"
        )


def verify(
    study: str,
    params_path: str = "params.yaml",
    cores: str = "all",
    scratch: str | None = None,
    keep: bool = False,
) -> StudyComparison:
    """Clone HEAD into a scratch folder, re-derive ``study`` there from the raw data (splits,
    training, evaluation, report; Snakemake's output to ``LOG`` in the clone, a progress line
    per job on stderr) and compare its numbers and conclusions with the committed ones. A run
    missing after the re-derivation makes the conclusions differ. The clone is removed unless
    ``keep``, or the re-derivation failed (its log is then kept)."""
    params = load_params(params_path)
    params.study(study)
    root = (
        Path(scratch) if scratch else Path(tempfile.mkdtemp(prefix=f"procrustean-verify-{study}-"))
    )
    clone = scratch_clone(".", root / "repo")
    failed = False
    try:
        # Start from nothing but the raw data: drop the study's committed outputs (git keeps
        # the committed versions to compare with).
        shutil.rmtree(clone / "results" / study, ignore_errors=True)
        log = clone / LOG
        print(f"verify {study}: re-deriving in {clone} (log: {log})", file=sys.stderr, flush=True)
        try:
            rederive(clone, [study], cores, log=log, label=f"verify {study}")
        except UserError as exc:
            failed = True
            raise UserError(f"{exc}; the scratch clone {root} is kept for its logs") from None
        params = load_params(clone / "params.yaml")
        return compare_study(params, study, workdir=clone, repo=clone, missing_fails=True)
    finally:
        if not keep and not failed:
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
