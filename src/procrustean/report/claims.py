"""The paper's claims, each tested on a study's runs with a 95% t-interval and a verdict."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from procrustean.report import stats
from procrustean.report.tables import PAIRS


@dataclass(frozen=True)
class Claim:
    """One claim: what is measured, on which runs, and which side of ``null`` supports it."""

    name: str
    measure: str
    column: str
    method: str
    base: str | None  # None: one-sample over the method's runs; else paired method - base
    greater: bool  # the claim holds when the value is above ``null``
    null: float = 0.0


SINGLE = (
    Claim(
        "under-fitting: major classes are fit first",
        "early progress gap (top - bottom clean train acc, first quarter), ce",
        "progress_gap",
        "ce",
        None,
        True,
    ),
    Claim(
        "gradient imbalance: minor features get larger gradients",
        "bottom / top per-sample gradient norm, unweighted loss, before re-weighting, ce",
        "gradient_ratio",
        "ce",
        None,
        True,
        1.0,
    ),
    Claim(
        "over-fitting: minor classes generalise worse than they fit",
        "final (train - held-out) of bottom minus that of top group, ce",
        "overfit_excess",
        "ce",
        None,
        True,
    ),
    Claim(
        "MFW balances progress",
        "progress gap, mfw - ce (paired)",
        "progress_gap",
        "mfw",
        "ce",
        False,
    ),
    Claim(
        "MFW balances gradients",
        "gradient ratio before re-weighting, mfw - ce (paired)",
        "gradient_ratio",
        "mfw",
        "ce",
        False,
    ),
    Claim(
        "MFW reduces minor over-fitting",
        "bottom group's final train - held-out, mfw - ce (paired)",
        "overfit_gap",
        "mfw",
        "ce",
        False,
    ),
)


def claims(methods: list[str]) -> list[Claim]:
    """The claims a study with ``methods`` can test: the fixed ones, then top-1 of each pair."""
    out = list(SINGLE)
    for method, base in PAIRS:
        out.append(
            Claim(
                f"MFW improves top-1 ({method} vs {base})",
                f"test top-1 (%), {method} - {base} (paired)",
                "top1",
                method,
                base,
                True,
            )
        )
    return [c for c in out if c.method in methods and (c.base is None or c.base in methods)]


def verdict(ci: stats.Interval, claim: Claim) -> str:
    """reproduced: the interval lies on the claimed side; not reproduced otherwise."""
    if ci.n < 2:
        return "not measurable here (fewer than 2 runs)"
    above, below = ci.low > claim.null, ci.high < claim.null
    if (above and claim.greater) or (below and not claim.greater):
        return "reproduced"
    if above or below:
        return "not reproduced (interval on the opposite side)"
    return f"not reproduced (interval includes {claim.null:g})"


def claims_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Claim x family: the measure's mean [95% t-interval] (n) and its verdict."""
    if {"overfit_gap", "overfit_gap_top"} <= set(runs.columns):
        runs = runs.assign(overfit_excess=runs.overfit_gap - runs.overfit_gap_top)
    rows, long = [], []
    for family in dict.fromkeys(runs.family):
        sub = runs[runs.family == family]
        for c in claims(methods):
            if c.column not in sub or sub[c.column].isna().all():
                values = pd.Series(dtype=float)
            elif c.base is None:
                values = sub[sub.method == c.method][c.column]
            else:
                values = stats.paired(sub, c.method, c.base, c.column)["diff"]
            ci = stats.t_interval(values)
            v = verdict(ci, c) if ci.n else "not measurable here (not recorded)"
            digits = 2 if c.column in ("top1", "gradient_ratio") else 3
            rows.append(
                {
                    "setting": family,
                    "claim": c.name,
                    "measure": c.measure,
                    "mean [95% CI] (n)": f"{ci.text(digits, c.base is not None)} ({ci.n})",
                    "verdict": v,
                }
            )
            long.append(
                {
                    "setting": family,
                    "claim": c.name,
                    "measure": c.measure,
                    "mean": ci.mean,
                    "ci_low": ci.low,
                    "ci_high": ci.high,
                    "n": ci.n,
                    "verdict": v,
                }
            )
    wide = pd.DataFrame(rows)
    if wide.empty:
        return pd.DataFrame({"note": ["no claim can be tested with this study's methods"]}), wide
    wide.index = [f"{r.setting}: {r.claim}" for r in wide.itertuples()]
    return wide.drop(columns=["setting", "claim"]), pd.DataFrame(long)
