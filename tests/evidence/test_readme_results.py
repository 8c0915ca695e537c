"""The README's headline tables are the verdicts' (results/confirmation/headline.md), line for
line, and those are what the committed verdicts and runs tables give: a re-made verdict cannot
leave the guide telling old news."""

from __future__ import annotations

import pandas as pd
import pytest

from procrustean import verdict_files
from procrustean.config import load_params
from procrustean.report import confirmation, headline
from tests.helpers import REPO

README = REPO / "README.md"
HEADLINE = REPO / verdict_files.OUTPUTS[-1]
CLAIMS = "| the paper's claim | measure |"
PLATEAU = "| runs plateaued |"
SETTINGS = ["step r100", "exp r100", "step r10", "exp r10"]


def table(text: str, header: str) -> list[str]:
    """The markdown table whose header line starts with ``header``: its lines, header first."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


@pytest.mark.parametrize("header", [CLAIMS, PLATEAU])
def test_the_readme_quotes_the_headline_tables_line_for_line(header):
    quoted = table(README.read_text(encoding="utf-8"), header)
    assert quoted == table(HEADLINE.read_text(encoding="utf-8"), header)
    cells = [c.strip() for c in quoted[0].strip("|").split("|")]
    assert cells[-4:] == SETTINGS  # a column per setting, ratio 100 first


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
