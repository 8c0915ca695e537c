"""Fresh copies of the repository and the two engines run inside them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from benchmarks.pipeline import copy_repo
from tests.conftest import BIN, REPO, cli_env


def fresh_clone(dest: Path) -> Path:
    """A git clone of the working tree as it is now, without earlier results or dvc.lock."""
    dest.mkdir(parents=True)
    return copy_repo(REPO, dest)


def run(
    cmd: list[str], cwd: Path, check: bool = True, timeout: float = 900
) -> subprocess.CompletedProcess:
    """Run a command with the venv's tools on PATH."""
    exe = str(BIN / cmd[0]) if (BIN / cmd[0]).exists() else cmd[0]
    proc = subprocess.run(
        [exe, *cmd[1:]], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout
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
    return ["split-smoke", "train-smoke", "evaluate-smoke", "report@smoke"]
