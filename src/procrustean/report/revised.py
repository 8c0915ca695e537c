"""The revised rule set (registered for the paper-count studies before their runs;
docs/evidence.md): each test of the analysis in its own study.

- Every family is corrected on its own (Holm); a pending study's tests, and tests waiting for a
  pending control, read "pending" and count as p = 1. Reproduced: the 95% t-interval on the
  claimed side, Holm's p < 0.05 and the mean on the claimed side in each subset.
- Each top-1 test carries its per-class sensitivity (the class whose leaving out moves the
  interval to another side of 0 "decides" it) and the share of its runs that plateaued after the
  last decay.
- Against the balanced control: minor-to-major on the same classes (not a fixed 0.5), and
  over-fitting judged wherever its premise holds (every paired balanced ce run fits the
  imbalanced run's bottom classes).
- The curve: method - base on top-1 and the minor group over the minors' image count.

A study is judged once the analysis's ``pending`` no longer names it (its runs table must then
hold every run of its grid). A per-class and per-group sensitivity table, the plateau check run
by run, and the claim x setting grid (``report.grid``) sit beside the verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from procrustean import verdict_files
from procrustean.analyses import Analysis, Family
from procrustean.analyses import Test as Registered
from procrustean.config import study_runs
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.report import claims, collect, grid, plateau, post_hoc, preregistered, stats
from procrustean.report.measures import claim as claim_of
from procrustean.report.stats import Interval, t_interval
from procrustean.report.tables import GROUP_ORDER


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
DECIDED = " (decided by class "  # the note a verdict one class decides carries
PENDING = "pending: {study} has not finished; Holm's correction counts it as p = 1"
PREMISE_FAILS = "premise fails ({fit} balanced control ce runs fit their classes)"
NO_CONTROL = "not tested in this setting (no balanced control)"
COLUMNS = (  # verdicts.csv's columns, in order
    "study",
    "claim",
    "measure",
    "setting",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "p",
    "wilcoxon_p",
    "wins",
    "detectable",
    "subsets_agree",
    "subsets_cross",
    "plateaued",
    "holm_p",
    "verdict",
    "decided_by",
    "family",
    "premise",
)


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


def finished(params: Params, analysis: Analysis, tables: dict[str, pd.DataFrame]) -> set[str]:
    """The analysis's finished studies; a UserError when a finished study's runs table lacks a
    run (setting, method, seed) of its grid."""
    for study in analysis.finished:
        present = set()
        if study in tables:
            runs = tables[study]
            present = set(zip(runs.setting, runs.method, runs.seed, strict=True))
        wanted = {(r.setting.name, r.method, r.seed) for r in study_runs(params, study)}
        if not wanted <= present:
            raise UserError(
                f"{analysis.path}: {study} is not pending but "
                f"{verdict_files.runs_path(study)} lacks {len(wanted - present)} of its "
                f"{len(wanted)} runs; make its report or put it back under pending:"
            )
    return set(analysis.finished)


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


def _left_out(runs: pd.DataFrame, test: Test, c: int) -> pd.DataFrame:
    """The test's paired top-1 values with class ``c`` left out, with their subsets."""
    diff = post_hoc.paired_top1(runs, test.method, test.base, left_out=c)
    return diff.rename("value").reset_index()[["subset", "seed", "value"]]


def left_out_rows(frame: pd.DataFrame, i: int, test: Test, runs: pd.DataFrame) -> list[dict]:
    """Row ``i`` of its family (a top-1 test) with each class left out in turn: its interval,
    Holm's p with the new p in the family, verdict, and whether the verdict changes."""
    row = frame.loc[i]
    judged = str(row.verdict).split(DECIDED)[0]  # without a "decided by" note already added
    counted = frame.verdict.isna() | frame.verdict.fillna("").str.startswith("pending")
    counted |= frame.n > 0
    out = []
    for col in post_hoc.class_columns(runs):
        c = int(col[6:])
        alt = pd.Series(_measured(_left_out(runs, test, c), test.claim))
        p = frame.loc[counted, "p"].copy()
        p.loc[i] = alt.p
        alt["holm_p"] = dict(zip(p.index, _holm(p), strict=True))[i]
        verdict = _verdict(alt, test.claim)
        out.append(
            alt.to_dict() | {"left_out": c, "verdict": verdict, "decides": verdict != judged}
        )
    return out


def deciding_classes(frame: pd.DataFrame, tests: list[Test], tables: dict) -> list[str]:
    """Per row of a family: the classes whose leaving out changes a top-1 test's verdict (its
    interval, its Holm's p with the new p in the family, or the subset signs), as text."""
    out = []
    for i, row in frame.iterrows():
        test = tests[i]
        runs = tables.get(test.study)
        if test.column != "top1" or row.n == 0 or runs is None:
            out.append("-")
            continue
        rows = left_out_rows(frame, i, test, in_setting(runs, test))
        out.append(" ".join(str(r["left_out"]) for r in rows if r["decides"]) or "none")
    return out


def deciding(judged: list[Judged], tables: dict[str, pd.DataFrame]) -> dict:
    """Per judged top-1 test that one class decides, (study, claim) -> class -> its verdict
    without that class."""
    out = {}
    for j in judged:
        for i, test, row in j.top1():
            if row.n == 0 or str(row.get("decided_by", "-")) in ("-", "none"):
                continue
            rows = left_out_rows(j.frame, i, test, in_setting(tables[test.study], test))
            out[(test.study, row.claim)] = {
                str(r["left_out"]): r["verdict"] for r in rows if r["decides"]
            }
    return out


def group_rows(runs: pd.DataFrame, test: Test) -> list[dict]:
    """A top-1 test's paired effect on each class group's test accuracy the setting has."""
    out = []
    family = test.setting
    for group in GROUP_ORDER:
        column = f"group_{group}"
        if column not in runs or runs.loc[runs.family == family, column].isna().all():
            continue
        claim = claims.Claim(group, "", column, test.method, test.base, True)
        found = claims.claim_values(runs, family, claim)
        out.append(_measured(found, claim) | {"group": group})
    return out


def subset_rows(runs: pd.DataFrame, test: Test) -> pd.DataFrame:
    """A top-1 test's mean paired effect in each subset: on top-1 and on each class group, with
    the subset's bottom classes (its minors, or its few group) and its pairs."""
    family = test.setting
    mine = runs[runs.family == family]
    columns = ["top1", *(f"group_{g}" for g in GROUP_ORDER if f"group_{g}" in mine)]
    columns = [c for c in columns if not mine[c].isna().all()]
    rows = []
    for subset, own in mine.groupby("subset"):
        effects = {c: stats.paired(own, test.method, test.base, c)["diff"] for c in columns}
        bottom = own.loc[own.method == test.base, "bottom_classes"].iloc[0]
        row = {"subset": subset, "bottom classes": str(bottom), "pairs": len(effects["top1"])}
        for column, diff in effects.items():
            row["top-1" if column == "top1" else column[6:]] = f"{diff.mean():+.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


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


def _families_text(judged: list[Judged]) -> str:
    names = [j.family.name for j in judged if j.top1()]
    return ("family " if len(names) == 1 else "families ") + " and ".join(names)


def sensitivity_markdown(judged: list[Judged], tables: dict[str, pd.DataFrame]) -> str:
    """Per judged top-1 test: its effect on each class group, its mean in each subset, then the
    test with each class left out (interval, Holm's p in its family, verdict, whether it
    decides)."""
    parts = [
        "# Sensitivity of the top-1 verdicts: per class group, per subset, and with "
        "each class left out (top-1 on the balanced test set is the mean of the per-class "
        "accuracies, so leaving a class out is the mean of the other nine); mean [95% "
        f"t-interval] over pairs, Holm's p with the new p in {_families_text(judged)}, wins/n"
    ]
    for j in judged:
        for i, test, row in j.top1():
            head = f"## {test.study}: {row.claim}"
            if row.n == 0:
                parts += [head, str(row.verdict)]
                continue
            runs = tables[test.study]
            groups = pd.DataFrame(group_rows(runs, test))
            groups["interval"] = [_interval_text(r) for _, r in groups.iterrows()]
            groups["wins"] = [f"{int(r.wins)}/{int(r.n)}" for _, r in groups.iterrows()]
            left = pd.DataFrame(left_out_rows(j.frame, i, test, in_setting(runs, test)))
            left["interval"] = [_interval_text(r) for _, r in left.iterrows()]
            left["wins"] = [f"{int(r.wins)}/{int(r.n)}" for _, r in left.iterrows()]
            left["decides"] = left.decides.map({True: "yes", False: "no"})
            all_classes = (
                f"all classes: {_interval_text(row)}, Holm's p {row.holm_p:.3g}: {row.verdict}"
            )
            parts += [
                head,
                f"{row.setting}; {all_classes}",
                groups[["group", "interval", "wins", "p"]].to_markdown(index=False, floatfmt=".3g"),
                "Per subset (mean of its pairs):",
                subset_rows(runs, test).to_markdown(index=False, disable_numparse=True),
                left[["left_out", "interval", "holm_p", "wins", "verdict", "decides"]].to_markdown(
                    index=False, floatfmt=".3g"
                ),
            ]
    return "\n\n".join(parts) + "\n"


def plateau_markdown(
    judged: list[Judged], curves: dict[str, pd.DataFrame], windows: dict[str, plateau.Window]
) -> str:
    """Per judged top-1 test: its runs' plateau check run by run (the detail behind its
    "plateaued" column)."""
    parts = [plateau.title()]
    for j in judged:
        for _, test, row in j.top1():
            head = f"## {test.study}: {test.method} vs {test.base}"
            if row.n == 0:
                parts += [head, str(row.verdict)]
                continue
            head = f"{head} ({row.setting})"
            mine = curves[test.study][curves[test.study].family == test.setting]
            parts += plateau.section(head, mine, [test.base, test.method], windows[test.study])
    return "\n\n".join(parts) + "\n"


def windows_of(params: Params, studies: tuple[str, ...]) -> dict[str, plateau.Window]:
    """Each study's plateau window from its recipe: the last decay, the diagnostic images a
    class and where deferred re-weighting starts (None when the recipe sets no DRW epoch)."""
    out = {}
    for study in studies:
        recipe = params.study_recipe(study)
        last_decay = max(e for e, _ in recipe.lr_decays)
        out[study] = plateau.Window(
            last_decay, recipe.diagnostic_per_class, recipe.drw_epoch or None
        )
    return out


def _interval_text(row: pd.Series) -> str:
    return Interval(row["mean"], row.ci_low, row.ci_high, int(row.n)).text(2, signed=True)


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


def judge_family(data: Data, family: Family) -> Judged:
    """A family: each test's row, Holm's p over the tests it makes (pending ones at p = 1;
    those that are no test, such as a premise that fails, not counted), verdicts, and the
    classes that decide each top-1 test."""
    tests = family_tests(data.params, family)
    frame = pd.DataFrame([_row(data, t) for t in tests])
    counted = frame.verdict.isna() | frame.verdict.fillna("").str.startswith("pending")
    frame.loc[counted, "holm_p"] = _holm(frame.loc[counted, "p"])
    for i, row in frame[frame.verdict.isna()].iterrows():
        frame.loc[i, "verdict"] = _verdict(row, tests[i].claim)
    if any(t.column == "top1" for t in tests):
        frame["decided_by"] = deciding_classes(frame, tests, data.tables)
        for i, row in frame.iterrows():
            if row.decided_by not in ("-", "none"):
                frame.loc[i, "verdict"] = f"{row.verdict}{DECIDED}{row.decided_by})"
    frame.loc[frame.n == 0, ["p", "holm_p"]] = float("nan")
    return Judged(family, tests, frame)


def minor_images(params: Params, study: str) -> int:
    """The step minors' images a class in ``study``: its largest class count over the ratio."""
    spec = params.study(study)
    return int(params.dataset(spec.datasets[0]).max_per_class / spec.ratios[0])


def curve(
    params: Params, analysis: Analysis, tables: dict[str, pd.DataFrame], done: set[str]
) -> pd.DataFrame:
    """The curve's method - base top-1 and minor-group test accuracy at each of its studies'
    minor image counts (its setting), with 95% t-intervals over the pairs ('pending' where
    unfinished)."""
    spec = analysis.curve
    rows = []
    for study in spec.studies:
        row = {"minor images": minor_images(params, study), "study": study}
        if study not in done:
            rows.append(
                row | {"setting": "-", "top-1": "pending", "minor group": "pending", "pairs": 0}
            )
            continue
        runs = tables[study]
        found = [f for f in claims.imbalanced_families(runs) if f"-{spec.setting}" in f]
        sub = runs[runs.family.isin(found[:1])]
        top1 = t_interval(stats.paired(sub, spec.method, spec.base, "top1")["diff"])
        minor = t_interval(stats.paired(sub, spec.method, spec.base, "group_minor")["diff"])
        rows.append(
            row
            | {
                "setting": found[0] if found else "-",
                "top-1": top1.text(2, signed=True),
                "minor group": minor.text(2, signed=True),
                "pairs": top1.n,
            }
        )
    return pd.DataFrame(rows)


REGIME_COLUMNS = (
    "study",
    "setting",
    "ce runs",
    "bottom group",
    "its final clean training accuracy, mean [range]",
    "lowest class (mean)",
    "runs that fit every class",
    "regime",
)


def regime_rows(analysis: Analysis, data: Data) -> pd.DataFrame:
    """Per imbalanced setting of each finished study: the regime its ce runs ended in (final
    clean training accuracy on the bottom group: mean and range over runs; the lowest class,
    mean over runs; the runs that fit every class by the analysis's ``fit`` criterion)."""
    fit = analysis.fit or {}
    rows = []
    for study in analysis.studies:
        if study not in data.done:
            continue
        curves = data.curves[study]
        ce = curves[(curves.method == "ce") & (curves.group != "")]
        for setting in study_settings(data.params, study):
            mine = ce[ce.family == setting]
            if mine.empty:
                continue
            last = mine[mine.epoch == mine.groupby(["setting", "seed"]).epoch.transform("max")]
            bottom = "minor" if "minor" in set(last.group) else "few"
            per_run = last.groupby(["setting", "seed"])
            group = last[last.group == bottom].groupby(["setting", "seed"]).train_acc.mean()
            lowest = per_run.train_acc.min()
            fits = int((lowest >= fit.get("accuracy", 1.0)).sum())
            share = fits / len(lowest)
            rows.append(
                {
                    "study": study,
                    "setting": setting,
                    "ce runs": len(lowest),
                    "bottom group": bottom,
                    "its final clean training accuracy, mean [range]": (
                        f"{group.mean():.3f} [{group.min():.3f}, {group.max():.3f}]"
                    ),
                    "lowest class (mean)": f"{lowest.mean():.3f}",
                    "runs that fit every class": f"{fits}/{len(lowest)}",
                    "regime": "fit" if share >= fit.get("share", 1.0) else "under-fit",
                }
            )
    return pd.DataFrame(rows, columns=REGIME_COLUMNS)


SHOWN = ["setting", "claim", "interval", "n", "p", "holm_p", "wilcoxon_p", "wins", "verdict"]


def _shown(frame: pd.DataFrame, extra: list[str]) -> str:
    frame = frame.copy()
    frame["interval"] = [
        Interval(r["mean"], r.ci_low, r.ci_high, int(r.n)).text(3, signed=True) if r.n else "-"
        for _, r in frame.reindex(columns=["mean", "ci_low", "ci_high", "n"]).iterrows()
    ]
    frame["wins"] = [
        f"{int(w)}/{int(n)}" if n else "-"
        for w, n in zip(frame.reindex(columns=["wins"]).wins.fillna(0), frame.n, strict=True)
    ]
    frame["setting"] = frame.reindex(columns=["setting"]).setting.fillna(frame.study)
    cols = [c for c in [*SHOWN[:-1], *extra, "verdict"] if c in frame]
    return frame[cols].to_markdown(index=False, floatfmt=".3g")


def _extra(judged: Judged) -> list[str]:
    """The columns a family's table adds: who decides its top-1 tests, its controls' premise,
    its runs' plateau."""
    out = ["decided_by"] if any(t.column == "top1" for t in judged.tests) else []
    return out + (["premise"] if any(t.claim.control for t in judged.tests) else []) + ["plateaued"]


def markdown(
    analysis: Analysis,
    judged: list[Judged],
    points: pd.DataFrame | None,
    regime: pd.DataFrame | None = None,
) -> str:
    """The regime (where the analysis states one), the families' tables and the curve,
    titled."""
    parts = [f"# {analysis.title}"]
    if regime is not None:
        fit = analysis.fit or {}
        parts += [
            f"## Regime: a ce run fits when its final clean training accuracy is at least "
            f"{fit['accuracy']:g} on every class; a setting is fit when {fit['share']:.0%} of "
            "its ce runs do",
            regime.to_markdown(index=False, disable_numparse=True)
            if not regime.empty
            else "No study has finished.",
        ]
    for j in judged:
        parts += [f"## {j.family.title}", _shown(j.frame, _extra(j))]
    if points is not None:
        profile, ratio = analysis.curve.setting.split("-r")
        parts += [
            f"## The curve: {analysis.curve.method} - {analysis.curve.base} at {profile} {ratio} "
            "over the minors' image count",
            points.to_markdown(index=False),
        ]
    return "\n\n".join(parts) + "\n"


def read_tables(studies: tuple[str, ...]) -> tuple[dict, dict, list[str]]:
    """The runs and curves tables of ``studies`` that exist, and the files read."""
    runs, curves, read = {}, {}, []
    for study in studies:
        paths = (verdict_files.runs_path(study), verdict_files.curves_path(study))
        if all(Path(p).is_file() for p in paths):
            runs[study], curves[study] = pd.read_csv(paths[0]), pd.read_csv(paths[1])
            read += list(paths)
    return runs, curves, read


def judge(
    params: Params, analysis: Analysis, others: dict[str, tuple[Analysis, pd.DataFrame]]
) -> tuple[list[str], list[str]]:
    """Judge the analysis's finished studies, the rest pending: the verdicts (md, csv), their
    sensitivity, their runs' plateau check and the claim x setting grid (with the verdicts of
    ``others``: name -> (analysis, its long verdicts), its ``grid_with``), as texts in
    ``verdict_files.outputs`` order, and the files read."""
    runs, curves, read = read_tables(analysis.finished)
    done = finished(params, analysis, runs)
    windows = windows_of(params, analysis.studies)
    data = Data(
        params,
        runs,
        curves,
        done,
        analysis.controls,
        {s: (w.last_decay, w.per_class) for s, w in windows.items()},
    )
    judged = [judge_family(data, family) for family in analysis.families]
    points = curve(params, analysis, runs, done) if analysis.curve else None
    long = pd.concat([j.frame.assign(family=j.family.name) for j in judged], ignore_index=True)
    long = long.reindex(columns=[c for c in COLUMNS if c in long])
    regime = regime_rows(analysis, data) if analysis.fit else None
    texts = [
        markdown(analysis, judged, points, regime),
        long.to_csv(index=False),
        sensitivity_markdown(judged, runs),
        plateau_markdown(judged, curves, windows),
        *([regime.to_csv(index=False)] if regime is not None else []),
        grid.grid_markdown(params, others, long, deciding(judged, runs)),
    ]
    return texts, read
