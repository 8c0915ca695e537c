"""Fresh clones of the repository, as a newcomer gets them, and the two engines run inside."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from tests.helpers import BIN, REPO, cli_env


def fresh_clone(dest: Path, source: Path = REPO) -> Path:
    """``git clone`` of the committed HEAD of ``source``: committed results/ and dvc.lock
    included, no splits, checkpoints or DVC cache (exactly what a user gets; uncommitted edits
    are not in it, so commit before running these tests locally). In a tree without git (a
    ``git archive`` tarball) the clone is of the tree's files as they are (``_git_of``)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", str(_git_of(source)), str(dest)], check=True)
    return dest


_SNAPSHOTS: dict[Path, Path] = {}


def _git_of(source: Path) -> Path:
    """A git repository to clone ``source`` from: itself in a git checkout; for a tree without
    git, a repository made once per session of its files (what its .gitignore keeps out stays
    out), kept outside the tree."""
    source = source.resolve()
    inside = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=source, capture_output=True, text=True
    )
    if inside.returncode == 0 and Path(inside.stdout.strip()).resolve() == source:
        return source
    if source not in _SNAPSHOTS:
        git_dir = Path(tempfile.mkdtemp(prefix="procrustean-tarball-")) / "repo.git"
        git = ["git", f"--git-dir={git_dir}", f"--work-tree={source}"]
        subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True)
        subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
        identity = ["-c", "user.name=test", "-c", "user.email=test@example.org"]
        subprocess.run(
            [*git[:1], *identity, *git[1:], "commit", "-qm", "the tarball's files"],
            check=True,
            capture_output=True,
        )
        _SNAPSHOTS[source] = git_dir
    return _SNAPSHOTS[source]


def commit_all(repo: Path, message: str) -> None:
    """Commit everything in a test clone (git identity given inline)."""
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.org",
            "commit",
            "-qm",
            message,
        ],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def run(
    cmd: list[str],
    cwd: Path,
    check: bool = True,
    timeout: float = 900,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run a command with the venv's tools on PATH and the clone's own code (its src/) first;
    ``env`` adds variables."""
    exe = str(BIN / cmd[0]) if (BIN / cmd[0]).exists() else cmd[0]
    env = cli_env() | (env or {})
    if (cwd / "src" / "procrustean").is_dir():
        env["PYTHONPATH"] = str(cwd / "src")
    proc = subprocess.run(
        [exe, *cmd[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def snakemake_jobs(dry_run_output: str) -> dict[str, int]:
    """Job counts per rule from a dry run's 'Job stats' table."""
    stats = dry_run_output.split("Job stats:")[-1]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)
        if m.group(1) != "total"
    }


def smoke_dvc_targets() -> list[str]:
    return ["run-config@smoke", "split-smoke", "train-smoke", "evaluate-smoke", "report@smoke"]


STATUS_LINE = re.compile(r"^  (?:stale|absent|re-made|never recorded) (\S+): (.*)$", re.M)


def status_reasons(stdout: str) -> dict[str, str]:
    """``procrustean status``'s per-stage lines: the stage's first output -> why."""
    return dict(STATUS_LINE.findall(stdout))
