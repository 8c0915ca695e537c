"""The paper-count verdicts: MFW judged at CIFAR-10-LT's own image counts, by the plan registered
in docs/evidence.md ("The paper-count studies") before those studies ran.

- Accuracy (family A, Holm over its 6 tests): mfw - ce top-1 at step, exp and the curve's
  middle point; mfw_ldam_drw - ldam_drw top-1 at step and exp; the minor group's test accuracy,
  mfw - ce, at step. Reproduced: the 95% t-interval above 0, Holm's p < 0.05 and the mean
  above 0 in each subset. Each top-1 test carries its per-class sensitivity (the class whose
  leaving out moves the interval to another side of 0 "decides" it) and the share of its runs
  that plateaued after the last decay.
- Mechanism (family C, Holm over the tests measured): the paper's mechanism claims per setting
  with the revised rules: minor-to-major against the balanced control on the same classes (not
  a fixed 0.5), over-fitting at every ratio where its premise holds (the balanced ce runs fit
  their classes).
- The curve: mfw - ce top-1 and minor-group test accuracy over the minors' image count.

A study is judged once params.yaml's ``paper_counts.pending`` no longer names it (its runs table
must then hold every run of its grid); until then its tests are "pending" and Holm's correction
counts them as p = 1. A per-class and per-group sensitivity table sits beside the verdicts, and
the README's grid (claim x setting, a mark a cell) beside both (``report.grid``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from procrustean import verdict_files
from procrustean.config import study_runs
from procrustean.design_params import paper_counts_params
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.fileio import atomic_group, atomic_path
from procrustean.provenance import hash_inputs, now, stable_record, write_provenance
from procrustean.report import claims, confirmation, grid, plateau, post_hoc, stats
from procrustean.report.stats import Interval, t_interval
from procrustean.report.tables import GROUP_ORDER


@dataclass(frozen=True)
class Test:
    """One registered accuracy test: ``method - base`` of ``column`` over ``study``'s pairs."""

    study: str
    method: str
    base: str
    column: str  # "top1" or a group's test accuracy ("group_minor")

    @property
    def claim(self) -> claims.Claim:
        what = "top-1" if self.column == "top1" else f"{self.column[6:]} group's accuracy"
        return claims.Claim(
            f"MFW improves {what} ({self.method} vs {self.base})",
            f"test {what} (%), {self.method} - {self.base} (paired)",
            self.column,
            self.method,
            self.base,
            True,
        )


ACCURACY = (  # family A, registered 2026-12-03
    Test("counts_step", "mfw", "ce", "top1"),
    Test("counts_exp", "mfw", "ce", "top1"),
    Test("counts_mid", "mfw", "ce", "top1"),
    Test("counts_ldam_step", "mfw_ldam_drw", "ldam_drw", "top1"),
    Test("counts_ldam_exp", "mfw_ldam_drw", "ldam_drw", "top1"),
    Test("counts_step", "mfw", "ce", "group_minor"),
)
MECHANISM_STUDIES = ("counts_step", "counts_exp", "counts_mid")  # ce and mfw, per setting
CONTROL = "counts_balanced"  # the balanced control of the 5k subsets (step and exp)
# step 100 at 5, 20 and 50 minor images
CURVE = (verdict_files.CURVE_BASE, "counts_mid", "counts_step")
AGAINST_BALANCED = claims.Claim(
    "minor data go to the major classes more than under balance",
    "share of the minor classes' clean images predicted as a major class, first quarter, "
    "imbalanced minus the balanced control (same classes, subset and seed), ce",
    "to_major_vs_balanced",
    "ce",
    None,
    True,
)
CONTROLLED = ("counts_step", "counts_exp")  # the mechanism studies the control pairs with
OVERFIT_CONTROL = "over-fitting is induced by imbalance, not by few images alone"
REPLACED = (  # registered rules that the revised ones replace here
    "minor data are classified into the major classes early",  # a fixed 0.5: AGAINST_BALANCED
    "over-fitting: minor classes generalise worse than they fit",  # no premise: OVERFIT_CONTROL
)
TIE_DIGITS = 9  # a paired difference within 1e-9 of the null is a tie (summation order)
DECIDED = " (decided by class "  # the note a verdict one class decides carries
PENDING = "pending: {study} has not finished; Holm's correction counts it as p = 1"
PREMISE_FAILS = "premise fails ({fit} balanced control ce runs fit their classes)"
NO_CONTROL = "not tested in this setting (no balanced control)"


def finished(params: Params, tables: dict[str, pd.DataFrame]) -> set[str]:
    """The design's finished studies (params.yaml's ``paper_counts`` without its pending ones);
    a UserError when the block names other studies than this code judges, or when a finished
    study's runs table lacks a run (setting, method, seed) of its grid."""
    design = params.paper_counts
    if design is None or set(design.studies) != set(DESIGN):
        raise UserError(
            f"{params.source}: paper_counts.studies must name the registered studies "
            f"{', '.join(DESIGN)}; restore the block (docs/evidence.md, 'The paper-count studies')"
        )
    for study in design.finished:
        present = set()
        if study in tables:
            runs = tables[study]
            present = set(zip(runs.setting, runs.method, runs.seed, strict=True))
        wanted = {(r.setting.name, r.method, r.seed) for r in study_runs(params, study)}
        if not wanted <= present:
            raise UserError(
                f"{params.source}: paper_counts: {study} is not pending but "
                f"{verdict_files.runs_path(study)} lacks {len(wanted - present)} of its "
                f"{len(wanted)} runs; make its report or put it back under paper_counts.pending"
            )
    return set(design.finished)


def family_of(runs: pd.DataFrame) -> str:
    """The one imbalanced family of a study's runs (its setting, pooled over subsets)."""
    families = claims.imbalanced_families(runs)
    return families[0] if len(families) == 1 else "; ".join(families)


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


def left_out_rows(frame: pd.DataFrame, i: int, runs: pd.DataFrame) -> list[dict]:
    """Family A row ``i`` (a top-1 test) with each class left out in turn: its interval,
    Holm's p with the new p in the family, verdict, and whether the verdict changes."""
    test, row = ACCURACY[i], frame.loc[i]
    judged = str(row.verdict).split(DECIDED)[0]  # without a "decided by" note already added
    out = []
    for col in post_hoc.class_columns(runs):
        c = int(col[6:])
        alt = pd.Series(_measured(_left_out(runs, test, c), test.claim))
        p = frame.p.copy()
        p.iloc[i] = alt.p
        alt["holm_p"] = _holm(p)[i]
        verdict = _verdict(alt, test.claim)
        out.append(
            alt.to_dict() | {"left_out": c, "verdict": verdict, "decides": verdict != judged}
        )
    return out


def deciding_classes(frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Per family A row: the classes whose leaving out changes the row's verdict (its
    interval, its Holm's p with the new p in the family, or the subset signs), as text."""
    out = []
    for i, row in frame.iterrows():
        test = ACCURACY[i]
        runs = tables.get(test.study)
        if test.column != "top1" or row.n == 0 or runs is None:
            out.append("-")
            continue
        deciding = [str(r["left_out"]) for r in left_out_rows(frame, i, runs) if r["decides"]]
        out.append(" ".join(deciding) or "none")
    return out


def group_rows(runs: pd.DataFrame, test: Test) -> list[dict]:
    """A top-1 test's paired effect on each class group's test accuracy the setting has."""
    out = []
    family = family_of(runs)
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
    family = family_of(runs)
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


def top1_tests(accuracy: pd.DataFrame) -> list[tuple[int, Test, pd.Series]]:
    """Family A's top-1 tests: each one's place in ``ACCURACY``, the test and its row."""
    return [(i, ACCURACY[i], row) for i, row in accuracy.iterrows() if ACCURACY[i].column == "top1"]


def sensitivity_markdown(accuracy: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> str:
    """Per judged top-1 test of family A: its effect on each class group, its mean in each
    subset, then the test with each class left out (interval, Holm's p in the family, verdict,
    whether it decides)."""
    parts = [
        "# Sensitivity of the paper-count top-1 verdicts: per class group, per subset, and with "
        "each class left out (top-1 on the balanced test set is the mean of the per-class accuracies, so "
        "leaving a class out is the mean of the other nine); mean [95% t-interval] over pairs, "
        "Holm's p with the new p in family A, wins/n"
    ]
    for i, test, row in top1_tests(accuracy):
        head = f"## {test.study}: {row.claim}"
        if row.n == 0:
            parts += [head, str(row.verdict)]
            continue
        runs = tables[test.study]
        groups = pd.DataFrame(group_rows(runs, test))
        groups["interval"] = [_interval_text(r) for _, r in groups.iterrows()]
        groups["wins"] = [f"{int(r.wins)}/{int(r.n)}" for _, r in groups.iterrows()]
        left = pd.DataFrame(left_out_rows(accuracy, i, runs))
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
    accuracy: pd.DataFrame, curves: dict[str, pd.DataFrame], windows: dict[str, plateau.Window]
) -> str:
    """Per judged top-1 test of family A: its runs' plateau check run by run (the detail behind
    its "plateaued" column)."""
    parts = [plateau.title()]
    for _, test, row in top1_tests(accuracy):
        head = f"## {test.study}: {test.method} vs {test.base}"
        if row.n == 0:
            parts += [head, str(row.verdict)]
            continue
        head = f"{head} ({row.setting})"
        parts += plateau.section(
            head, curves[test.study], [test.base, test.method], windows[test.study]
        )
    return "\n\n".join(parts) + "\n"


def windows_of(params: Params) -> dict[str, plateau.Window]:
    """Each study's plateau window from its recipe: the last decay, the diagnostic images a
    class and where deferred re-weighting starts (None when the recipe sets no DRW epoch)."""
    out = {}
    for study in STUDIES:
        recipe = params.study_recipe(study)
        last_decay = max(e for e, _ in recipe.lr_decays)
        out[study] = plateau.Window(
            last_decay, recipe.diagnostic_per_class, recipe.drw_epoch or None
        )
    return out


def _interval_text(row: pd.Series) -> str:
    return Interval(row["mean"], row.ci_low, row.ci_high, int(row.n)).text(2, signed=True)


def accuracy_family(
    tables: dict[str, pd.DataFrame],
    curves: dict[str, pd.DataFrame],
    done: set[str],
    recipes: dict[str, tuple[int, int]],
) -> pd.DataFrame:
    """Family A: one row per registered test, Holm's p over all six (pending ones at p = 1),
    each with the classes that decide it and its runs' plateau share. ``recipes``: study ->
    (last decay epoch, diagnostic images a class)."""
    rows = []
    for test in ACCURACY:
        base = {"study": test.study, "claim": test.claim.name, "measure": test.claim.measure}
        if test.study not in done:
            rows.append(base | {"n": 0, "p": 1.0, "verdict": PENDING.format(study=test.study)})
            continue
        runs = tables[test.study]
        found = claims.claim_values(runs, family_of(runs), test.claim)
        row = base | {"setting": family_of(runs)} | _measured(found, test.claim)
        row["plateaued"] = plateau_share(
            curves[test.study], [test.method, test.base], *recipes[test.study]
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["holm_p"] = _holm(frame.p)
    for i, row in frame.iterrows():
        if row.n > 0:
            frame.loc[i, "verdict"] = _verdict(row, ACCURACY[i].claim)
    frame["decided_by"] = deciding_classes(frame, tables)
    for i, row in frame.iterrows():
        if row.decided_by not in ("-", "none"):
            frame.loc[i, "verdict"] = f"{row.verdict}{DECIDED}{row.decided_by})"
    frame.loc[frame.n == 0, ["p", "holm_p"]] = float("nan")
    return frame


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
        acc = confirmation._final_clean_accuracy(curves, setting, run.seed, classes)
        fit += int(acc >= confirmation.FIT)
    return fit, paired


def mechanism_claims() -> list[claims.Claim]:
    """Family C's claims: the registered mechanism claims on ce and mfw, with the revised
    minor-to-major rule in place of the fixed 0.5 and over-fitting judged through the control."""
    kept = [c for c in claims.claims(["ce", "mfw"]) if c.column != "top1"]
    return [c for c in kept if c.name not in REPLACED] + [AGAINST_BALANCED]


def _needs_control(claim: claims.Claim) -> bool:
    return claim.control or claim.column == "to_major_vs_balanced"


def mechanism_family(
    tables: dict[str, pd.DataFrame],
    curves: dict[str, pd.DataFrame],
    done: set[str],
    recipes: dict[str, tuple[int, int]],
) -> pd.DataFrame:
    """Family C: ``mechanism_claims`` in each setting of ``MECHANISM_STUDIES``, Holm's p over
    every test the design makes (pending ones, and those waiting for the control, at p = 1;
    a setting without a control in the design does not test the claims that need one)."""
    judged = [s for s in MECHANISM_STUDIES if s in done]
    control = [CONTROL] if CONTROL in done else []
    names = (*judged, *control)
    runs = every = None
    if judged:
        runs = confirmation.combined_runs({s: tables[s] for s in names})
        every = pd.concat([curves[s] for s in names], ignore_index=True)
        runs = _against_balanced(runs, every)
    rows = []
    for study in MECHANISM_STUDIES:
        for c in mechanism_claims():
            base = {"study": study, "claim": c.name, "measure": c.measure}
            if _needs_control(c) and study not in CONTROLLED:
                rows.append(base | {"n": 0, "p": float("nan"), "verdict": NO_CONTROL})
            elif study not in done or (_needs_control(c) and not control):
                waiting = study if study not in done else CONTROL
                rows.append(base | {"n": 0, "p": 1.0, "verdict": PENDING.format(study=waiting)})
            else:
                rows.append(base | _mechanism_row(runs, every, study, tables[study], c, recipes))
    frame = pd.DataFrame(rows)
    counted = frame.verdict.isna() | frame.verdict.fillna("").str.startswith("pending")
    frame.loc[counted, "holm_p"] = _holm(frame.loc[counted, "p"])
    by_name = {c.name: c for c in mechanism_claims()}
    for i, row in frame[frame.verdict.isna()].iterrows():
        frame.loc[i, "verdict"] = _verdict(row, by_name[row.claim])
    frame.loc[frame.n == 0, ["p", "holm_p"]] = float("nan")
    return frame


def _mechanism_row(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    study: str,
    own: pd.DataFrame,
    claim: claims.Claim,
    recipes: dict[str, tuple[int, int]],
) -> dict:
    """One family C test in a finished setting (no verdict yet: it needs the family's Holm)."""
    family = family_of(own)
    row: dict = {"setting": family}
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
        | {"plateaued": plateau_share(mine, methods, *recipes[study]), "verdict": None}
    )


def minor_images(params: Params, study: str) -> int:
    """The step minors' images a class in ``study``: its largest class count over the ratio."""
    spec = params.study(study)
    return int(params.dataset(spec.datasets[0]).max_per_class / spec.ratios[0])


def curve(params: Params, tables: dict[str, pd.DataFrame], done: set[str]) -> pd.DataFrame:
    """mfw - ce top-1 and minor-group test accuracy at each of ``CURVE``'s minor image counts
    (its step-100 setting), with 95% t-intervals over the pairs ('pending' where unfinished)."""
    rows = []
    for study in CURVE:
        row = {"minor images": minor_images(params, study), "study": study}
        if study not in done:
            rows.append(
                row | {"setting": "-", "top-1": "pending", "minor group": "pending", "pairs": 0}
            )
            continue
        runs = tables[study]
        step = [f for f in claims.imbalanced_families(runs) if "-step-r100" in f]
        sub = runs[runs.family.isin(step[:1])]
        top1 = t_interval(stats.paired(sub, "mfw", "ce", "top1")["diff"])
        minor = t_interval(stats.paired(sub, "mfw", "ce", "group_minor")["diff"])
        rows.append(
            row
            | {
                "setting": step[0] if step else "-",
                "top-1": top1.text(2, signed=True),
                "minor group": minor.text(2, signed=True),
                "pairs": top1.n,
            }
        )
    return pd.DataFrame(rows)


OUTPUTS = verdict_files.PAPER_COUNTS_OUTPUTS  # verdicts (md, csv), sensitivity, plateau, grid
STUDIES = tuple(dict.fromkeys([*(t.study for t in ACCURACY), *MECHANISM_STUDIES, CONTROL, *CURVE]))
DESIGN = tuple(s for s in STUDIES if s != verdict_files.CURVE_BASE)  # params' paper_counts.studies
TITLE = (
    'MFW at the paper\'s image counts (docs/evidence.md, "The paper-count studies"): '
    "registered before the runs; mean [95% t-interval] over pairs (same subset and seed), "
    "Holm's p within its family, wins/n; 'pending': a study that has not finished, counted as "
    "p = 1"
)
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


def markdown(accuracy: pd.DataFrame, mechanism: pd.DataFrame, points: pd.DataFrame) -> str:
    """The three tables, titled."""
    return (
        "\n\n".join(
            [
                f"# {TITLE}",
                "## Accuracy (family A: 6 tests, Holm over all of them)",
                _shown(accuracy, ["decided_by", "plateaued"]),
                "## Mechanism (family C, revised rules: minor-to-major against the balanced "
                "control, over-fitting wherever its premise holds)",
                _shown(mechanism, ["premise", "plateaued"]),
                "## The curve: mfw - ce at step 100 over the minors' image count",
                points.to_markdown(index=False),
            ]
        )
        + "\n"
    )


def read_tables(studies: tuple[str, ...]) -> tuple[dict, dict, list[str]]:
    """The runs and curves tables of ``studies`` that exist, and the files read."""
    runs, curves, read = {}, {}, []
    for study in studies:
        paths = (verdict_files.runs_path(study), verdict_files.curves_path(study))
        if all(Path(p).is_file() for p in paths):
            runs[study], curves[study] = pd.read_csv(paths[0]), pd.read_csv(paths[1])
            read += list(paths)
    return runs, curves, read


def write_paper_counts(params: Params) -> list[str]:
    """``procrustean paper-counts``: judge the design's finished studies, the rest pending; write
    the verdicts (md, csv), their sensitivity, their runs' plateau check and the README's grid
    under results/paper_counts/ with a provenance record."""
    started = now()
    for study in STUDIES:
        params.study(study)
    design = params.paper_counts
    read_from = (*design.finished, verdict_files.CURVE_BASE) if design else ()
    runs, curves, read = read_tables(read_from)
    done = finished(params, runs)
    windows = windows_of(params)
    recipes = {s: (w.last_decay, w.per_class) for s, w in windows.items()}
    accuracy = accuracy_family(runs, curves, done, recipes)
    mechanism = mechanism_family(runs, curves, done, recipes)
    points = curve(params, runs, done | ({verdict_files.CURVE_BASE} & set(runs)))
    confirmed = pd.DataFrame(columns=["setting", "claim", "verdict"])
    if params.confirmation is not None:  # the grid's other settings
        confirmed = pd.read_csv(verdict_files.OUTPUTS[2])
        read.append(verdict_files.OUTPUTS[2])
    long = pd.concat([accuracy.assign(family="A"), mechanism.assign(family="C")], ignore_index=True)
    texts = (
        markdown(accuracy, mechanism, points),
        long.to_csv(index=False),
        sensitivity_markdown(accuracy, runs),
        plateau_markdown(accuracy, curves, windows),
        grid.grid_markdown(params, confirmed, long),
    )
    resolved = paper_counts_params(params)
    with atomic_group():
        for path, text in zip(OUTPUTS, texts, strict=True):
            with atomic_path(path) as tmp:
                tmp.write_text(text)
        stable = stable_record(resolved, hash_inputs(read))
        write_provenance("paper-counts", list(OUTPUTS), stable, started, params.source)
    return list(OUTPUTS)
