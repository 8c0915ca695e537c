"""Gather a study's metrics and histories into tidy frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from procrustean.config import study_runs
from procrustean.diagnostics import gradient_ratio, progress_gap
from procrustean.errors import UserError
from procrustean.fileio import read_json
from procrustean.paths import history_path, metrics_path, model_path


@dataclass
class StudyData:
    """One row per run (``runs``), per run x epoch x class (``curves``) and per run x epoch
    (``epochs``)."""

    runs: pd.DataFrame
    curves: pd.DataFrame
    epochs: pd.DataFrame
    inputs: list[str]


def _read(path: str) -> dict:
    if not Path(path).is_file():
        raise UserError(f"{path}: missing; run the study's train and evaluate stages first")
    return read_json(path)


def collect(params: dict, study: str) -> StudyData:
    """Read every run of ``study`` (metrics and history)."""
    rows, curves, epochs, inputs = [], [], [], []
    for run in study_runs(params, study):
        mpath, hpath = metrics_path(study, run), history_path(study, run)
        metrics, history = _read(mpath), _read(hpath)
        model = model_path(study, run)
        if not Path(model).is_file():
            raise UserError(f"{model}: missing; run the study's train stage first")
        inputs += [mpath, hpath, model]
        groups = history["groups"]
        row = {
            "setting": run.setting.name,
            "method": run.method,
            "seed": run.seed,
            "top1": metrics["top1"],
            "group_rule": metrics.get("group_rule", ""),
            "progress_gap": progress_gap(history["epochs"], groups),
            "gradient_ratio": gradient_ratio(history["epochs"], groups),
        }
        row.update({f"group_{g}": v for g, v in metrics["groups"].items()})
        row.update({f"class_{c}": v for c, v in enumerate(metrics["per_class"])})
        rows.append(row)
        group_of = {c: g for g, cs in groups.items() for c in cs}
        for e in history["epochs"]:
            key = {"setting": run.setting.name, "method": run.method, "seed": run.seed}
            epochs.append(
                {**key, "epoch": e["epoch"], "train_loss": e["train_loss"], "lr": e["lr"]}
            )
            for c, (acc, grad) in enumerate(zip(e["class_acc"], e["class_grad_norm"], strict=True)):
                curves.append(
                    {
                        **key,
                        "epoch": e["epoch"],
                        "class": c,
                        "group": group_of.get(c, ""),
                        "count": history["class_counts"][c],
                        "train_acc": acc,
                        "grad_norm": grad,
                    }
                )
    return StudyData(pd.DataFrame(rows), pd.DataFrame(curves), pd.DataFrame(epochs), inputs)
