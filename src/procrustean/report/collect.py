"""Gather a study's metrics and histories into tidy frames.

Datasets whose params entries differ only in ``seed`` are imbalanced subsets of one dataset:
their settings share a ``family`` (the setting name with the subset's dataset name replaced by
the common one), so the report can pair and pool across subsets and keep the two sources of
spread (subset, training seed) apart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from procrustean.config import study_runs
from procrustean.entries import Dataset, Params
from procrustean.errors import UserError
from procrustean.fileio import read_json
from procrustean.paths import history_path, metrics_path
from procrustean.report.evidence import run_evidence


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


SUBSET_KEYS = ("seed", "class_order")  # what may differ between the subsets of one family


def dataset_family(entries: dict[str, Dataset]) -> dict[str, str]:
    """Dataset name -> the name of its family: datasets whose entries differ only in ``seed``
    and ``class_order`` (which images, which classes are minor) share one (their common name
    without a trailing ``_s<seed>``); others keep their own."""
    datasets = list(entries)
    key = {
        d: repr(sorted((k, v) for k, v in entries[d].resolved.items() if k not in SUBSET_KEYS))
        for d in datasets
    }
    out = {}
    for d in datasets:
        members = [o for o in datasets if key[o] == key[d]]
        if len(members) == 1:
            out[d] = d
            continue
        stems = {re.sub(r"_s\d+$", "", m) for m in members}
        out[d] = stems.pop() if len(stems) == 1 else members[0]
    return out


def collect(params: Params, study: str) -> StudyData:
    """Read every run of ``study`` (metrics and history)."""
    rows, curves, epochs, inputs = [], [], [], []
    spec = params.study(study)
    family = dataset_family({d: params.dataset(d) for d in spec.datasets})
    before = params.recipe(spec.recipe).drw_epoch
    for run in study_runs(params, study):
        mpath, hpath = metrics_path(study, run), history_path(study, run)
        metrics, history = _read(mpath), _read(hpath)
        # Committed numbers only: the checkpoint they came from is named, with its sha256, by
        # the evaluation's provenance record (procrustean audit walks there).
        inputs += [mpath, hpath]
        groups = history["groups"]
        s = run.setting
        row = {
            "setting": s.name,
            "family": f"{family[s.dataset]}-{s.profile}-r{s.ratio}",
            "subset": params.dataset(s.dataset).seed,
            "profile": s.profile,
            "method": run.method,
            "seed": run.seed,
            "top1": metrics["top1"],
            "group_rule": metrics.get("group_rule", ""),
            **run_evidence(history, before),
        }
        row.update({f"group_{g}": v for g, v in metrics["groups"].items()})
        row.update({f"class_{c}": v for c, v in enumerate(metrics["per_class"])})
        rows.append(row)
        group_of = {c: g for g, cs in groups.items() for c in cs}
        for e in history["epochs"]:
            key = {
                "setting": run.setting.name,
                "family": row["family"],
                "method": run.method,
                "seed": run.seed,
            }
            epochs.append(
                {**key, "epoch": e["epoch"], "train_loss": e["train_loss"], "lr": e["lr"]}
            )
            heldout = e.get("heldout_acc") or [None] * len(e["class_acc"])
            absent = [None] * len(e["class_acc"])
            weighted = e.get("class_grad_norm_weighted") or absent
            clean = e.get("class_grad_norm_clean") or absent
            to_major = e.get("minor_to_major") or absent
            for c, acc in enumerate(e["class_acc"]):
                curves.append(
                    {
                        **key,
                        "epoch": e["epoch"],
                        "class": c,
                        "group": group_of.get(c, ""),
                        "count": history["class_counts"][c],
                        "train_acc": acc,
                        "heldout_acc": heldout[c],
                        "grad_norm": e["class_grad_norm"][c],
                        "grad_norm_weighted": weighted[c],
                        "grad_norm_clean": clean[c],
                        "to_major": to_major[c],
                    }
                )
    return StudyData(pd.DataFrame(rows), pd.DataFrame(curves), pd.DataFrame(epochs), inputs)
