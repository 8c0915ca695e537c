"""The designs' stages (the confirmation verdicts and the paper-count tables) are judged by the
content rule like a study's: their committed records name today's params, code and inputs,
dvc.yaml tracks exactly the entries they record, and Snakemake re-runs them after an edit of
their code or design, and only them."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from procrustean.checks.freshness import Freshness
from procrustean.config import load_params
from procrustean.design_params import DESIGN_KEY, recorded_params
from procrustean.verdict_files import OUTPUTS
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


@pytest.mark.parametrize("name", DESIGNS)
def test_dvc_tracks_every_entry_the_record_holds(name, monkeypatch):
    """dvc.yaml's params of the stage are the params.yaml keys of the record's entries, so an
    edit the record would see re-runs the stage under DVC too."""
    monkeypatch.chdir(REPO)
    record = recorded_params(load_params("params.yaml"), name)
    keys = {DESIGN_KEY[name]}
    for catalogue in ("studies", "pending", "recipes", "datasets"):
        prefix = "studies" if catalogue == "pending" else catalogue
        keys |= {f"{prefix}.{entry}" for entry in record.get(catalogue, {})}
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][name]
    assert set(stage["params"]) == keys
    assert len(keys) > 3  # the design, and the studies, recipes and datasets it reads


def test_an_undeclared_design_has_no_stage(monkeypatch):
    monkeypatch.chdir(REPO)
    params = load_params("params.yaml")
    bare = dataclasses.replace(params, confirmation=None, paper_counts=None)
    assert Freshness(bare).design("verdicts") is None
    assert Freshness(bare).design("paper-counts") is None
    alone = Freshness(dataclasses.replace(params, confirmation=None)).design("paper-counts")
    assert alone is not None and OUTPUTS[2] not in alone.inputs  # no verdicts to read


def _dry(repo) -> dict[str, int]:
    out = run(["snakemake", "-n", "paper_counts", *FLAG], repo).stdout
    return {} if "Nothing to be done" in out else snakemake_jobs(out)


def _edit_params(repo, edit) -> None:
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    edit(params)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.mark.slow
def test_snakemake_reruns_a_design_after_its_code_or_params_change(tmp_path):
    """In a fresh clone nothing runs; a comment in the paper-count code re-runs paper_counts
    alone; a new description of a confirmation study re-runs its report, the verdicts that
    record it and, through the verdicts table, the paper-count grid; putting a finished study
    back under pending re-runs paper_counts alone. ``procrustean status`` (all studies) names
    the design that is out of date and the command."""
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
    assert _dry(repo) == {}
    kept = (repo / "params.yaml").read_text()
    design = yaml.safe_load(kept)["confirmation"]
    confirmed = [s for s in design["studies"] if s not in design["pending"]][-1]  # has a report
    _edit_params(repo, lambda p: p["studies"][confirmed].update(description="reworded"))
    assert _dry(repo) == {"report": 1, "verdicts": 1, "paper_counts": 1}
    (repo / "params.yaml").write_text(kept)
    _edit_params(
        repo, lambda p: p["paper_counts"]["pending"].append(p["paper_counts"]["studies"][0])
    )
    assert _dry(repo) == {"paper_counts": 1}
