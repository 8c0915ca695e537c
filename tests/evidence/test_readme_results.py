"""The README's headline grid is the paper-counts stage's (results/paper_counts/grid.md), line
for line, and that grid, like the confirmation headline tables, is what the committed verdicts
give: a re-made verdict cannot leave the guide telling old news."""

from __future__ import annotations

import pandas as pd

from procrustean import verdict_files
from procrustean.config import load_params
from procrustean.report import confirmation, grid, headline
from tests.helpers import REPO

README = REPO / "README.md"
HEADLINE = REPO / verdict_files.OUTPUTS[-1]
GRID_FILE = REPO / verdict_files.PAPER_COUNTS_OUTPUTS[-1]
GRID = "| the paper's claim "


def table(text: str, header: str) -> list[str]:
    """The markdown table whose header line starts with ``header``: its lines, header first."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def test_the_readme_quotes_the_grid_line_for_line():
    quoted = table(README.read_text(encoding="utf-8"), GRID)
    assert quoted == table(GRID_FILE.read_text(encoding="utf-8"), GRID)
    assert all(len(line) < 110 for line in quoted)
    heads = [c.strip() for c in quoted[0].strip("|").split("|")]
    assert heads[1:5] == ["500/5", "500>5", "150/15", "150>15"]  # confirmation, ratio 100 first


def test_the_committed_grid_is_what_the_committed_verdicts_give():
    params = load_params(REPO / "params.yaml")
    confirmed = pd.read_csv(REPO / verdict_files.OUTPUTS[2])
    counted = pd.read_csv(REPO / verdict_files.PAPER_COUNTS_OUTPUTS[1])
    assert grid.grid_markdown(params, confirmed, counted) == GRID_FILE.read_text(encoding="utf-8")
    for study in params.paper_counts.pending:  # a pending study's columns wait
        label = grid.study_label(params, study)
        assert "wait" in grid.grid_table(params, confirmed, counted)[label].tolist()


def test_the_committed_headline_is_what_the_committed_verdicts_give():
    long = pd.read_csv(REPO / verdict_files.OUTPUTS[2])  # verdicts.csv
    plan = confirmation.design(load_params(REPO / "params.yaml"))
    runs = confirmation.combined_runs(
        {s: pd.read_csv(REPO / verdict_files.runs_path(s)) for s in plan.finished}
    )
    made = headline.headline_markdown(long, confirmation.plateau_by_method(runs))
    assert made == HEADLINE.read_text(encoding="utf-8")
    for study in plan.pending:  # each pending study's rows say so
        assert f"pending ({study} not finished)" in made
