"""The training engine on synthetic data: every method trains, ce learns, evaluation, resume."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from procrustean.evaluate import evaluate, load_checkpoint
from procrustean.train import learning_rate, train
from tests.helpers import BIN, cli_env, job, resolved, smoke_split, train_args, write_params


def test_learning_rate_schedule(params):
    recipe = resolved(params).recipe("smoke")
    recipe = dataclasses.replace(
        recipe, lr=0.1, warmup_epochs=5, lr_decays=((160, 0.01), (180, 0.0001))
    )
    assert learning_rate(recipe, 0) == pytest.approx(0.02)
    assert learning_rate(recipe, 4) == pytest.approx(0.1)
    assert learning_rate(recipe, 159) == pytest.approx(0.1)
    assert learning_rate(recipe, 160) == pytest.approx(0.001)
    assert learning_rate(recipe, 199) == pytest.approx(0.00001)


@pytest.mark.heavy
def test_every_method_trains_one_epoch(workdir, params):
    params["recipes"]["smoke"]["epochs"] = 1
    for method in params["methods"]:
        trainer = train(job(params, method, f"runs/{method}"))
        hist = json.loads(Path(f"runs/{method}/history.json").read_text())
        assert trainer.epoch == 1 and len(hist["epochs"]) == 1, method
        entry = hist["epochs"][0]
        assert len(entry["class_acc"]) == 10 and all(0 <= a <= 1 for a in entry["class_acc"])
        assert all(g > 0 for g in entry["class_grad_norm"]), method
        assert not Path(f"runs/{method}/model.pt.resume.pt").exists()


@pytest.mark.heavy
def test_ce_learns_well_above_chance(workdir, params):
    params["recipes"]["smoke"].update(epochs=6, lr_decays=[[5, 0.1]], drw_epoch=5)
    params["datasets"]["synthetic"]["max_per_class"] = 200
    write_params(workdir, params)
    smoke_split("exp", 1, "balanced.json", "balanced.summary.json")
    j = job(params, "ce", "runs/ce")
    j.split_path = "balanced.json"
    train(j)
    metrics = evaluate(
        resolved(params),
        "synthetic",
        "balanced.json",
        "runs/ce/model.pt",
        "metrics.json",
        "cpu",
        1,
    )
    assert metrics["top1"] > 10 + 40  # chance is 10% with 10 classes
    assert sum(map(sum, metrics["confusion"])) == metrics["num_test"] == 500


def test_history_and_checkpoint_contents(workdir, params):
    train(job(params, "ldam_drw", "runs/ld"))
    hist = json.loads(Path("runs/ld/history.json").read_text())
    assert hist["class_counts"] == [200] * 5 + [20] * 5
    assert hist["groups"] == {"major": [0, 1, 2, 3, 4], "minor": [5, 6, 7, 8, 9]}
    assert hist["diagnostic_subset"]["class_counts"] == [20] * 10
    assert [e["lr"] for e in hist["epochs"]] == [0.05, 0.05]
    ckpt = load_checkpoint("runs/ld/model.pt")
    assert ckpt["model_config"]["normed"] is True and ckpt["epoch"] == 2
    assert ckpt["provenance"]["params"]["method"]["ldam_drw"]["loss"]["name"] == "ldam"


def test_evaluate_refuses_checkpoint_of_another_split(workdir, params):
    from procrustean.errors import UserError

    train(job(params, "ce", "runs/ce"))
    smoke_split("exp", 10, "other.json", "other.summary.json")
    with pytest.raises(UserError, match="made on a split with sha256"):
        evaluate(
            resolved(params),
            "synthetic",
            "other.json",
            "runs/ce/model.pt",
            "m.json",
            "cpu",
            1,
        )
    assert not Path("m.json").exists()


def _train_cmd(out: str) -> list[str]:
    return [
        str(BIN / "procrustean"),
        *train_args("mfw", "3", f"{out}/model.pt", f"{out}/history.json"),
    ]


@pytest.mark.heavy
def test_sigkill_mid_epoch_then_resume_is_byte_identical(workdir, params):
    params["recipes"]["smoke"]["epochs"] = 4
    params["datasets"]["synthetic"]["max_per_class"] = 600  # a few seconds per epoch
    write_params(workdir, params)
    smoke_split("step", 10, "split.json", "split.summary.json")
    env = cli_env()
    subprocess.run(_train_cmd("whole"), cwd=workdir, env=env, check=True, capture_output=True)

    proc = subprocess.Popen(
        _train_cmd("killed"),
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    resume = workdir / "killed/model.pt.resume.pt"
    deadline = time.monotonic() + 120
    while not resume.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # well into the next epoch
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (workdir / "killed/model.pt").exists()
    state = torch.load(resume, weights_only=True)
    assert 1 <= state["epoch"] < 4

    again = subprocess.run(
        _train_cmd("killed"), cwd=workdir, env=env, capture_output=True, text=True, check=True
    )
    assert f"resumed from killed/model.pt.resume.pt at epoch {state['epoch']}" in again.stderr
    assert (workdir / "killed/model.pt").read_bytes() == (workdir / "whole/model.pt").read_bytes()
    assert (workdir / "killed/history.json").read_bytes() == (
        workdir / "whole/history.json"
    ).read_bytes()


def test_cpu_jobs_run_deterministic_kernels_without_importing_the_compiler():
    """A CPU job turns deterministic algorithms on (the flag eager kernels read) and does not pay
    for torch._inductor's import, which torch.use_deterministic_algorithms would do."""
    code = (
        "import sys, torch\n"
        "from procrustean.runtime import configure\n"
        "assert not torch.are_deterministic_algorithms_enabled()\n"
        "configure(torch.device('cpu'), 1)\n"
        "print(torch.are_deterministic_algorithms_enabled(), 'torch._inductor' in sys.modules)\n"
    )
    out = subprocess.run(
        [str(BIN / "python"), "-c", code], env=cli_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False"]
