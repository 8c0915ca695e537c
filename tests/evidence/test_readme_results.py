"""What people read is what the judged analyses give: every committed file of every analysis is
what judging its committed inputs writes, results/README.md (the index and the claim x setting
grids) and the README's results block are generated from them, and the README stays a short
report a newcomer reads first."""

from __future__ import annotations

import re

import pytest

from procrustean import verdict_files
from procrustean.analyses import names
from procrustean.config import load_params
from procrustean.report import index, judge
from tests.helpers import REPO, repo_analysis

README = REPO / "README.md"


@pytest.fixture(scope="module")
def params():
    return load_params(REPO / "params.yaml")


@pytest.mark.parametrize("name", names(REPO))
def test_every_committed_file_of_an_analysis_is_what_judging_gives(params, name, monkeypatch):
    """Re-judged from the committed report tables, each output has its committed bytes."""
    monkeypatch.chdir(REPO)
    analysis = repo_analysis(name)
    made, _ = judge.texts(params, analysis)
    outputs = verdict_files.outputs(analysis)
    assert len(made) == len(outputs)
    for path, text in zip(outputs, made, strict=True):
        assert (REPO / path).read_text(encoding="utf-8") == text, path


def test_the_index_and_the_readme_results_are_generated(params, monkeypatch):
    monkeypatch.chdir(REPO)
    assert (REPO / "results/README.md").read_text(encoding="utf-8") == index.render(params)
    block = index.readme_block(params, [repo_analysis(n) for n in names(REPO)])
    text = README.read_text(encoding="utf-8")
    assert index.with_readme_block(text, block) == text
    assert block.count("\n|") >= 4  # a header, its rule and rows from the analyses


def test_every_study_and_analysis_has_its_entry_in_the_index(params):
    text = (REPO / "results/README.md").read_text(encoding="utf-8")
    studies = text.split("## Studies", 1)[1]
    for study in params.studies:
        assert re.search(rf"^\| `{study}` ", studies, re.M), study
    for name in names(REPO):
        assert f"### `{name}`: " in text, name
        assert f"](../analyses/{name}.yaml)" in text


def test_the_paper_counts_grid_joins_the_confirmation_verdicts():
    assert repo_analysis("paper_counts").grid_with == ("confirmation",)
    grid = (REPO / "results/paper_counts/grid.md").read_text(encoding="utf-8")
    heads = [c.strip() for c in grid.splitlines()[2].strip("|").split("|")]
    assert heads[1:5] == ["500/5", "500>5", "150/15", "150>15"]  # confirmation, ratio 100 first
    assert "without 3: opposite" in grid  # a deciding class says where the verdict moves


def _prose(text: str) -> list[str]:
    """The README's lines outside code blocks and tables."""
    out, code = [], False
    for line in text.splitlines():
        code = code != line.startswith("```")
        if not code and not line.startswith(("|", "```", "<!--")):
            out.append(line)
    return out


def test_the_readme_is_a_short_report_that_opens_with_the_finding():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 100
    found = next(i for i, line in enumerate(lines) if line.startswith("**We found**"))
    assert found < 15  # the first screen
    assert max(len(line) for line in _prose("\n".join(lines))) <= 100
    commands = [line for line in lines if line.startswith("bash scripts/setup.sh && ")]
    assert len(commands) == 2  # the two commands: the quick study, the tests
