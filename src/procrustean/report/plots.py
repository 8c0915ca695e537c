"""Per-epoch curves as data for `dvc plots`: one long-form CSV per quantity (epoch, value,
series), averaged over seeds, drawn by the template workflow/plots/curves.json."""

from __future__ import annotations

import pandas as pd

# file stem -> (column in the study's frames, what it is)
PLOTS = {
    "train_accuracy": ("train_acc", "clean training accuracy of each class group"),
    "heldout_accuracy": ("heldout_acc", "held-out accuracy of each class group"),
    "feature_gradient": ("grad_norm", "feature-gradient norm of each class group"),
    "train_loss": ("train_loss", "training loss"),
}


def group_series(curves: pd.DataFrame, column: str) -> pd.DataFrame:
    """A per-class quantity averaged over each group's classes, then over seeds."""
    per_run = curves.groupby(["setting", "method", "group", "seed", "epoch"], sort=False)[
        column
    ].mean()
    mean = per_run.groupby(["setting", "method", "group", "epoch"], sort=False).mean().reset_index()
    mean["series"] = mean.method + " " + mean.group + " | " + mean.setting
    return mean[["epoch", column, "series"]]


def run_series(epochs: pd.DataFrame, column: str) -> pd.DataFrame:
    """A per-run quantity averaged over seeds."""
    mean = epochs.groupby(["setting", "method", "epoch"], sort=False)[column].mean().reset_index()
    mean["series"] = mean.method + " | " + mean.setting
    return mean[["epoch", column, "series"]]


def plot_frames(curves: pd.DataFrame, epochs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """File stem -> long-form frame, for every plot in PLOTS."""
    out = {}
    for stem, (column, _) in PLOTS.items():
        out[stem] = group_series(curves, column) if column in curves else run_series(epochs, column)
    return out
