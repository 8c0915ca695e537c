"""The paper's claims, each tested on a study's runs: mean, 95% t-interval, t-test and Wilcoxon
signed-rank p-values, Holm's correction within each family of claims (mechanism, accuracy), wins,
the smallest effect the runs could detect, and a verdict."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from procrustean.report import stats
from procrustean.report.tables import PAIRS

ALPHA = 1 - stats.LEVEL
CONTROL_PROFILE = "balanced"  # the control families: every class at the step split's minor count


@dataclass(frozen=True)
class Claim:
    """One claim: what is measured, on which runs, and which side of ``null`` supports it.

    ``base`` None: one sample over ``method``'s runs; a method name: paired ``method - base``
    (same subset, same seed); ``control``: paired against the same method's runs of the
    balanced family with the same data and ratio."""

    name: str
    measure: str
    column: str
    method: str
    base: str | None
    greater: bool  # the claim holds when the value is above ``null``
    null: float = 0.0
    control: bool = False
    holm: str = ""  # Holm's family where an analysis names it

    @property
    def family(self) -> str:
        """Holm's family: the analysis's, else the accuracy comparisons or the mechanism
        claims."""
        return self.holm or ("accuracy" if self.column == "top1" else "mechanism")


SINGLE = (
    Claim(
        "minor data are classified into the major classes early",
        "share of minor (exp: smaller half) training images predicted as a major class, "
        "first quarter of training, clean pass, ce",
        "minor_to_major",
        "ce",
        None,
        True,
        0.5,
    ),
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
        "bottom / top per-sample gradient norm, unweighted loss, training step, before "
        "re-weighting, ce",
        "gradient_ratio",
        "ce",
        None,
        True,
        1.0,
    ),
    Claim(
        "gradient imbalance (clean pass)",
        "bottom / top per-sample gradient norm, unweighted loss, clean pass (no mixing, no "
        "augmentation), before re-weighting, ce",
        "gradient_ratio_clean",
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
        "over-fitting is induced by imbalance, not by few images alone",
        "bottom group's final (train - held-out), imbalanced minus balanced control (same "
        "classes, same subset and seed), ce",
        "overfit_gap",
        "ce",
        None,
        True,
        control=True,
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
        "gradient ratio at the training step (mixed features), mfw - ce (paired)",
        "gradient_ratio",
        "mfw",
        "ce",
        False,
    ),
    Claim(
        "MFW balances gradients (clean pass)",
        "gradient ratio on the clean pass, mfw - ce (paired)",
        "gradient_ratio_clean",
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


def verdict(ci: stats.Interval, claim: Claim, holm_p: float, subsets_agree: bool = True) -> str:
    """reproduced: the interval lies on the claimed side, Holm's p is below 0.05, and the mean
    has the claimed sign in every imbalanced subset (seeds are nested in subsets)."""
    if ci.n < 2:
        return "not measurable here (fewer than 2 runs)"
    above, below = ci.low > claim.null, ci.high < claim.null
    if (above and claim.greater) or (below and not claim.greater):
        if holm_p >= ALPHA:
            return "not reproduced after Holm's correction"
        if not subsets_agree:
            return "not reproduced (a subset's mean on the other side)"
        return "reproduced"
    if above or below:
        return "not reproduced (interval on the opposite side)"
    return f"not reproduced (interval includes {claim.null:g})"


def control_family(family: str) -> str | None:
    """The balanced control family of an imbalanced family (``<data>-<profile>-r<ratio>``)."""
    data, profile, ratio = family.rsplit("-", 2)
    return None if profile == CONTROL_PROFILE else f"{data}-{CONTROL_PROFILE}-{ratio}"


def _same_classes(run: pd.Series, ctrl: pd.Series, column: str) -> float:
    """The control run's value over the imbalanced run's bottom classes (``overfit_class_<c>``
    columns); runs tables without them fall back on the control's own bottom group."""
    classes = str(run.get("bottom_classes", "nan")).split()
    if classes == ["nan"] or f"overfit_class_{classes[0]}" not in ctrl:
        return float(ctrl[column])
    return float(pd.Series([ctrl[f"overfit_class_{c}"] for c in classes], dtype=float).mean())


def control_values(runs: pd.DataFrame, family: str, claim: Claim) -> pd.DataFrame:
    """Imbalanced minus balanced control (same subset and seed), both measured on the
    imbalanced run's bottom classes: under exp the bottom group (few) is not the control's
    (the step minor classes)."""
    mine = runs[(runs.family == family) & (runs.method == claim.method)]
    ctrl = runs[(runs.family == control_family(family)) & (runs.method == claim.method)]
    ctrl = ctrl.set_index(["subset", "seed"])
    rows = [
        {
            "subset": run.subset,
            "seed": run.seed,
            "value": run[claim.column]
            - _same_classes(run, ctrl.loc[(run.subset, run.seed)], claim.column),
        }
        for _, run in mine.iterrows()
        if (run.subset, run.seed) in ctrl.index
    ]
    found = pd.DataFrame(rows, columns=["subset", "seed", "value"])
    return found.dropna().reset_index(drop=True)


def claim_values(runs: pd.DataFrame, family: str, claim: Claim) -> pd.DataFrame:
    """The claim's values in ``family`` with their subset and seed (column ``value``)."""
    sub = runs[runs.family == family]
    if claim.column not in runs or sub[claim.column].isna().all():
        return pd.DataFrame(columns=["subset", "seed", "value"])
    if claim.control:
        return control_values(runs, family, claim)
    if claim.base is None:
        return sub[sub.method == claim.method][["subset", "seed", claim.column]].rename(
            columns={claim.column: "value"}
        )
    return stats.paired(sub, claim.method, claim.base, claim.column).rename(
        columns={"diff": "value"}
    )


def subsets_agree(found: pd.DataFrame, claim: Claim) -> bool:
    """Whether the mean over each imbalanced subset's seeds lies on the claimed side of null."""
    if found.empty:
        return False
    means = found.groupby("subset")["value"].mean()
    return bool((means > claim.null).all() if claim.greater else (means < claim.null).all())


def imbalanced_families(runs: pd.DataFrame) -> list[str]:
    """The imbalanced families (the balanced controls are judged through them)."""
    return [f for f in dict.fromkeys(runs.family) if control_family(f) is not None]


def claims_table(
    runs: pd.DataFrame,
    methods: list[str],
    settings: list[str],
    tested_claims: list[Claim] | None = None,
):
    """Claim x family: mean [95% t-interval] (n), p-values, Holm's p within the claim's family
    (mechanism or accuracy, across the study's settings), wins, detectable effect, verdict.
    ``tested_claims``: the claims to test (default: those ``methods`` can test)."""
    if {"overfit_gap", "overfit_gap_top"} <= set(runs.columns):
        runs = runs.assign(overfit_excess=runs.overfit_gap - runs.overfit_gap_top)
    long, tested = [], []
    for family in imbalanced_families(runs):
        for c in claims(methods) if tested_claims is None else tested_claims:
            found = claim_values(runs, family, c)
            values = found["value"].astype(float)
            ci = stats.t_interval(values)
            tested.append((c, ci, subsets_agree(found, c)))
            long.append(
                {
                    "setting": family,
                    "claim": c.name,
                    "measure": c.measure,
                    "holm_family": c.family,
                    "mean": ci.mean,
                    "ci_low": ci.low,
                    "ci_high": ci.high,
                    "n": ci.n,
                    "p": stats.t_test_p(values, c.null),
                    "wilcoxon_p": stats.wilcoxon_p(values, c.null),
                    "wins": int((values > c.null).sum() if c.greater else (values < c.null).sum()),
                    "detectable": stats.detectable_effect(values - c.null),
                }
            )
    frame = pd.DataFrame(long)
    if frame.empty:
        note = pd.DataFrame({"note": ["no claim can be tested with this study's methods"]})
        return note, frame
    frame["holm_p"] = float("nan")
    for fam in frame.holm_family.unique():
        mask = frame.holm_family == fam
        frame.loc[mask, "holm_p"] = stats.holm(frame.loc[mask, "p"].tolist())
    frame["subsets_agree"] = [agree for _, _, agree in tested]
    frame["verdict"] = [
        verdict(ci, c, h, agree) if ci.n else "not measurable here (not recorded)"
        for (c, ci, agree), h in zip(tested, frame.holm_p, strict=True)
    ]
    rows = []
    for (c, ci, _), r in zip(tested, frame.itertuples(), strict=True):
        digits = 2 if c.column in ("top1", "gradient_ratio", "gradient_ratio_clean") else 3
        rows.append(
            {
                "mean [95% CI] (n)": f"{ci.text(digits, c.base is not None or c.control)} ({r.n})",
                "p (Holm)": _p(r.holm_p),
                "Wilcoxon p": _p(r.wilcoxon_p),
                "wins": f"{r.wins}/{r.n}" if r.n else "-",
                "detectable (80%)": "-" if r.n < 2 else f"{r.detectable:.{digits}f}",
                "verdict": r.verdict,
            }
        )
    wide = pd.DataFrame(rows, index=[f"{r.setting}: {r.claim}" for r in frame.itertuples()])
    wide.insert(0, "measure", frame.measure.tolist())
    return wide, frame


def _p(value: float) -> str:
    return "-" if value != value else (f"{value:.3f}" if value >= 0.001 else "<0.001")
