"""The analyses' judge stages (judge-<name>, one per file under analyses/) are judged by the
content rule like a study's: their committed records name today's analysis, params, code and
inputs, dvc.yaml tracks exactly the entries they record (and the file itself), and Snakemake
re-runs them after an edit of their code, file or studies, and only them."""

from __future__ import annotations

import shutil

import pytest
import yaml

from procrustean import verdict_files
from procrustean.analyses import names
from procrustean.checks.freshness import Freshness
from procrustean.config import load_params
from procrustean.design_params import judge_params
from procrustean.verdict_files import judge_name
from tests.helpers import REPO, repo_analysis
from tests.helpers.clones import fresh_clone, run, snakemake_jobs

ANALYSES = names(REPO)
FLAG = ["--config", "allow_missing=true"]


def test_every_committed_analysis_has_a_judge_stage(monkeypatch):
    assert {"confirmation", "fit_regime", "paper_counts"} <= set(ANALYSES)
    monkeypatch.chdir(REPO)
    fresh = Freshness(load_params("params.yaml"))
    for name in ANALYSES:
        stage = fresh.design(judge_name(name))
        assert stage.name == f"judge-{name}" and stage.kind == "judge", name


@pytest.mark.parametrize("name", ANALYSES)
def test_committed_design_records_are_current(name, monkeypatch):
    """What git holds was made from this tree's analysis file, params, code and report tables
    (re-run ``snakemake --cores 1 judge_NAME --config allow_missing=true`` after changing
    them)."""
    monkeypatch.chdir(REPO)
    fresh = Freshness(load_params("params.yaml"), allow_missing=True)
    stage = fresh.design(judge_name(name))
    assert stage is not None and stage.kind == "judge"
    assert stage.outputs == tuple(verdict_files.outputs(repo_analysis(name)))
    verdict = fresh.verdict(judge_name(name))
    assert verdict.current, f"{name}: {verdict.text()}"


@pytest.mark.parametrize("name", ANALYSES)
def test_dvc_tracks_every_entry_the_record_holds(name, monkeypatch):
    """dvc.yaml's params of the stage are the params.yaml keys of the record's entries, and its
    first dependency is the analysis file, so an edit the record would see re-runs the stage
    under DVC too."""
    monkeypatch.chdir(REPO)
    analysis = repo_analysis(name)
    record = judge_params(load_params("params.yaml"), analysis)
    written = yaml.safe_load((REPO / analysis.path).read_text())
    kept = {k: v for k, v in written.items() if k != "readme"}  # presentation: no verdict moves
    assert {k: record["analysis"][k] for k in kept} == kept  # the file, defaults filled
    assert "readme" not in record["analysis"]
    assert record["finished"] == list(analysis.finished)
    keys = set()
    for catalogue in ("studies", "recipes", "datasets"):
        keys |= {f"{catalogue}.{entry}" for entry in record[catalogue]}
    assert set(record["studies"]) == set(analysis.studies)
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][judge_name(name)]
    assert set(stage["params"]) == keys
    assert len(keys) > 3  # the studies, recipes and datasets it reads
    assert stage["deps"][0] == analysis.path == f"analyses/{name}.yaml"
    assert stage["cmd"].endswith(f" judge {name}")


def test_an_unregistered_analysis_has_no_stage(tmp_path, monkeypatch):
    """A judge stage is a file under analyses/: none for a name without one; a grid reads the
    verdicts of the analyses it joins, and only those."""
    monkeypatch.chdir(REPO)
    params = load_params("params.yaml")
    fresh = Freshness(params)
    assert fresh.design("judge-nope") is None
    counted = fresh.design(judge_name("paper_counts"))
    assert counted.inputs[-1] == verdict_files.long_path("confirmation")  # its grid joins it
    confirmed = fresh.design(judge_name("confirmation"))
    assert not [p for p in confirmed.inputs if p.endswith("verdicts.csv")]  # joins none
    (tmp_path / "analyses").mkdir()
    shutil.copy(REPO / "analyses/confirmation.yaml", tmp_path / "analyses")
    monkeypatch.chdir(tmp_path)  # a folder that registers confirmation alone
    alone = Freshness(params)
    assert alone.design(judge_name("confirmation")) is not None
    assert alone.design(judge_name("paper_counts")) is None


def _dry(repo) -> dict[str, int]:
    out = run(["snakemake", "-n", "judge_paper_counts", *FLAG], repo).stdout
    return {} if "Nothing to be done" in out else snakemake_jobs(out)


def _edit_yaml(path, edit) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.slow
def test_snakemake_reruns_a_design_after_its_code_or_params_change(tmp_path):
    """In a fresh clone nothing runs; a comment in the judging code re-runs the judge stages
    that code serves (paper_counts and the confirmation verdicts its grid reads); a new
    description of a confirmation study re-runs its report, the confirmation verdicts that
    record it and, through its verdicts table, the paper-count grid; a new title of the
    paper-count analysis, or a finished study of it put back under pending, re-runs
    judge_paper_counts alone. ``procrustean status`` (all studies) names the judge stages that
    are out of date and the command."""
    repo = fresh_clone(tmp_path / "repo")
    assert _dry(repo) == {}
    code = repo / "src/procrustean/report/revised.py"
    original = code.read_text()
    code.write_text(original + "# a comment\n")
    assert _dry(repo) == {"judge_confirmation": 1, "judge_paper_counts": 1}
    status = run(["procrustean", "status", "--allow-missing"], repo, check=False)
    assert status.returncode == 1
    assert "status judge-paper_counts: out of date (allow-missing) (code)" in status.stdout
    assert "snakemake --cores 1 judge_paper_counts --config allow_missing=true" in status.stdout
    assert "(or: dvc repro --allow-missing judge-paper_counts)" in status.stdout
    code.write_text(original)
    assert _dry(repo) == {}
    status = run(["procrustean", "status", "--allow-missing"], repo, check=False)
    assert "status judge-paper_counts: up to date (allow-missing)" in status.stdout
    kept = (repo / "params.yaml").read_text()
    design = yaml.safe_load((repo / "analyses/confirmation.yaml").read_text())
    confirmed = [s for s in design["studies"] if s not in design["pending"]][-1]  # has a report
    _edit_yaml(repo / "params.yaml", lambda p: p["studies"][confirmed].update(description="new"))
    assert _dry(repo) == {"report": 1, "judge_confirmation": 1, "judge_paper_counts": 1}
    (repo / "params.yaml").write_text(kept)
    counts = repo / "analyses/paper_counts.yaml"
    written = counts.read_text()
    _edit_yaml(counts, lambda a: a.update(title="MFW at the paper's image counts, reworded"))
    assert _dry(repo) == {"judge_paper_counts": 1}
    counts.write_text(written)
    _edit_yaml(counts, lambda a: a["pending"].append(a["studies"][0]))
    assert _dry(repo) == {"judge_paper_counts": 1}
