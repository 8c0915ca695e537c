"""Helpers the tests share: the repository, the CLI in a subprocess, params files to edit,
argument lists for the smoke study's stages, and one training job (fixtures are in conftest)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from procrustean.analyses import Analysis, load
from procrustean.config import load_params, resolve_params
from procrustean.data.split import run_split
from procrustean.entries import Params
from procrustean.train import TrainJob

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI") == "true"
# The mfw mixing entry with every key the schema fills (p_max at its schema default, 1.0).
MFW_DEFAULTS = {
    "name": "mfw",
    "p_max": 1.0,
    "gamma": 1.0,
    "layers": [0, 1, 2, 3],
    "alpha": 1.0,
    "probability": "rank",
    "start_epoch": 0,
    "end_epoch": None,
    "detach_partner": False,
}


def cli_env() -> dict[str, str]:
    """Environment with the venv's tools first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_cli(
    *args: str, cwd: Path, check: bool = False, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run ``procrustean ARGS`` in ``cwd``."""
    proc = subprocess.run(
        [str(BIN / "procrustean"), *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"procrustean {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def write_params(folder: Path, params: dict) -> Path:
    """Write ``params`` as ``folder``/params.yaml."""
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def fashion_mnist_available() -> bool:
    from procrustean.data.sources import _fashion_mnist_folder

    return _fashion_mnist_folder(None) is not None


def require_fashion_mnist() -> None:
    """Skip where the dataset cannot be had, but never in CI (setup installs it there)."""
    if not fashion_mnist_available():
        if IN_CI:
            pytest.fail("Fashion-MNIST is missing in CI: scripts/setup.sh should have installed it")
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")


def split_args(
    profile: str = "step", ratio: str = "10", out: str = "split.json", summary: str = "summary.json"
) -> list[str]:
    """``procrustean split`` arguments for the smoke study's synthetic data."""
    return ["split", "--study", "smoke", "--dataset", "synthetic", "--profile", profile,
            "--ratio", ratio, "--out", out, "--summary", summary]  # fmt: skip


def train_args(
    method: str = "ce", seed: str = "0", checkpoint: str = "model.pt", history: str = "history.json"
) -> list[str]:
    """``procrustean train`` arguments: the smoke study on split.json, on the CPU, one thread."""
    return ["train", "--study", "smoke", "--dataset", "synthetic", "--method", method,
            "--seed", seed, "--split", "split.json", "--checkpoint", checkpoint,
            "--history", history, "--device", "cpu", "--threads", "1"]  # fmt: skip


def evaluate_args(checkpoint: str = "model.pt", out: str = "metrics.json") -> list[str]:
    """``procrustean evaluate`` arguments for a smoke checkpoint made on split.json."""
    return ["evaluate", "--dataset", "synthetic", "--split", "split.json",
            "--checkpoint", checkpoint, "--out", out, "--device", "cpu", "--threads", "1"]  # fmt: skip


def resolved(params: dict, source: str = "params.yaml") -> Params:
    """A params dict validated, defaults filled and typed, as load_params returns it."""
    return resolve_params(params, source, source)


def smoke_split(profile: str, ratio: int, out: str, summary: str) -> dict:
    """The smoke study's split of the synthetic data, from ./params.yaml."""
    return run_split(load_params("params.yaml"), "smoke", "synthetic", profile, ratio, out, summary)


def job(params: dict, method: str, out: str, seed: int = 0, recipe: str = "smoke") -> TrainJob:
    """A training job of the smoke study on ./split.json, on the CPU, one thread."""
    p = resolved(params)
    return TrainJob(
        dataset=p.dataset("synthetic"),
        recipe=p.recipe(recipe),
        method=p.method(method),
        seed=seed,
        params_file=p.source,
        split_path="split.json",
        checkpoint=f"{out}/model.pt",
        history=f"{out}/history.json",
        device="cpu",
        threads=1,
    )


def write_analysis(folder: Path, name: str, analysis: dict) -> Path:
    """Write ``analysis`` as ``folder``/analyses/``name``.yaml (a registered analysis)."""
    path = folder / "analyses" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(analysis, sort_keys=False))
    return path


@functools.cache
def repo_analysis(name: str) -> Analysis:
    """The committed analysis ``analyses/<name>.yaml``, loaded against the committed params
    (once a session)."""
    return load(name, load_params(REPO / "params.yaml"), root=REPO)
