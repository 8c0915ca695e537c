"""Statistics a reviewer asks for: t-intervals, paired differences (same subset, same seed),
win counts, and the spread across training seeds kept apart from the spread across subsets."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """Mean with a two-sided ``LEVEL`` t-interval over ``n`` values (NaN bounds for n < 2)."""

    mean: float
    low: float
    high: float
    n: int

    def text(self, digits: int = 2, signed: bool = False) -> str:
        if self.n == 0:
            return "-"
        f = f"{{:{'+' if signed else ''}.{digits}f}}"
        if self.n < 2:
            return f.format(self.mean)
        return f"{f.format(self.mean)} [{f.format(self.low)}, {f.format(self.high)}]"


def t_interval(values: pd.Series | list[float]) -> Interval:
    """Mean and its ``LEVEL`` Student-t interval."""
    v = pd.Series(values, dtype=float).dropna()
    n = len(v)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(v.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, 1)
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * float(v.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def paired(runs: pd.DataFrame, method: str, base: str, column: str) -> pd.DataFrame:
    """``method - base`` of ``column`` for every (family, subset, seed) both ran."""
    keys = ["family", "subset", "seed"]
    a = runs[runs.method == method].set_index(keys)[column]
    b = runs[runs.method == base].set_index(keys)[column]
    diff = (a - b).dropna().rename("diff").reset_index()
    return diff


def spread(frame: pd.DataFrame, column: str) -> tuple[float, float]:
    """(sd across training seeds, pooled within subsets; sd across subsets' means)."""
    within = frame.groupby("subset")[column].var(ddof=1).dropna()
    sd_seed = math.sqrt(float(within.mean())) if not within.empty else math.nan
    means = frame.groupby("subset")[column].mean()
    sd_subset = float(means.std(ddof=1)) if len(means) > 1 else math.nan
    return sd_seed, sd_subset


def wins(diff: pd.Series, higher_is_better: bool = True) -> int:
    """How many pairs the method wins (strictly)."""
    return int((diff > 0).sum() if higher_is_better else (diff < 0).sum())
