"""The claim x setting grid: one row per paper claim, one column per setting (headed by its
image counts), a verdict mark in each cell. It joins an analysis's verdicts with those of the
analyses it names (``grid_with``), whatever their rule set; the numbers behind each mark are in
each analysis's verdict files."""

from __future__ import annotations

import re

import pandas as pd

from procrustean.analyses import Analysis
from procrustean.entries import Params
from procrustean.report.measures import analysis_claims

Without = dict[tuple[str, str, str], dict[str, str]]  # (study, setting, claim) -> class -> verdict

# The paper's claim as the grid names it, and the verdict rows (either rule set) that test it.
ROWS: dict[str, tuple[str, ...]] = {
    "most minor images go to majors (share > 0.5)": (
        "minor data are classified into the major classes early",
    ),
    "minors go to majors more than under balance": (
        "minor data go to the major classes more than under balance",
    ),
    "major classes are fit first": ("under-fitting: major classes are fit first",),
    "minor features get larger gradients": (
        "gradient imbalance: minor features get larger gradients",
    ),
    "larger minor gradients, clean pass": ("gradient imbalance (clean pass)",),
    "minors generalise worse than majors": (
        "over-fitting: minor classes generalise worse than they fit",
    ),
    "imbalance makes minors over-fit": (
        "over-fitting is induced by imbalance, not by few images alone",
    ),
    "MFW balances progress": ("MFW balances progress",),
    "MFW balances gradients": ("MFW balances gradients",),
    "MFW balances gradients, clean pass": ("MFW balances gradients (clean pass)",),
    "MFW reduces minor over-fitting": ("MFW reduces minor over-fitting",),
    "MFW improves top-1 over ce": ("MFW improves top-1 (mfw vs ce)",),
    "MFW improves the minor group (vs ce)": ("MFW improves minor group's accuracy (mfw vs ce)",),
    "MFW + DRW improves on DRW": ("MFW improves top-1 (mfw_drw vs drw)",),
    "MFW + LDAM-DRW improves on LDAM-DRW": ("MFW improves top-1 (mfw_ldam_drw vs ldam_drw)",),
    "MFW beats uniform mixing (ablation)": ("MFW improves top-1 (mfw vs mfw_uniform)",),
    "MFW beats manifold mixup": ("MFW improves top-1 (mfw vs manifold_mixup)",),
    "MFW beats remix": ("MFW improves top-1 (mfw vs remix)",),
    "detached partners improve on MFW (ablation)": ("MFW improves top-1 (mfw_detached vs mfw)",),
}


def legend(pending: bool) -> str:
    """What the grid's cells rest on (each mark says its own meaning), saying only what is
    true of this grid: while an analysis has a pending study (``pending``), that its tests count
    as p = 1."""
    holm = " Pending tests count as p = 1, so a verdict may still fall." if pending else ""
    return (
        "A cell is the verdict of the claim in that setting. yes: the 95% interval on the "
        "claimed side, Holm's p < 0.05, every subset's mean on the claimed side; yes, not over "
        "subsets: so, but the interval over the 3 subset means includes the null; not after "
        "Holm: the interval on the claimed side, Holm's p not; no, a subset disagrees: a "
        "subset's mean on the other side; not confirmed: the interval includes the null; "
        "opposite: the interval on the other side (opposite, not after Holm: Holm's p not); "
        "without k: the verdict with class k left out, where that changes it; premise fails: "
        "the balanced control does not fit its classes; not judged at this ratio: the rule "
        "judges it elsewhere; pending: its study has not finished; -: not tested there."
        + holm
        + " Column heads are the training images a class: a/b step (majors a, minors b), a>b "
        "exp (a down to b); where two columns share them, the recipe and augmentation follow."
    )


def mark(verdict: str, dagger: bool = False, without: dict[str, str] | None = None) -> str:
    """A verdict text as a grid cell that says what it means: the verdict in words, whether it
    holds over the subset means, and what it becomes without each class that decides it
    (``without``: class -> the verdict without it)."""
    suffix = "".join(f"; without {c}: {mark(v)}" for c, v in (without or {}).items())
    deciding = re.search(r"\(decided by class ([\d ]+)\)$", verdict)
    if deciding and without is None:
        suffix = f"; decided by class {deciding.group(1)}"
    if verdict.startswith("reproduced"):
        return ("yes, not over subsets" if dagger else "yes") + suffix
    if verdict.startswith("not reproduced (interval on the opposite side)"):
        return "opposite" + suffix
    if verdict.startswith("not reproduced (interval on the opposite side, not after"):
        return "opposite, not after Holm" + suffix
    if verdict.startswith("not reproduced after Holm's correction"):
        return "not after Holm" + suffix
    if verdict.startswith("not reproduced (a subset's mean"):
        return "no, a subset disagrees" + suffix
    if verdict.startswith("not reproduced"):
        return "not confirmed" + suffix
    if verdict.startswith("pending"):
        return "pending"
    if verdict.startswith("not applicable (over-fitting is judged at ratio"):
        return "not judged at this ratio"
    if verdict.startswith(("not applicable", "premise fails")):
        return "premise fails"
    return "-"


def counts_label(params: Params, dataset: str, profile: str, ratio: int) -> str:
    """A setting's column head: its largest and smallest class counts (``500/5``, ``500>5``)."""
    top = params.dataset(dataset).max_per_class
    low = int(top / ratio)
    short = f"{top // 1000}k" if top % 1000 == 0 else str(top)
    return f"{short}{'/' if profile == 'step' else '>'}{low}"


def family_label(params: Params, family: str) -> str:
    """The column head of a confirmation setting (``fashion_mnist_500-step-r100``)."""
    stem, profile, ratio = family.rsplit("-", 2)
    dataset = next(d for d in params.datasets if re.sub(r"_s\d+$", "", d) == stem)
    return counts_label(params, dataset, profile, int(ratio[1:]))


def study_label(params: Params, study: str) -> str:
    """The column head of a paper-count study (its first dataset, profile and ratio)."""
    spec = params.study(study)
    return counts_label(params, spec.datasets[0], spec.profiles[0], spec.ratios[0])


Column = tuple[str, str]  # (setting, the recipe and augmentation of the study it comes from)


def setting_study(params: Params, analysis: Analysis, setting: str) -> str:
    """The first of the analysis's studies that has ``setting`` (a preregistered row)."""
    stem = setting.rsplit("-", 2)[0]
    for study in analysis.studies:
        if any(re.sub(r"_s\d+$", "", d) == stem for d in params.study(study).datasets):
            return study
    return analysis.studies[0]


def regime_of(params: Params, study: str) -> str:
    """What tells two studies with the same image counts apart: recipe and augmentation."""
    spec = params.study(study)
    first = params.dataset(spec.datasets[0])
    parts = [w for w, on in (("crops", first.crop_padding), ("flips", first.flip)) if on]
    return f"{spec.recipe}, {' and '.join(parts) or 'no crops or flips'}"


def _setting_cells(
    params: Params, analysis: Analysis, long: pd.DataFrame
) -> tuple[list[Column], dict[tuple[str, Column], str]]:
    """The columns and marks of one preregistered analysis (``long``: its long verdicts, one
    row per claim and setting)."""
    by_name = {c.name: c for c in analysis_claims(analysis)}
    columns, cells = [], {}
    for row in long.itertuples():
        claim = by_name.get(row.claim)
        dagger = (
            claim is not None
            and row.verdict == "reproduced"
            and row.subset_n >= 2
            and not (row.subset_low > claim.null or row.subset_high < claim.null)
        )
        column = (row.setting, regime_of(params, setting_study(params, analysis, row.setting)))
        columns += [] if column in columns else [column]
        cells[(row.claim, column)] = mark(row.verdict, dagger)
    return columns, cells


def _study_cells(
    params: Params, long: pd.DataFrame, without: Without | None = None
) -> tuple[list[Column], dict[tuple[str, Column], str]]:
    """The columns and marks of one revised analysis (a column per setting of each study;
    ``without``: (study, setting, claim) -> class -> the verdict without it, where that
    decides). A row with no setting (no test there) gives no cell."""
    columns, cells = [], {}
    for row in long.itertuples():
        if not isinstance(row.setting, str):
            continue
        column = (row.setting, regime_of(params, row.study))
        columns += [] if column in columns else [column]
        crossed = str(getattr(row, "subsets_cross", "")) == "True"  # bool, or a CSV's text
        key = (row.study, row.setting, row.claim)
        changes = (without or {}).get(key) if without is not None else None
        cells[(row.claim, column)] = mark(str(row.verdict), crossed, changes)
    return columns, cells


def column_labels(params: Params, columns: list[Column]) -> list[str]:
    """Each column's head: its image counts, with its recipe and augmentation where another
    column has the same counts."""
    base = [family_label(params, setting) for setting, _ in columns]
    clash = {b for b in base if sum(1 for c in base if c == b) > 1}
    return [
        f"{b} ({regime})" if b in clash else b for b, (_, regime) in zip(base, columns, strict=True)
    ]


def grid_table(
    params: Params,
    others: dict[str, tuple[Analysis, pd.DataFrame]],
    counted: pd.DataFrame,
    without: Without | None = None,
) -> pd.DataFrame:
    """Claim x setting marks: the settings of ``others`` (name -> (analysis, its long
    verdicts)) in their order, then this analysis's (``counted``: its long verdicts, with a
    ``study`` column). A claim the paper's rows do not name gets a row of its own."""
    columns, cells = [], {}
    for analysis, long in [*others.values(), (None, counted)]:
        if analysis is not None and analysis.rules == "preregistered":
            found, marks = _setting_cells(params, analysis, long)
        else:
            found, marks = _study_cells(params, long, without if analysis is None else None)
        columns += [c for c in found if c not in columns]
        cells |= marks
    rows = dict(ROWS)
    named = {n for names in ROWS.values() for n in names}
    rows |= {claim: (claim,) for claim, _ in cells if claim not in named}
    labels = column_labels(params, columns)
    table = {
        label: {
            head: next((cells[(n, c)] for n in names if (n, c) in cells), "-")
            for c, head in zip(columns, labels, strict=True)
        }
        for label, names in rows.items()
    }
    return pd.DataFrame.from_dict(table, orient="index", columns=labels)


def grid_markdown(
    params: Params,
    others: dict[str, tuple[Analysis, pd.DataFrame]],
    counted: pd.DataFrame,
    without: Without | None = None,
) -> str:
    """The grid as a GitHub markdown table (columns padded), what its cells rest on in a
    paragraph above."""
    table = grid_table(params, others, counted, without)
    first = "the paper's claim"
    widths = [max(len(first), *map(len, table.index))]
    widths += [max(len(c), *map(len, table[c])) for c in table.columns]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    pending = any(
        long.verdict.astype(str).str.startswith("pending").any()
        for long in [*(v for _, v in others.values()), counted]
    )
    lines = [legend(pending), "", line([first, *table.columns])]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [line([name, *row]) for name, row in table.iterrows()]
    return "\n".join(lines) + "\n"
