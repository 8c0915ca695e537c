"""The files of an analysis's judging: what it reads of each study and what it writes. Plain
paths, kept apart from the statistics so that the workflow and the DVC generator can name them
without importing the report code."""

from __future__ import annotations

from procrustean.analyses import Analysis
from procrustean.paths import CURVES, REPORT_DIR, RUNS

# What each rule set writes under results/<analysis>/, in order (the last is the grid or
# headline table, which reads the others' numbers).
OUTPUT_NAMES = {
    "preregistered": (
        *(f"{name}.{ext}" for name in ("verdicts", "early_errors") for ext in ("md", "tex", "csv")),
        "post_hoc.md",  # the revised rules beside the verdicts, labelled post hoc
        "headline.md",
    ),
    "revised": ("verdicts.md", "verdicts.csv", "sensitivity.md", "plateau.md", "grid.md"),
}
LONG = "verdicts.csv"  # one row per test: what other analyses' grids read
REGIME = "regime.csv"  # per setting, the regime its ce runs ended in (revised rules, with fit:)
JUDGE = "judge-{name}"  # an analysis's judge stage, as DVC, Snakemake and status name it


def judge_name(analysis: str) -> str:
    """The judge stage of analysis ``analysis`` (analyses/<analysis>.yaml)."""
    return JUDGE.format(name=analysis)


def runs_path(study: str) -> str:
    """A study's one-row-per-run table, written by its report."""
    return f"{REPORT_DIR.format(study=study)}/tables/{RUNS}"


def curves_path(study: str) -> str:
    """A study's one-row-per-run-epoch-and-class table, written by its report."""
    return f"{REPORT_DIR.format(study=study)}/tables/{CURVES}"


def input_tables(studies: tuple[str, ...]) -> list[str]:
    """What an analysis reads of ``studies`` (its finished ones): each study's runs table, then
    each study's curves."""
    return [path(s) for path in (runs_path, curves_path) for s in studies]


def outputs(analysis: Analysis) -> list[str]:
    """The files ``procrustean judge`` writes for the analysis (the first anchors its record)."""
    names = OUTPUT_NAMES[analysis.rules]
    if not analysis.post_hoc:
        names = tuple(n for n in names if n != "post_hoc.md")
    if analysis.rules == "revised" and analysis.fit:
        names = (*names[:-1], REGIME, names[-1])
    return [f"{analysis.output_dir}/{name}" for name in names]


def long_path(name: str) -> str:
    """An analysis's long verdicts (its ``verdicts.csv``)."""
    return f"results/{name}/{LONG}"


def regime_path(name: str) -> str:
    """An analysis's regime table (revised rules with ``fit:``)."""
    return f"results/{name}/{REGIME}"


def inputs(analysis: Analysis) -> list[str]:
    """What judging the analysis reads: its file, its finished studies' tables and the long
    verdicts of the analyses its grid joins."""
    joined = (long_path(a) for a in analysis.grid_with)
    return [analysis.path, *input_tables(analysis.finished), *joined]
