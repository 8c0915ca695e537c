"""The README's headline table quotes the committed claims tables: every figure, to the digits
shown, and every verdict, so that a re-made report cannot leave the guide telling old news."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.conftest import REPO

README = REPO / "README.md"
HEADER = "| the paper's claim | measure |"
# A column header names the setting; the study that confirms it and its row label in claims.csv.
COLUMNS = {
    "step r100": ("confirm", "fashion_mnist_500-step-r100"),
    "exp r100": ("confirm", "fashion_mnist_500-exp-r100"),
    "step r10": ("confirm_r10", "fashion_mnist_150-step-r10"),
    "exp r10": ("confirm_r10", "fashion_mnist_150-exp-r10"),
}
# "mean [low, high], p, wins/n: verdict", with signed or unsigned figures.
CELL = re.compile(
    r"^(?P<mean>[+-]?\d+\.\d+) \[(?P<low>[+-]?\d+\.\d+), (?P<high>[+-]?\d+\.\d+)\], "
    r"(?P<p>[<\d.]+), (?P<wins>\d+)/(?P<n>\d+): (?P<verdict>.+)$"
)


def headline_table() -> tuple[list[str], list[list[str]]]:
    """The header cells and the body rows' cells of the README's headline table."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(HEADER))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return [cell.strip() for cell in lines[start].strip("|").split("|")], rows


def agrees(shown: str, value: float) -> bool:
    """Whether `shown` is `value` rounded to the digits `shown` has."""
    digits = len(shown.split(".")[1])
    return abs(float(shown) - value) <= 0.5 * 10**-digits + 1e-9


def claims(study: str, setting: str) -> pd.DataFrame:
    table = pd.read_csv(REPO / "results" / study / "tables" / "claims.csv")
    return table[table["setting"] == setting].reset_index(drop=True)


def test_the_headline_table_has_a_column_per_confirmed_setting():
    header, rows = headline_table()
    assert header[2:] == list(COLUMNS)
    assert rows and all(len(row) == len(header) for row in rows)


@pytest.mark.parametrize("column", list(COLUMNS))
def test_each_cell_quotes_its_claims_table(column):
    header, rows = headline_table()
    study, setting = COLUMNS[column]
    table = claims(study, setting)
    assert len(table) == len(rows), f"{study} {setting}: {len(table)} claims, {len(rows)} rows"
    at = header.index(column)
    for row, (_, claim) in zip(rows, table.iterrows(), strict=True):
        cell = row[at]
        if cell.startswith("not judged"):
            continue  # over-fitting is judged at ratio 10 only (docs/evidence.md)
        match = CELL.match(cell)
        assert match, f"{column} / {row[0]}: {cell!r}"
        where = f"{column} / {row[0]} ({claim['claim']})"
        for part, field in (("mean", "mean"), ("low", "ci_low"), ("high", "ci_high")):
            assert agrees(match[part], claim[field]), f"{where}: {part} {match[part]}"
        assert (int(match["wins"]), int(match["n"])) == (claim["wins"], claim["n"]), where
        p = match["p"]
        assert claim["holm_p"] < 0.001 if p == "<0.001" else agrees(p, claim["holm_p"]), where
        reproduced = match["verdict"] == "**reproduced**"
        assert reproduced == (claim["verdict"] == "reproduced"), f"{where}: {match['verdict']}"
