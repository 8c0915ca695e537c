"""params.yaml validation: one line naming the key and the rule, from the API and the CLI."""

import dataclasses
from pathlib import Path

import pytest

from procrustean.config import load_params, study_runs, validate_params
from procrustean.errors import UserError
from tests.helpers import REPO, resolved, run_cli, write_params


def test_repository_params_load_into_frozen_typed_entries(repo_params):
    params = load_params(REPO / "params.yaml")
    assert {"smoke", "quick", "paper"} <= set(params.studies)
    assert params.source == str(REPO / "params.yaml")
    quick = params.study_recipe("quick")
    assert isinstance(quick.epochs, int) and quick.resources.cpus >= 1
    assert quick.lr_decays == tuple(tuple(d) for d in repo_params["recipes"]["quick"]["lr_decays"])
    mfw = params.method("mfw")
    assert mfw.mixing.name == "mfw" and mfw.mixing.layers == tuple(mfw.mixing.layers)
    assert mfw.loss.name == "ce" and mfw.loss.tau is None  # no such constant for ce
    # the typed entry and the mapping recorded in provenance are the same resolved values
    assert mfw.record() == {"mfw": params.as_dict()["methods"]["mfw"]}
    with pytest.raises(dataclasses.FrozenInstanceError):
        mfw.sampler = "balanced"  # type: ignore[misc]
    with pytest.raises(UserError, match="unknown method 'nope'; known methods: "):
        params.method("nope")


def test_paper_study_grid(repo_params):
    runs = study_runs(resolved(repo_params), "paper")
    s = repo_params["studies"]["paper"]
    assert len(runs) == 2 * 2 * 2 * len(s["methods"]) * 3
    assert {r.setting.dataset for r in runs} == {"cifar10", "cifar100"}


BAD = [
    (
        lambda p: p["studies"]["smoke"]["ratios"].__setitem__(0, 0),
        "studies.smoke.ratios[0]",
        "minimum",
    ),
    (
        lambda p: p["studies"]["smoke"]["ratios"].__setitem__(0, "ten"),
        "studies.smoke.ratios[0]",
        "type",
    ),
    (lambda p: p["studies"]["smoke"]["methods"].append("nope"), "unknown method 'nope'", None),
    (lambda p: p["recipes"]["smoke"].pop("lr"), "recipes.smoke", "required"),
    (lambda p: p["recipes"]["smoke"].__setitem__("epochs", 0), "recipes.smoke.epochs", "minimum"),
    (
        lambda p: p["studies"]["smoke"].__setitem__("minor_fraction", 1.2),
        "minor_fraction",
        "exclusiveMaximum",
    ),
    (
        lambda p: p["studies"]["smoke"]["profiles"].append("zipf"),
        "studies.smoke.profiles[2]",
        "enum",
    ),
    (lambda p: p["studies"]["smoke"]["datasets"].append("mnist"), "unknown dataset 'mnist'", None),
]


@pytest.mark.parametrize(("edit", "where", "rule"), BAD)
def test_bad_params_api(params, edit, where, rule):
    edit(params)
    with pytest.raises(UserError) as info:
        validate_params(params)
    msg = str(info.value)
    assert where in msg and "\n" not in msg
    if rule:
        assert f"'{rule}'" in msg


@pytest.mark.parametrize(("edit", "where", "rule"), BAD[:4])
def test_bad_params_cli_writes_nothing(tmp_path: Path, params, edit, where, rule):
    edit(params)
    write_params(tmp_path, params)
    proc = run_cli(
        "split",
        "--study",
        "smoke",
        "--dataset",
        "synthetic",
        "--profile",
        "step",
        "--ratio",
        "10",
        "--out",
        "data/s.json",
        "--summary",
        "data/s.sum.json",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and where in lines[0]
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()


def test_invalid_yaml(tmp_path):
    (tmp_path / "params.yaml").write_text("datasets: [\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_params(tmp_path / "params.yaml")
