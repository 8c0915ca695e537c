"""The designs' stages (the confirmation verdicts and the paper-count tables) are judged by the
content rule like a study's: their committed records name today's params, code and inputs, and
Snakemake re-runs them after an edit of their code or design, and only them."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from procrustean.checks.freshness import Freshness
from procrustean.config import load_params
from tests.helpers import REPO
from tests.helpers.clones import fresh_clone, run, snakemake_jobs

DESIGNS = ("verdicts", "paper-counts")
FLAG = ["--config", "allow_missing=true"]


@pytest.mark.parametrize("name", DESIGNS)
def test_committed_design_records_are_current(name, monkeypatch):
    """What git holds was made from this tree's params, code and report tables (re-run
    ``snakemake --cores 1 paper_counts --config allow_missing=true`` after changing them)."""
    monkeypatch.chdir(REPO)
    fresh = Freshness(load_params("params.yaml"), allow_missing=True)
    assert fresh.design(name) is not None
    verdict = fresh.verdict(name)
    assert verdict.current, f"{name}: {verdict.text()}"


def test_an_undeclared_design_has_no_stage(monkeypatch):
    monkeypatch.chdir(REPO)
    params = load_params("params.yaml")
    bare = dataclasses.replace(params, confirmation=None, paper_counts=None)
    assert Freshness(bare).design("verdicts") is None


def _dry(repo) -> dict[str, int]:
    out = run(["snakemake", "-n", "paper_counts", *FLAG], repo).stdout
    return {} if "Nothing to be done" in out else snakemake_jobs(out)


@pytest.mark.slow
def test_snakemake_reruns_a_design_after_its_code_or_params_change(tmp_path):
    """In a fresh clone nothing runs; a comment in the paper-count code re-runs paper_counts
    alone; one in the verdicts' code re-runs both (the grid reads the verdicts); putting a
    finished study back under pending re-runs paper_counts alone. ``procrustean status``
    (all studies) names the design that is out of date and the command."""
    repo = fresh_clone(tmp_path / "repo")
    assert _dry(repo) == {}
    code = repo / "src/procrustean/report/paper_counts.py"
    original = code.read_text()
    code.write_text(original + "# a comment\n")
    assert _dry(repo) == {"paper_counts": 1}
    status = run(["procrustean", "status", "--allow-missing"], repo, check=False)
    assert status.returncode == 1
    assert "status verdicts: up to date (allow-missing)" in status.stdout
    assert "status paper-counts: out of date (allow-missing) (code)" in status.stdout
    assert "snakemake --cores 1 paper_counts --config allow_missing=true" in status.stdout
    code.write_text(original)
    verdicts_code = repo / "src/procrustean/report/confirmation.py"
    kept = verdicts_code.read_text()
    verdicts_code.write_text(kept + "# a comment\n")
    assert _dry(repo) == {"verdicts": 1, "paper_counts": 1}
    verdicts_code.write_text(kept)
    assert _dry(repo) == {}
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["paper_counts"]["pending"].append(params["paper_counts"]["studies"][0])
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    assert _dry(repo) == {"paper_counts": 1}
