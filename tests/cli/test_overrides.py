"""Snakemake's own ways in: --config numbers reach the jobs as numbers, and a params.yaml that
is not valid YAML is refused in one line naming the line."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from procrustean.engines.overrides import typed_overrides, written_params
from procrustean.errors import UserError
from tests.helpers import BIN, REPO, cli_env


def test_config_strings_take_the_type_params_yaml_has():
    written = {"recipes": {"smoke": {"epochs": 3, "lr": 0.05, "amp": False, "model": "resnet8"}},
               "studies": {"smoke": {"description": "x", "seeds": [0]}}}  # fmt: skip
    snakemake_gives = {
        "recipes": {"smoke": {"epochs": "4", "lr": "1e-2", "amp": "true", "model": "resnet20"}},
        "studies": {"smoke": {"description": "5", "seeds": ["0", "1"]}, "new": {"ratios": ["10"]}},
    }
    typed = typed_overrides(snakemake_gives, written)
    assert typed["recipes"]["smoke"] == {"epochs": 4, "lr": 0.01, "amp": True, "model": "resnet20"}
    assert typed["studies"]["smoke"] == {"description": "5", "seeds": [0, 1]}  # a string stays
    assert typed["studies"]["new"] == {"ratios": [10]}


def _workflow(tmp_path, params_text: str):
    for name in ("Snakefile", "workflow", "profiles", "src"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, symlinks=True)
        else:
            shutil.copy(src, tmp_path / name)
    (tmp_path / "params.yaml").write_text(params_text)
    return tmp_path


def _snakemake(folder, *args):
    env = {**cli_env(), "PYTHONPATH": str(folder / "src")}
    return subprocess.run(
        [str(BIN / "snakemake"), "-n", "smoke", "--cores", "1", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_yaml_error_under_snakemake_names_the_line(tmp_path):
    text = (REPO / "params.yaml").read_text()
    lines = text.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("recipes:"))
    lines[at + 1] = "  smoke: {epochs: [3"  # an unclosed flow sequence
    folder = _workflow(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"params.yaml: line \d+ is not valid YAML"):
        written_params(folder / "params.yaml")
    proc = _snakemake(folder)
    ours = [ln for ln in proc.stderr.splitlines() if ln.startswith("procrustean: error:")]
    assert proc.returncode != 0 and len(ours) == 1, proc.stdout + proc.stderr
    assert "is not valid YAML" in ours[0] and " line " in ours[0]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_config_number_reaches_the_jobs(tmp_path):
    folder = _workflow(tmp_path, (REPO / "params.yaml").read_text())
    proc = _snakemake(folder, "--config", "recipes={smoke: {epochs: 4}}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    merged = list((folder / ".snakemake/procrustean").glob("params-*.yaml"))
    assert len(merged) == 1
    assert yaml.safe_load(merged[0].read_text())["recipes"]["smoke"]["epochs"] == 4
