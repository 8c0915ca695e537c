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


def commit_completed(params: dict, dry_run: bool = False) -> list[str]:
    """Run ``dvc commit -f`` for every stage whose outputs all exist; return their names."""
    names = [
        name for name, outs in stage_outputs(params).items() if all(Path(o).exists() for o in outs)
    ]
    if names and not dry_run:
        proc = subprocess.run(
            [_dvc(), "commit", "-f", "-q", *names], capture_output=True, text=True
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise UserError(f"dvc commit failed: {last}; run 'dvc status' to see which stage")
    return names
