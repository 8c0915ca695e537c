"""Key files: one per stage group of a study (results/<study>/config/{split,train,evaluate,
report}/...), holding the params the stage records and the sha256 of its code; rewritten only
when their content changes, so DVC re-runs exactly the stages an edit touches."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from procrustean import verdict_files
from procrustean.analyses import names
from procrustean.checks.freshness import stage_key, study_stages
from procrustean.engines.run_config import study_keys, write_run_configs
from procrustean.entries import Params
from procrustean.provenance import stage_code_hashes
from procrustean.stage_params import train_params
from procrustean.ui.cli import main
from tests.helpers import REPO, repo_analysis, resolved, write_params

ROOT = "results/smoke/config"
TRAIN_CE = f"{ROOT}/train/synthetic/ce.json"
TRAIN_MFW = f"{ROOT}/train/synthetic/mfw.json"


@pytest.fixture
def smoke(params):
    return resolved(params)


def _times(paths: list[str]) -> dict[str, int]:
    return {p: Path(p).stat().st_mtime_ns for p in paths}


def _expected_files(params: Params) -> list[str]:
    """The smoke study's key files: one per split setting, per dataset and method for training,
    per dataset for evaluation, one for the report."""
    study = params.study("smoke")
    settings = [f"{d}-{p}-r{r}" for d in study.datasets for p in study.profiles
                for r in study.ratios]  # fmt: skip
    return sorted(
        [f"{ROOT}/split/{s}.json" for s in settings]
        + [f"{ROOT}/train/{d}/{m}.json" for d in study.datasets for m in study.methods]
        + [f"{ROOT}/evaluate/{d}.json" for d in study.datasets]
        + [f"{ROOT}/report/report.json"]
    )


def _files_on_disk(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.json"))


def test_one_file_per_stage_group_holding_its_params_and_code(tmp_path, monkeypatch, smoke):
    monkeypatch.chdir(tmp_path)
    done = write_run_configs(smoke, "smoke")
    assert sorted(done.written) == _expected_files(smoke)
    assert not done.unchanged and not done.removed
    assert _files_on_disk(tmp_path) == _expected_files(smoke)
    content = json.loads(Path(TRAIN_MFW).read_text())
    assert set(content) == {"params", "code"}
    expected_params = train_params(smoke, "smoke", "synthetic", "mfw", 0)
    del expected_params["seed"]  # one file for every seed of the method
    assert content["params"] == expected_params
    assert content["code"] == stage_code_hashes("train")
    assert "src/procrustean/methods/mixing.py" in content["code"]
    assert content == study_keys(smoke, "smoke")[TRAIN_MFW]
    # the other groups hold their stage's key as procrustean.checks.freshness computes it
    stages = study_stages(smoke, "smoke")
    for stage in stages.values():
        if stage.kind != "train":
            assert json.loads(Path(stage.key).read_text()) == stage_key(stage), stage.key


def test_an_edit_rewrites_only_the_files_it_touches(tmp_path, monkeypatch, smoke):
    monkeypatch.chdir(tmp_path)
    first = write_run_configs(smoke, "smoke").written
    before = _times(first)
    again = write_run_configs(smoke, "smoke")
    assert again.written == [] and sorted(again.unchanged) == sorted(first)
    assert _times(first) == before  # unchanged files keep their times (and DVC's cached hash)
    edited = smoke.as_dict()
    edited["methods"]["mfw"]["mixing"]["p_max"] = 0.25
    changed = write_run_configs(resolved(edited), "smoke").written
    assert changed == [TRAIN_MFW]
    assert (
        json.loads(Path(TRAIN_MFW).read_text())["params"]["method"]["mfw"]["mixing"]["p_max"]
        == 0.25
    )
    assert {p: t for p, t in _times(first).items() if p not in changed} == {
        p: t for p, t in before.items() if p not in changed
    }
    # the recipe is every training run's: both training files, nothing else
    edited["recipes"][smoke.study("smoke").recipe]["epochs"] += 1
    assert sorted(write_run_configs(resolved(edited), "smoke").written) == [TRAIN_CE, TRAIN_MFW]
    # a dataset entry is read by its splits, training runs and evaluation, not by the report
    edited["datasets"]["synthetic"]["test_per_class"] += 1
    assert sorted(write_run_configs(resolved(edited), "smoke").written) == [
        p for p in _expected_files(smoke) if "/report/" not in p
    ]


def test_a_method_taken_out_of_the_study_loses_its_file(tmp_path, monkeypatch, smoke):
    monkeypatch.chdir(tmp_path)
    write_run_configs(smoke, "smoke")
    fewer_dict = smoke.as_dict()
    fewer_dict["studies"]["smoke"]["methods"] = [
        m for m in smoke.study("smoke").methods if m != "mfw"
    ]
    fewer = resolved(fewer_dict)
    done = write_run_configs(fewer, "smoke")
    assert done.removed == [TRAIN_MFW]
    assert not Path(TRAIN_MFW).exists()
    assert done.written == [f"{ROOT}/report/report.json"]  # the study entry changed
    assert _files_on_disk(tmp_path) == sorted(study_keys(fewer, "smoke"))


def test_the_cli_writes_every_key_file_and_nothing_on_bad_input(
    tmp_path, monkeypatch, params, capsys
):
    monkeypatch.chdir(tmp_path)
    bad = copy.deepcopy(params)
    bad["studies"]["smoke"]["methods"].append("mfx")
    bad_file = tmp_path / "bad" / "params.yaml"
    bad_file.parent.mkdir()
    write_params(bad_file.parent, bad)
    assert main(["--params", str(bad_file), "run-config", "--study", "smoke"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("procrustean run-config: error: ") and len(err.splitlines()) == 1
    assert "studies.smoke.methods[2]: unknown method 'mfx'" in err
    assert not Path("results").exists()  # bad params: nothing written
    args = ["--params", str(write_params(tmp_path, params)), "run-config", "--study", "smoke"]
    assert main(args) == 0
    assert _files_on_disk(tmp_path / "results") == [
        p.removeprefix("results/") for p in _expected_files(resolved(params))
    ]
    n = len(_expected_files(resolved(params)))
    assert f"{n} files ({n} written, 0 unchanged, 0 removed)" in capsys.readouterr().out
    assert main(args) == 0
    assert f"{n} files (0 written, {n} unchanged, 0 removed)" in capsys.readouterr().out
    before = {p: p.read_bytes() for p in tmp_path.joinpath("results").rglob("*.json")}
    assert main([*args[:-1], "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown study 'nope'" in err and len(err.splitlines()) == 1
    after = {p: p.read_bytes() for p in tmp_path.joinpath("results").rglob("*.json")}
    assert after == before  # nothing written on bad input


def test_run_config_depends_on_every_stage_code_file():
    """dvc.yaml's run-config deps are the stage code (procrustean.provenance): a code edit reaches
    DVC through them (and the key files run-config rewrites), as dvc.yaml's header says."""
    deps = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["run-config"]["do"]["deps"]
    code = {f for kind in ("split", "train", "evaluate", "report") for f in stage_code_hashes(kind)}
    assert deps == sorted(code), (sorted(set(deps) - code), sorted(code - set(deps)))


def test_every_study_has_its_stage_groups_in_dvc_yaml():
    """A study in params.yaml needs its split, train and evaluate groups in dvc.yaml (run-config
    and report iterate over the studies themselves)."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    studies = list(yaml.safe_load((REPO / "params.yaml").read_text())["studies"])
    groups = [f"{kind}-{s}" for s in studies for kind in ("split", "train", "evaluate")]
    designs = [verdict_files.judge_name(n) for n in names(REPO)]  # one per analyses/*.yaml
    assert designs == ["judge-confirmation", "judge-fit_regime", "judge-paper_counts"]
    assert sorted(stages) == sorted(["run-config", "report", *designs, *groups])
    for name in names(REPO):
        analysis = repo_analysis(name)
        judge = stages[verdict_files.judge_name(name)]
        reads = verdict_files.inputs(analysis)  # its file first
        assert judge["deps"][: len(reads)] == reads
        outs = [next(iter(o)) for o in judge["outs"]]
        assert outs == [
            *verdict_files.outputs(analysis),
            verdict_files.outputs(analysis)[0] + ".prov.json",
        ]
    confirmed = repo_analysis("confirmation")  # its finished studies' tables
    tables = verdict_files.input_tables(confirmed.finished)
    assert verdict_files.inputs(confirmed) == [confirmed.path, *tables]
    assert stages["judge-confirmation"]["deps"][1 : len(tables) + 1] == tables
    counted = repo_analysis("paper_counts")  # its finished studies' tables (confirm's too), then
    reads = verdict_files.inputs(counted)  # the confirmation verdicts its grid joins
    assert (
        reads[-1] == verdict_files.long_path("confirmation") == "results/confirmation/verdicts.csv"
    )
    assert reads[1:-1] == verdict_files.input_tables(counted.finished)
    assert "results/confirm/tables/runs.csv" in reads  # the curve's 5-image point
    outs = [next(iter(o)) for o in stages["judge-paper_counts"]["outs"]]
    assert outs[-2:] == [
        "results/paper_counts/grid.md",
        "results/paper_counts/verdicts.md.prov.json",
    ]
    for study in studies:
        for kind in ("split", "train", "evaluate"):
            matrix = stages[f"{kind}-{study}"]["matrix"]
            assert matrix["study"] == [study] and matrix["dataset"] == (
                f"${{studies.{study}.datasets}}"
            ), (kind, study, matrix)
    assert stages["run-config"]["foreach"] == stages["report"]["foreach"] == "${studies}"


def test_dvc_yaml_is_generated_whole_from_the_studies_and_the_code(tmp_path, params):
    """The committed dvc.yaml is what the generator writes; a study added in params.yaml alone,
    a hand edit, or a judge input the generator would not write is refused with the command
    that regenerates the file, which then holds the new study's groups."""
    from procrustean.engines import dvc_yaml
    from procrustean.errors import UserError

    committed = yaml.safe_load((REPO / "params.yaml").read_text())
    text = (REPO / "dvc.yaml").read_text()
    assert dvc_yaml.render(resolved(committed)) == text
    target = tmp_path / "dvc.yaml"
    target.write_text(text)
    grown = copy.deepcopy(committed)
    grown["studies"]["fresh"] = copy.deepcopy(grown["studies"]["smoke"])
    with pytest.raises(
        UserError, match=r"do not match params.yaml's studies .*'procrustean dvc-yaml'"
    ):
        dvc_yaml.check(resolved(grown), str(target))
    assert dvc_yaml.write(resolved(grown), str(target))
    assert not dvc_yaml.write(resolved(grown), str(target))
    dvc_yaml.check(resolved(grown), str(target))
    stages = yaml.safe_load(target.read_text())["stages"]
    assert stages["train-fresh"]["matrix"]["seed"] == "${studies.fresh.seeds}"
    assert stages["train-fresh"]["cmd"] == stages["train-smoke"]["cmd"]  # the shared body
    dropped = text.replace("      - results/confirm_drw/tables/runs.csv\n", "")
    assert dropped != text
    target.write_text(dropped)
    with pytest.raises(UserError, match="'procrustean dvc-yaml'"):
        dvc_yaml.check(resolved(committed), str(target))


@pytest.mark.parametrize("name", ["confirmation", "fit_regime", "paper_counts"])
def test_each_judge_stage_reads_its_file_its_studies_and_its_own_code(name):
    """dvc.yaml's judge-NAME deps are the analysis file, its finished studies' tables (and the
    verdicts its grid joins), then every file of the judge stage's code (what its provenance
    record hashes: the analysis schema too), so DVC and the content rule agree."""
    judge = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][f"judge-{name}"]
    plan = repo_analysis(name)
    reads = verdict_files.inputs(plan)
    code = sorted(stage_code_hashes("judge"))
    assert reads[0] == f"analyses/{name}.yaml"  # its file: the content rule hashes it too
    assert judge["deps"] == [*reads, *code]
    assert "workflow/schemas/analysis.schema.yaml" in code
    assert judge["cmd"] == f"scripts/procrustean --params params.yaml judge {name}"
    for study in plan.finished:
        assert f"results/{study}/tables/runs.csv" in reads
    for study in plan.pending:  # not finished: not read
        assert not any(f"results/{study}/" in t for t in reads)
    if name == "confirmation":
        assert "results/confirm_drw/tables/runs.csv" in reads  # finished, so judged


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="DVC runs only inside a git checkout")
def test_the_committed_lock_records_every_run_config_as_current():
    """dvc.lock's run-config entries name today's params and stage code: otherwise a fresh clone's
    `dvc status` lists them although Snakemake and `procrustean status` find nothing to do.
    After an edit of params.yaml or stage code: `dvc commit -f run-config@<study>` per study."""
    import json
    import subprocess

    from tests.helpers import BIN, cli_env

    studies = list(yaml.safe_load((REPO / "params.yaml").read_text())["studies"])
    proc = subprocess.run(
        [str(BIN / "dvc"), "status", "--json", *(f"run-config@{s}" for s in studies)],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    changed = json.loads(proc.stdout or "{}")
    assert changed == {}, f"refresh with: dvc commit -f {' '.join(changed)}; {changed}"
