"""A Holm family of registered tests under the revised rules: each test measured in one
setting of its study (its subsets pooled, pairs by subset and seed), Holm's p over the tests the
family makes (a pending study's at p = 1; what is no test, such as a premise that fails, not
counted), and each test's verdict."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from procrustean.analyses import Family
from procrustean.analyses import Test as Registered
from procrustean.entries import Params
from procrustean.report import claims, collect, post_hoc, preregistered, stats
from procrustean.report.measures import claim as claim_of
from procrustean.report.stats import Interval, t_interval


@dataclass(frozen=True)
class Test:
    """One test as judged: the registered test in one imbalanced setting of its study (its
    subsets pooled), its Holm family and its claim."""

    study: str
    family: str
    registered: Registered
    setting: str = ""  # the setting's family name, e.g. fashion_mnist_5k-step-r100

    @property
    def claim(self) -> claims.Claim:
        return claim_of(self.registered, self.family)

    @property
    def method(self) -> str:
        return self.registered.method

    @property
    def base(self) -> str | None:
        return self.registered.base

    @property
    def column(self) -> str:
        return self.claim.column

    @property
    def against(self) -> bool:
        return self.registered.against == "balanced"


TIE_DIGITS = 9  # a paired difference within 1e-9 of the null is a tie (summation order)

PENDING = "pending: {study} has not finished; Holm's correction counts it as p = 1"

PREMISE_FAILS = "premise fails ({fit} balanced control ce runs fit their classes)"

NO_CONTROL = "not tested in this setting (no balanced control)"


def study_settings(params: Params, study: str) -> list[str]:
    """The imbalanced settings of a study (its subsets pooled), as its runs table names them."""
    spec = params.study(study)
    stem = collect.dataset_family({d: params.dataset(d) for d in spec.datasets})
    return list(
        dict.fromkeys(
            f"{stem[d]}-{p}-r{r}"
            for d in spec.datasets
            for p in spec.profiles
            if p != claims.CONTROL_PROFILE
            for r in spec.ratios
        )
    )


def family_tests(params: Params, family: Family) -> list[Test]:
    """A family's tests, each in each imbalanced setting of its study."""
    return [
        Test(r.study or "", family.name, r, setting)
        for r in family.tests
        for setting in study_settings(params, r.study or "")
    ]


def in_setting(runs: pd.DataFrame, test: Test) -> pd.DataFrame:
    """The runs of the test's setting."""
    return runs[runs.family == test.setting]


def plateau_share(curves: pd.DataFrame, methods: list[str], last_decay: int, per_class: int) -> str:
    """'k/n' runs of ``methods`` whose every group plateaued after the last decay."""
    flat = post_hoc.plateau_after_decay(curves[curves.method.isin(methods)], last_decay, per_class)
    return f"{int(flat.plateaued.sum())}/{len(flat)}"


def _measured(found: pd.DataFrame, claim: claims.Claim) -> dict:
    """Interval, p-values, wins and the subset-sign check of a claim's values."""
    values = found["value"].astype(float)
    ci = t_interval(values)
    beyond = (values - claim.null).round(TIE_DIGITS)  # a float tie is no win
    wins = (beyond > 0) if claim.greater else (beyond < 0)
    by_subset = t_interval(found.groupby("subset")["value"].mean()) if len(found) else ci
    return {
        "n": ci.n,
        "mean": ci.mean,
        "ci_low": ci.low,
        "ci_high": ci.high,
        "p": stats.t_test_p(values, claim.null),
        "wilcoxon_p": stats.wilcoxon_p(values, claim.null),
        "wins": int(wins.sum()),
        "detectable": stats.detectable_effect(values - claim.null),
        "subsets_agree": claims.subsets_agree(found, claim),
        "subsets_cross": bool(by_subset.n >= 2 and by_subset.low <= claim.null <= by_subset.high),
    }


def _holm(p: pd.Series) -> list[float]:
    """Holm's p over a family; a test without a p (fewer than 2 values) counts as p = 1."""
    return stats.holm(p.fillna(1.0).tolist())


def _verdict(row: pd.Series, claim: claims.Claim, holm_p: float | None = None) -> str:
    ci = Interval(row["mean"], row.ci_low, row.ci_high, int(row.n))
    return claims.verdict(
        ci, claim, row.holm_p if holm_p is None else holm_p, bool(row.subsets_agree)
    )


@dataclass(frozen=True)
class Judged:
    """A family as judged: its tests, one row each (``frame``)."""

    family: Family
    tests: list[Test]
    frame: pd.DataFrame

    def top1(self) -> list[tuple[int, Test, pd.Series]]:
        """Its top-1 tests: each one's row index, the test and its row."""
        return [
            (i, self.tests[i], r)
            for i, r in self.frame.iterrows()
            if self.tests[i].column == "top1"
        ]


def _against_balanced(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """The runs table with ``to_major_vs_balanced``: each ce run's first-quarter minor-to-major
    share minus its balanced control's on the same classes (NaN without a control)."""
    found = post_hoc.minor_to_major_vs_balanced(curves)
    runs = runs.copy()
    runs["to_major_vs_balanced"] = float("nan")
    for r in found.itertuples():
        at = (runs.setting == r.setting) & (runs.seed == r.seed) & (runs.method == "ce")
        runs.loc[at, "to_major_vs_balanced"] = r.diff
    return runs


def premise(runs: pd.DataFrame, curves: pd.DataFrame, family: str) -> tuple[int, int]:
    """(fit, paired): the imbalanced ce runs of ``family`` whose balanced control (same subset
    and seed) ends at 95% clean training accuracy or more on the imbalanced run's bottom
    classes, and how many have a control."""
    control = runs[(runs.family == claims.control_family(family)) & (runs.method == "ce")]
    control = control.set_index(["subset", "seed"])
    fit = paired = 0
    for run in runs[(runs.family == family) & (runs.method == "ce")].itertuples():
        if (run.subset, run.seed) not in control.index:
            continue
        paired += 1
        classes = [int(c) for c in str(run.bottom_classes).split()]
        setting = control.loc[(run.subset, run.seed), "setting"]
        acc = preregistered._final_clean_accuracy(curves, setting, run.seed, classes)
        fit += int(acc >= preregistered.FIT)
    return fit, paired


@dataclass(frozen=True)
class Data:
    """What the analysis reads: each finished study's runs and curves, the studies done, and
    each study's balanced control and plateau window (last decay, diagnostic images a class)."""

    params: Params
    tables: dict[str, pd.DataFrame]
    curves: dict[str, pd.DataFrame]
    done: set[str]
    controls: dict[str, str]
    recipes: dict[str, tuple[int, int]]

    def with_control(self, study: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The study's runs and curves joined with its control's (if finished), with the
        minor-to-major difference against the control."""
        names = [study, *([self.controls[study]] if self.controls.get(study) in self.done else [])]
        runs = preregistered.combined_runs({s: self.tables[s] for s in names})
        curves = pd.concat([self.curves[s] for s in names], ignore_index=True)
        return _against_balanced(runs, curves), curves


def _row(data: Data, test: Test) -> dict:
    """One test's row before its family's Holm: measured, pending, or why it is not a test."""
    base = {"study": test.study, "claim": test.claim.name, "measure": test.claim.measure}
    control = data.controls.get(test.study)
    if test.against and control is None:
        return base | {"n": 0, "p": float("nan"), "verdict": NO_CONTROL}
    if test.study not in data.done or (test.against and control not in data.done):
        waiting = test.study if test.study not in data.done else control
        pending = PENDING.format(study=waiting)
        return base | {"setting": test.setting, "n": 0, "p": 1.0, "verdict": pending}
    runs, curves = (
        data.with_control(test.study)
        if test.against
        else (data.tables[test.study], data.curves[test.study])
    )
    family = test.setting
    row: dict = base | {"setting": family}
    claim = test.claim
    if claim.control:
        fit, paired = premise(runs, curves, family)
        row["premise"] = f"{fit}/{paired} controls fit"
        if fit < paired or paired == 0:
            return row | {
                "n": 0,
                "p": float("nan"),
                "verdict": PREMISE_FAILS.format(fit=f"{fit} of {paired}"),
            }
    found = claims.claim_values(runs, family, claim)
    if found.empty:
        return row | {"n": 0, "p": float("nan"), "verdict": "not measurable here (not recorded)"}
    methods = [claim.method, *([claim.base] if claim.base else [])]
    mine = curves[curves.family == family]
    return (
        row
        | _measured(found, claim)
        | {"plateaued": plateau_share(mine, methods, *data.recipes[test.study]), "verdict": None}
    )


def measure_family(data: Data, family: Family) -> Judged:
    """A family: each test's row, Holm's p over the tests it makes (pending ones at p = 1;
    those that are no test, such as a premise that fails, not counted) and verdicts."""
    tests = family_tests(data.params, family)
    frame = pd.DataFrame([_row(data, t) for t in tests])
    counted = frame.verdict.isna() | frame.verdict.fillna("").str.startswith("pending")
    frame.loc[counted, "holm_p"] = _holm(frame.loc[counted, "p"])
    for i, row in frame[frame.verdict.isna()].iterrows():
        frame.loc[i, "verdict"] = _verdict(row, tests[i].claim)
    frame.loc[frame.n == 0, ["p", "holm_p"]] = float("nan")
    return Judged(family, tests, frame)
