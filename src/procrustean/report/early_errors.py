"""The paper's first claim epoch by epoch: the share of the minor classes' clean training images
predicted as a major class, over the first quarter of training, per setting and method. Read
from the studies' curves (one row per run x epoch x class, ``to_major`` empty for the major
classes and where a setting has none); a run's value at an epoch is its mean over the non-major
classes, the same measure the claims table averages over the quarter."""

from __future__ import annotations

import pandas as pd

from procrustean.report.stats import t_interval

TITLE = (
    "Minor classes' clean training images predicted as a major class, per epoch of the first "
    "quarter of training: each run's mean over the non-major classes, then the mean over runs "
    "(subsets and seeds pooled; the csv has the 95% t-interval and n)"
)
COLUMNS = ("family", "method", "epoch", "mean", "ci_low", "ci_high", "n")


def per_run(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per run and epoch of its first quarter: ``to_major`` averaged over classes."""
    kept = curves.dropna(subset=["to_major"])
    runs = kept.groupby(["family", "method", "setting", "seed", "epoch"], sort=False)
    out = runs.to_major.mean().reset_index()
    quarter = out.groupby("family").epoch.transform(lambda e: max(1, int(e.max()) // 4))
    return out[out.epoch <= quarter]


def early_errors_table(curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A wide table (a row per setting and method, a column per epoch; means) and a long one
    (mean, 95% t-interval and n per setting, method and epoch)."""
    rows = []
    for (family, method, epoch), frame in per_run(curves).groupby(
        ["family", "method", "epoch"], sort=False
    ):
        ci = t_interval(frame.to_major)
        rows.append(
            {
                "family": family,
                "method": method,
                "epoch": int(epoch),
                "mean": ci.mean,
                "ci_low": ci.low,
                "ci_high": ci.high,
                "n": ci.n,
            }
        )
    long = pd.DataFrame(rows, columns=list(COLUMNS))
    if long.empty:
        return pd.DataFrame(), long
    wide = long.pivot_table(index=["family", "method"], columns="epoch", values="mean", sort=False)
    wide = wide.map(lambda v: "-" if pd.isna(v) else f"{v:.3f}")
    wide.columns = [f"epoch {e}" for e in wide.columns]
    wide.index = [f"{f}, {m}" for f, m in wide.index]
    return wide, long
