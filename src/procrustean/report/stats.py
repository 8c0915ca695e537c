"""Statistics a reviewer asks for: t-intervals, paired differences (same subset, same seed),
win counts, and the spread across training seeds kept apart from the spread across subsets."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats
from scipy.optimize import brentq

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


POWER = 0.80


def t_test_p(values: pd.Series | list[float], null: float = 0.0) -> float:
    """Two-sided one-sample t-test p-value of the mean against ``null`` (NaN for n < 2; with no
    spread, 0 when every value differs from ``null`` and 1 when all equal it)."""
    v = pd.Series(values, dtype=float).dropna()
    if len(v) < 2:
        return math.nan
    if float(v.std(ddof=1)) == 0:  # the limit as the spread vanishes
        return 1.0 if float(v.mean()) == null else 0.0
    return float(stats.ttest_1samp(v, null).pvalue)


def wilcoxon_p(values: pd.Series | list[float], null: float = 0.0) -> float:
    """Two-sided Wilcoxon signed-rank p-value of ``values - null`` (exact for small n without
    ties; NaN when every value equals ``null`` or n < 2)."""
    d = pd.Series(values, dtype=float).dropna() - null
    if len(d) < 2 or bool((d == 0).all()):
        return math.nan
    return float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values over one family (NaNs stay NaN and are not counted)."""
    indexed = sorted((p, i) for i, p in enumerate(pvalues) if not math.isnan(p))
    m, out, running = len(indexed), [math.nan] * len(pvalues), 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def detectable_effect(values: pd.Series | list[float], power: float = POWER) -> float:
    """The smallest true mean a two-sided one-sample t-test at level 1 - ``LEVEL`` detects with
    ``power``, given the values' n and sample sd (noncentral t; NaN for n < 2)."""
    v = pd.Series(values, dtype=float).dropna()
    n = len(v)
    if n < 2:
        return math.nan
    sd, df = float(v.std(ddof=1)), n - 1
    crit = float(stats.t.ppf(0.5 + LEVEL / 2, df))

    def shortfall(delta: float) -> float:
        nc = delta * math.sqrt(n) / sd
        return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)) - power

    rough = (crit + float(stats.t.ppf(power, df))) * sd / math.sqrt(n)  # the central-t estimate
    if not rough > 1e-12:
        return 0.0  # no spread: any effect is detected
    try:
        return float(brentq(shortfall, 0.0, 3 * rough))
    except ValueError:  # scipy's noncentral t gives NaN (few pairs, far tails): the estimate
        return rough
