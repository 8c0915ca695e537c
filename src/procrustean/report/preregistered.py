"""The preregistered rule set (the confirmation studies' rules, written down before any of their
results existed; docs/evidence.md): every test of the analysis in every setting of its studies,
one Holm family per family of the file across the studies, the subset-sign rule (in
``claims``), over-fitting judged only at the analysis's ``overfit_ratios``, the balanced control
only where its ce runs fit, and the share of the claim's runs that plateaued beside each.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from procrustean.analyses import Analysis
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.report import claims, collect, early_errors, headline, post_hoc, stats, tables
from procrustean.report.measures import analysis_claims
from procrustean.report.stats import Interval, t_interval
from procrustean.verdict_files import curves_path, input_tables, runs_path

PENDING_VERDICT = "pending: {study} has not finished; Holm's correction counts it as p = 1"
OVERFIT_COLUMNS = ("overfit_gap", "overfit_gap_top")  # what the over-fitting claims read
FIT = 0.95  # the balanced control fits its classes: final clean training accuracy at least this
PLATEAU = 0.02  # a group has plateaued when its last 5 epochs moved it by less than this
KEYS = ["family", "method", "subset", "seed"]
NOT_APPLICABLE_RATIO = "not applicable (over-fitting is judged at ratio {ratios} only)"
NOT_APPLICABLE_FIT = "not applicable (the balanced control's ce runs do not fit their classes)"
OPPOSITE = "not reproduced (interval on the opposite side)"
OPPOSITE_NOT_HOLM = "not reproduced (interval on the opposite side, not after Holm's correction)"


def combined_runs(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The runs of several studies (study -> its runs.csv) in one frame; a run (family, method,
    subset, seed) may come from one study only, or pairs across studies would be ambiguous."""
    runs = pd.concat(
        [frame.assign(study=study) for study, frame in tables.items()], ignore_index=True
    )
    twice = runs[runs.duplicated(KEYS, keep=False)]
    if not twice.empty:
        row = twice.iloc[0]
        studies = sorted(set(twice[(twice[KEYS] == row[KEYS]).all(axis=1)].study))
        raise UserError(
            f"run {row.family} {row.method} subset {row.subset} seed {row.seed} is in studies "
            f"{', '.join(studies)}; a run may belong to one study of an analysis only"
        )
    return runs


def _ratio(family: str) -> int:
    return int(family.rsplit("-r", 1)[1])


def _final_clean_accuracy(
    curves: pd.DataFrame, setting: str, seed: int, classes: list[int]
) -> float:
    """A run's mean clean training accuracy over ``classes`` at its last epoch (NaN if absent)."""
    run = curves[(curves.setting == setting) & (curves.seed == seed) & (curves.method == "ce")]
    last = run[(run.epoch == run.epoch.max()) & run["class"].isin(classes)]
    return float(last.train_acc.mean()) if not last.empty else float("nan")


def balanced_fit(runs: pd.DataFrame, curves: pd.DataFrame, family: str) -> bool:
    """Whether every ce run of ``family``'s balanced control ends at 95% clean training accuracy
    or more on the classes it is compared on: the bottom classes of the imbalanced ce run with
    the same subset and seed."""
    control = claims.control_family(family)
    ctrl = runs[(runs.family == control) & (runs.method == "ce")]
    mine = runs[(runs.family == family) & (runs.method == "ce")].set_index(["subset", "seed"])
    if ctrl.empty:
        return False
    for run in ctrl.itertuples():
        if (run.subset, run.seed) not in mine.index:
            return False
        classes = [int(c) for c in str(mine.loc[(run.subset, run.seed), "bottom_classes"]).split()]
        if not _final_clean_accuracy(curves, run.setting, run.seed, classes) >= FIT:
            return False
    return True


def applicable(
    runs: pd.DataFrame, curves: pd.DataFrame, ratios: tuple[int, ...]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """``runs`` with the over-fitting measures blanked where they are not judged (outside
    ``ratios``, or where the balanced control does not fit), and why."""
    runs, why = runs.copy(), {}
    for family in claims.imbalanced_families(runs):
        if _ratio(family) not in ratios:
            runs.loc[runs.family == family, list(OVERFIT_COLUMNS)] = float("nan")
            why[family] = NOT_APPLICABLE_RATIO.format(ratios=" or ".join(map(str, ratios)))
        elif not balanced_fit(runs, curves, family):
            control = claims.control_family(family)
            gaps = ["overfit_gap", *(c for c in runs if c.startswith("overfit_class_"))]
            runs.loc[runs.family == control, gaps] = float("nan")
            why[f"{family} control"] = NOT_APPLICABLE_FIT
    return runs, why


def compared(claim: claims.Claim) -> list[str]:
    """The methods whose runs a claim reads."""
    return [claim.method, *([claim.base] if claim.base else [])]


def not_in_design(runs: pd.DataFrame, family: str, claim: claims.Claim) -> str:
    """Why a claim has no pairs in a setting where nothing blanked them: the setting's studies
    did not train what it compares."""
    there = set(runs[runs.family == family].method)
    absent = [m for m in compared(claim) if m not in there]
    if absent:
        return f"not tested in this setting (no {' or '.join(absent)} runs)"
    if claim.control:
        return "not tested in this setting (no balanced control)"
    return "not measurable here (not recorded)"


def plateau_share(runs: pd.DataFrame, family: str, methods: list[str] | None = None) -> str:
    """'k/n': the runs of ``family`` (of ``methods``, if given) whose top and bottom groups both
    plateaued."""
    sub = runs[runs.family == family]
    if methods is not None:
        sub = sub[sub.method.isin(methods)]
    flat = (sub.plateau_top.abs() < PLATEAU) & (sub.plateau_bottom.abs() < PLATEAU)
    return f"{int(flat.sum())}/{len(sub)}"


def plateau_by_method(runs: pd.DataFrame) -> pd.DataFrame:
    """Method x imbalanced setting: the share of runs whose groups both plateaued ('-' where
    the method did not run)."""
    families = claims.imbalanced_families(runs)
    methods = list(dict.fromkeys(runs[runs.family.isin(families)].method))
    return pd.DataFrame(
        {
            f: [
                plateau_share(runs, f, [m])
                if ((runs.family == f) & (runs.method == m)).any()
                else "-"
                for m in methods
            ]
            for f in families
        },
        index=methods,
    )


def testable(tested: list[claims.Claim], methods: list[str]) -> list[claims.Claim]:
    """The claims whose methods are among ``methods``."""
    return [c for c in tested if c.method in methods and (c.base is None or c.base in methods)]


def verdicts(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    tested: list[claims.Claim],
    ratios: tuple[int, ...],
    pending: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims table over the combined runs, with the preregistered rules applied: a wide
    table (claim rows) and a long one (one row per claim and setting), each with the share of
    the claim's runs that plateaued and the interval over subset means beside the verdict.
    ``tested``: the analysis's claims; ``ratios``: where over-fitting is judged; ``pending``
    (from ``pending_tests``): tests of unfinished studies, kept in Holm's families."""
    judged, why = applicable(runs, curves, ratios)
    methods = list(dict.fromkeys(judged.method))
    wide, long = claims.claims_table(judged, methods, [], testable(tested, methods))
    if long.empty:
        return wide, long
    if pending is not None and not pending.empty:
        methods += [m for m in pending.attrs["methods"] if m not in methods]
        wide, long = with_pending(wide, long, pending, testable(tested, methods))
    by_name = {c.name: c for c in testable(tested, methods)}
    for i, row in long.iterrows():
        claim = by_name[row.claim]
        verdict = _verdict(row, claim, why, runs)
        long.loc[i, "verdict"] = verdict
        wide.iloc[i, wide.columns.get_loc("verdict")] = verdict
    by_subset = [
        subset_interval(judged, row.setting, by_name[row.claim]) for row in long.itertuples()
    ]
    long["subset_low"] = [ci.low for ci in by_subset]
    long["subset_high"] = [ci.high for ci in by_subset]
    long["subset_n"] = [ci.n for ci in by_subset]
    long["plateaued"] = [
        "-"
        if row.verdict.startswith("pending")
        else plateau_share(runs, row.setting, compared(by_name[row.claim]))
        for row in long.itertuples()
    ]
    wide.insert(
        wide.columns.get_loc("verdict"),
        "over subset means",
        [
            f"{headline.interval_text(ci, by_name[r.claim])} ({ci.n})" if ci.n else "-"
            for ci, r in zip(by_subset, long.itertuples(), strict=True)
        ],
    )
    wide.insert(1, "runs plateaued", long["plateaued"].tolist())
    return wide, long


def _verdict(row: pd.Series, claim: claims.Claim, why: dict[str, str], runs: pd.DataFrame) -> str:
    """The claims table's verdict, with the confirmation rules' reasons where nothing was
    judged and 'opposite side' kept for intervals that Holm's correction also separates."""
    if row.verdict.startswith("pending"):
        return row.verdict
    if row.n == 0:
        reason = why.get(f"{row.setting} control") if claim.control else None
        reason = reason or why.get(row.setting)
        if claim.column in ("overfit_excess", "overfit_gap") and reason:
            return reason
        return not_in_design(runs, row.setting, claim)
    if row.verdict == OPPOSITE and not row.holm_p < claims.ALPHA:
        return OPPOSITE_NOT_HOLM
    return row.verdict


def pending_tests(
    params: Params, tested: list[claims.Claim], pending: tuple[str, ...], others: tuple[str, ...]
) -> pd.DataFrame:
    """The claims the unfinished studies would test, per setting: those whose methods include
    one of the study's, compared with any study's runs in that setting (the controls pair with
    another study's mfw). ``attrs["methods"]``: the methods they compare."""
    rows, methods = [], []
    for study in pending:
        spec = params.study(study)
        family = collect.dataset_family({d: params.dataset(d) for d in spec.datasets})
        settings = dict.fromkeys(
            f"{family[d]}-{p}-r{r}"
            for d in spec.datasets
            for p in spec.profiles
            if p != "balanced"
            for r in spec.ratios
        )
        there = {m for s in (study, *others) for m in params.study(s).methods}
        for setting in settings:
            for c in testable(tested, sorted(there)):
                if set(compared(c)) & set(spec.methods):
                    rows.append(_pending_row(setting, c, study))
        methods += [m for m in spec.methods if m not in methods]
    frame = pd.DataFrame(rows)
    frame.attrs["methods"] = methods
    return frame


def _pending_row(setting: str, claim: claims.Claim, study: str) -> dict:
    return {
        "setting": setting,
        "claim": claim.name,
        "measure": claim.measure,
        "holm_family": claim.family,
        "n": 0,
        "wins": 0,
        "p": 1.0,  # Holm's correction counts it, at its least favourable
        "verdict": PENDING_VERDICT.format(study=study),
    }


def with_pending(
    wide: pd.DataFrame, long: pd.DataFrame, pending: pd.DataFrame, known: list[claims.Claim]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims tables with the pending tests added as rows, Holm's p recomputed over each
    family with them at p = 1, and the tested rows' verdicts redrawn with that p."""
    by_name = {c.name: c for c in known}
    long = pd.concat([long, pending], ignore_index=True)
    for fam in long.holm_family.unique():
        mask = long.holm_family == fam
        long.loc[mask, "holm_p"] = stats.holm(long.loc[mask, "p"].tolist())
    waiting = long.verdict.str.startswith("pending")
    long.loc[waiting, ["holm_p", "p"]] = float("nan")
    for i in long.index[~waiting & (long.n > 0)]:
        row = long.loc[i]
        ci = Interval(row["mean"], row.ci_low, row.ci_high, int(row.n))
        long.loc[i, "verdict"] = claims.verdict(
            ci, by_name[row.claim], row.holm_p, bool(row.subsets_agree)
        )
    extra = pd.DataFrame(
        [{c: "-" for c in wide.columns} | {"measure": r.measure} for r in pending.itertuples()],
        index=[f"{r.setting}: {r.claim}" for r in pending.itertuples()],
    )
    wide = pd.concat([wide, extra])
    wide["p (Holm)"] = [claims._p(h) for h in long.holm_p]
    wide["verdict"] = long.verdict.tolist()
    return wide, long


def subset_interval(runs: pd.DataFrame, family: str, claim: claims.Claim) -> Interval:
    """The 95% t-interval over the subsets' mean values (seeds averaged within a subset): a
    check on the pooled interval, which treats seeds of one subset as independent."""
    if claim.column == "overfit_excess" and set(OVERFIT_COLUMNS) <= set(runs.columns):
        runs = runs.assign(overfit_excess=runs.overfit_gap - runs.overfit_gap_top)  # as claims do
    found = claims.claim_values(runs, family, claim)
    if found.empty:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    return t_interval(found.groupby("subset")["value"].mean())


def check_complete(long: pd.DataFrame, analysis: Analysis, studies: tuple[str, ...]) -> None:
    """Refuse to judge an unfinished design: every tested claim has the analysis's runs or
    pairs, and when ``studies`` (judged or pending) are all of its studies, each family holds
    the tests it expects."""
    short = long[(long.n > 0) & (long.n != analysis.pairs)] if analysis.pairs else long[:0]
    if not short.empty:
        row = short.iloc[0]
        raise UserError(
            f"{row.setting}: '{row.claim}' has {row.n} of {analysis.pairs} runs or pairs; "
            f"finish the studies of {analysis.path} first (procrustean status --study S)"
        )
    waiting = long.verdict.str.startswith("pending")
    for family, expected in analysis.expected_tests.items():
        tested = int(((long.holm_family == family) & ((long.n > 0) | waiting)).sum())
        if set(studies) == set(analysis.studies) and tested != expected:
            raise UserError(
                f"the {family} family has {tested} tests, not the {expected} {analysis.path} "
                "expects (expected_tests); check its studies in params.yaml"
            )


CURVE_COLUMNS = ("count", "to_major")  # what the verdicts read beyond the first reports' columns


def _curves(study: str) -> pd.DataFrame:
    curves = pd.read_csv(curves_path(study))
    missing = [c for c in CURVE_COLUMNS if c not in curves]
    if missing:
        raise UserError(
            f"{curves_path(study)}: made by an older report (no {', '.join(missing)} column); "
            f"re-make it: procrustean report --study {study}"
        )
    return curves


def _rendered(wide: pd.DataFrame, long: pd.DataFrame, title: str) -> tuple[str, str, str]:
    md, tex = tables.render(wide, title)
    return md, tex, long.to_csv(index=False)


def judge(
    params: Params, analysis: Analysis, studies: tuple[str, ...] | None = None
) -> tuple[list[str], list[str]]:
    """Read the runs and curves tables of ``studies`` (default: the analysis's finished ones),
    judge them with its pending studies (those not in ``studies``) in Holm's families: the
    verdict tables and the per-epoch early-error tables (md, tex, csv), the post-hoc view and
    the headline table, as texts in ``verdict_files.outputs`` order, and the files read."""
    studies = analysis.finished if studies is None else studies
    if not studies:
        raise UserError(
            f"{analysis.path}: every study is pending, and the preregistered rules judge "
            "finished studies only; take a study out of pending: when its runs are done"
        )
    pending = tuple(s for s in analysis.pending if s not in studies)
    inputs = input_tables(studies)
    missing = [p for p in inputs if not Path(p).is_file()]
    if missing:
        study = studies[inputs.index(missing[0]) % len(studies)]
        raise UserError(
            f"{missing[0]}: missing ({len(missing)} of {len(inputs)} report tables); "
            f"run their reports first, e.g. snakemake --cores all {study}"
        )
    tested = analysis_claims(analysis)
    runs = combined_runs({s: pd.read_csv(runs_path(s)) for s in studies})
    by_study = {s: _curves(s) for s in studies}
    curves = pd.concat(by_study.values(), ignore_index=True)
    recipes = {s: params.study_recipe(s) for s in studies}
    last_decay = {s: max(e for e, _ in r.lr_decays) for s, r in recipes.items()}
    diagnostic = {s: r.diagnostic_per_class for s, r in recipes.items()}
    waiting = pending_tests(params, tested, pending, studies)
    wide, long = verdicts(runs, curves, tested, analysis.overfit_ratios, waiting)
    check_complete(long, analysis, (*studies, *pending))
    texts = [
        *_rendered(wide, long, analysis.title),
        *_rendered(*early_errors.early_errors_table(curves), early_errors.TITLE),
    ]
    if analysis.post_hoc:
        texts.append(post_hoc.post_hoc_markdown(runs, by_study, last_decay, diagnostic))
    texts.append(headline.headline_markdown(long, plateau_by_method(runs), tested, analysis.name))
    return texts, inputs
