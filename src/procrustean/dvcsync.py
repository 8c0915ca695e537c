"""Keep DVC's lock in step with Snakemake: commit the stages whose outputs Snakemake wrote."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from procrustean.config import lookup, study_runs, study_settings
from procrustean.errors import UserError
from procrustean.paths import (
    PROV,
    history_path,
    metrics_path,
    model_path,
    report_outputs,
    split_path,
    split_summary_path,
)


def stage_outputs(params: dict) -> dict[str, list[str]]:
    """DVC stage name -> its outputs, for every study (names as dvc.yaml's matrices make them)."""
    stages: dict[str, list[str]] = {}
    for study in params["studies"]:
        recipe = lookup(params, "studies", study)["recipe"]
        for s in study_settings(params, study):
            key = f"{study}-{s.dataset}-{s.profile}-{s.ratio}"
            split = split_path(study, s)
            stages[f"split-{study}@{key}"] = [split, split + PROV, split_summary_path(study, s)]
        for r in study_runs(params, study):
            s = r.setting
            key = f"{s.dataset}-{s.profile}-{s.ratio}-{r.method}-{r.seed}"
            hist, metrics = history_path(study, r), metrics_path(study, r)
            stages[f"train-{study}@{study}-{recipe}-{key}"] = [
                hist,
                hist + PROV,
                model_path(study, r),
            ]
            stages[f"evaluate-{study}@{study}-{key}"] = [metrics, metrics + PROV]
        report = report_outputs(study)
        stages[f"report@{study}"] = [*report, report[0] + PROV]
    return stages


def _dvc() -> str:
    local = Path(sys.executable).parent / "dvc"
    found = str(local) if local.exists() else shutil.which("dvc")
    if not found:
        raise UserError("dvc is not installed; run 'bash scripts/setup.sh' to set up the venv")
    return found


LOCK = Path("dvc.lock")


def _needs_commit(outs: list[str], since: float | None) -> bool:
    """All outputs exist and (unless ``since`` is None) one was written after ``since``."""
    paths = [Path(o) for o in outs]
    if not all(p.exists() for p in paths):
        return False
    return since is None or any(p.stat().st_mtime > since for p in paths)


def commit_targets(
    stages: dict[str, list[str]], since: float | None = None
) -> tuple[list[str], list[str]]:
    """The stages to commit, and the fewest targets naming them.

    A stage qualifies when all its outputs exist and, with ``since``, one is newer than that
    time (dvc.lock's): DVC re-reads params.yaml for every params dependency, about 0.5 s a
    stage, so committing only what changed keeps a re-run's bookkeeping short. A matrix
    group's name stands for its stages when all of them qualify.
    """
    chosen = {n for n, outs in stages.items() if _needs_commit(outs, since)}
    groups: dict[str, list[str]] = {}
    for name in stages:
        groups.setdefault(name if name.startswith("report@") else name.split("@")[0], []).append(
            name
        )
    targets: list[str] = []
    for group, members in groups.items():
        if all(m in chosen for m in members):
            targets.append(group)
        else:
            targets += [m for m in members if m in chosen]
    return [n for n in stages if n in chosen], targets


def commit_completed(params: dict, dry_run: bool = False, everything: bool = False) -> list[str]:
    """Run ``dvc commit -f`` for the stages whose outputs all exist and changed since dvc.lock
    was last written (every complete stage with ``everything``); return their names."""
    since = None if everything or not LOCK.exists() else LOCK.stat().st_mtime
    names, targets = commit_targets(stage_outputs(params), since)
    if targets and not dry_run:
        proc = subprocess.run(
            [_dvc(), "commit", "-f", "-q", *targets], capture_output=True, text=True
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise UserError(f"dvc commit failed: {last}; run 'dvc status' to see which stage")
    return names
