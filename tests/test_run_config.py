"""Run-config files: one per dataset and method of a study, rewritten only when their entries
change, so DVC's train stages re-run exactly the runs an edit touches."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from procrustean.cli import main
from procrustean.config import validate_params
from procrustean.run_config import run_entries, study_run_configs, write_run_configs
from tests.conftest import write_params


@pytest.fixture
def smoke(params):
    return validate_params(params)


def _times(paths: list[str]) -> dict[str, int]:
    return {p: Path(p).stat().st_mtime_ns for p in paths}


def test_one_file_per_dataset_and_method_holding_its_entries(tmp_path, monkeypatch, smoke):
    monkeypatch.chdir(tmp_path)
    done = write_run_configs(smoke, "smoke")
    study = smoke["studies"]["smoke"]
    assert len(done.written) == len(study["datasets"]) * len(study["methods"])
    assert not done.unchanged and not done.removed
    path = "results/smoke/config/synthetic/mfw.json"
    recipe = study["recipe"]
    assert json.loads(Path(path).read_text()) == {
        "dataset": smoke["datasets"]["synthetic"],
        "recipe": {recipe: smoke["recipes"][recipe]},
        "method": smoke["methods"]["mfw"],
    }
    assert json.loads(Path(path).read_text()) == run_entries(smoke, "smoke", "synthetic", "mfw")


def test_an_edit_rewrites_only_the_files_it_touches(tmp_path, monkeypatch, smoke):
    monkeypatch.chdir(tmp_path)
    first = write_run_configs(smoke, "smoke").written
    before = _times(first)
    again = write_run_configs(smoke, "smoke")
    assert again.written == [] and sorted(again.unchanged) == sorted(first)
    assert _times(first) == before  # unchanged files keep their times (and DVC's cached hash)
    edited = copy.deepcopy(smoke)
    edited["methods"]["mfw"]["mixing"]["p_max"] = 0.25
    changed = write_run_configs(edited, "smoke").written
    assert changed == [p for p in first if p.endswith("/mfw.json")] and changed
    assert {p: t for p, t in _times(first).items() if p not in changed} == {
        p: t for p, t in before.items() if p not in changed
    }
    edited["recipes"][smoke["studies"]["smoke"]["recipe"]]["epochs"] += 1
    assert sorted(write_run_configs(edited, "smoke").written) == sorted(first)


def test_a_method_taken_out_of_the_study_loses_its_file(tmp_path, monkeypatch, smoke):
    monkeypatch.chdir(tmp_path)
    write_run_configs(smoke, "smoke")
    fewer = copy.deepcopy(smoke)
    fewer["studies"]["smoke"]["methods"] = [
        m for m in smoke["studies"]["smoke"]["methods"] if m != "mfw"
    ]
    done = write_run_configs(fewer, "smoke")
    assert done.removed == ["results/smoke/config/synthetic/mfw.json"]
    assert not Path(done.removed[0]).exists()
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.json")) == sorted(
        study_run_configs(fewer, "smoke")
    )


def test_one_file_from_the_cli_and_a_name_outside_the_study(tmp_path, monkeypatch, params, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["--params", str(write_params(tmp_path, params)), "run-config", "--study", "smoke"]
    assert main([*args, "--dataset", "synthetic", "--method", "ce"]) == 0
    assert [p.as_posix() for p in Path("results").rglob("*.json")] == [
        "results/smoke/config/synthetic/ce.json"
    ]
    assert "1 files (1 written, 0 unchanged, 0 removed)" in capsys.readouterr().out
    assert main([*args, "--method", "cb"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("procrustean run-config: error: method 'cb' is not in study 'smoke'")
    assert "studies.smoke.methods" in err and len(err.splitlines()) == 1
    assert main([*args[:-1], "nope"]) == 2
    assert "unknown study 'nope'" in capsys.readouterr().err
    assert len(list(Path("results").rglob("*.json"))) == 1  # nothing written on bad input
