"""Gather a study's metrics and histories into tidy frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from procrustean.config import study_runs
from procrustean.diagnostics import gradient_ratio, progress_gap
from procrustean.errors import UserError
from procrustean.fileio import read_json
from procrustean.paths import history_path, metrics_path


@dataclass
class StudyData:
    """One row per run (``runs``) and one row per run x epoch x class (``curves``)."""

    runs: pd.DataFrame
    curves: pd.DataFrame
    inputs: list[str]


def _read(path: str) -> dict:
    if not Path(path).is_file():
        raise UserError(f"{path}: missing; run the study's train and evaluate stages first")
    return read_json(path)


def collect(params: dict, study: str) -> StudyData:
    """Read every run of ``study`` (metrics and history)."""
    rows, curves, inputs = [], [], []
    for run in study_runs(params, study):
        mpath, hpath = metrics_path(study, run), history_path(study, run)
        metrics, history = _read(mpath), _read(hpath)
        inputs += [mpath, hpath]
        groups = history["groups"]
        row = {
            "setting": run.setting.name,
            "method": run.method,
            "seed": run.seed,
            "top1": metrics["top1"],
            "progress_gap": progress_gap(history["epochs"], groups),
            "gradient_ratio": gradient_ratio(history["epochs"], groups),
        }
        row.update({f"group_{g}": v for g, v in metrics["groups"].items()})
        row.update({f"class_{c}": v for c, v in enumerate(metrics["per_class"])})
        rows.append(row)
        for e in history["epochs"]:
            for c, (acc, grad) in enumerate(zip(e["class_acc"], e["class_grad_norm"], strict=True)):
                curves.append(
                    {
                        "setting": run.setting.name,
                        "method": run.method,
                        "seed": run.seed,
                        "epoch": e["epoch"],
                        "class": c,
                        "count": history["class_counts"][c],
                        "train_acc": acc,
                        "grad_norm": grad,
                    }
                )
    return StudyData(pd.DataFrame(rows), pd.DataFrame(curves), inputs)
