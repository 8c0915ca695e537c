"""The files of the confirmation verdicts: what they read of each study and what they write.
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
