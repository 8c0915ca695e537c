"""The files of the confirmation and paper-count verdicts: what they read of each study and what
Plain paths, kept apart from the statistics so that the workflow and the DVC generator can name
them without importing the report code."""

from __future__ import annotations

from procrustean.paths import CURVES, REPORT_DIR, RUNS, VERDICTS_DIR

FORMATS = ("md", "tex", "csv")
OUTPUTS = (
    *(f"{VERDICTS_DIR}/{name}.{ext}" for name in ("verdicts", "early_errors") for ext in FORMATS),
    f"{VERDICTS_DIR}/post_hoc.md",  # the revised rules beside the verdicts, labelled post hoc
    f"{VERDICTS_DIR}/headline.md",  # the README's table (last)
)


def runs_path(study: str) -> str:
    """A study's one-row-per-run table, written by its report."""
    return f"{REPORT_DIR.format(study=study)}/tables/{RUNS}"


def curves_path(study: str) -> str:
    """A study's one-row-per-run-epoch-and-class table, written by its report."""
    return f"{REPORT_DIR.format(study=study)}/tables/{CURVES}"


def input_tables(studies: tuple[str, ...]) -> list[str]:
    """What the verdicts read of ``studies`` (the design's finished ones): each study's runs
    table, then each study's curves."""
    return [path(s) for path in (runs_path, curves_path) for s in studies]


PAPER_COUNTS_DIR = "results/paper_counts"
PAPER_COUNTS_OUTPUTS = tuple(
    f"{PAPER_COUNTS_DIR}/{name}"
    for name in ("verdicts.md", "verdicts.csv", "sensitivity.md", "plateau.md")
) + (f"{PAPER_COUNTS_DIR}/grid.md",)  # the README's grid (last)
CURVE_BASE = "confirm"  # the curve's 5-image point, a committed confirmation study


def paper_counts_inputs(finished: tuple[str, ...], confirmed: bool = True) -> list[str]:
    """What the paper-count tables read: the finished studies' tables and ``CURVE_BASE``'s (the
    curve), and, with a confirmation design (``confirmed``), its verdicts (the grid's other
    settings)."""
    return [*input_tables((*finished, CURVE_BASE)), *([OUTPUTS[2]] if confirmed else [])]
