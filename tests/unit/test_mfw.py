"""Procrustean training (MFW): the semantics docs/evidence.md specifies ("The method as implemented")."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
import torch

from procrustean.config import resolve_entry
from procrustean.entries import Mixing
from procrustean.methods.mixing import (
    MFW,
    AdaptiveMFW,
    class_rank,
    rank_probabilities,
    uniform_probabilities,
)
from procrustean.train import train
from tests.helpers import MFW_DEFAULTS, job, smoke_split, write_params

STEP = [500] * 5 + [5] * 5
CFG = {**MFW_DEFAULTS, "p_max": 0.5}


def mixing(cfg: dict) -> Mixing:
    """A mixing entry resolved as load_params resolves it."""
    return resolve_entry("mixing", cfg)


SHAPES = {0: (3, 8, 8), 1: (16, 8, 8), 2: (32, 4, 4), 3: (64, 2, 2)}


def batch(n: int = 256, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(seed))


def test_rank_and_probabilities():
    assert class_rank(STEP) == [1.0] * 5 + [0.0] * 5
    assert class_rank([100] * 4) == [0.0] * 4
    exp = [100, 46, 21, 10]
    r = class_rank(exp)
    assert r[0] == 1 and r[-1] == 0 and r[1] == pytest.approx(math.log(4.6) / math.log(10))
    assert rank_probabilities(exp, 0.4, 2.0) == pytest.approx([0.4 * v**2 for v in r])
    uni = uniform_probabilities(STEP, 0.5, 1.0)
    assert len(set(uni)) == 1
    assert uni[0] == pytest.approx(
        sum(n * p for n, p in zip(STEP, rank_probabilities(STEP, 0.5, 1.0), strict=True))
        / sum(STEP)
    )


def test_plans_keep_labels_lambda_range_and_layers():
    mfw = MFW(mixing({**CFG, "layers": [1, 3]}), STEP, seed=0, epochs=10)
    layers = set()
    for i in range(200):
        y = batch(seed=i)
        plan = mfw.plan(y, epoch=0)
        assert torch.equal(plan.y_b, y) and bool((plan.lam_y == 1).all())  # labels never change
        assert bool(((plan.lam >= 0.5) & (plan.lam <= 1)).all())
        assert bool((plan.lam[~plan.weakened] == 1).all())
        layers.add(plan.layer)
    assert layers == {1, 3}


@pytest.mark.parametrize("layer", [0, 1, 2, 3])
def test_probability_zero_classes_pass_unchanged(layer):
    mfw = MFW(mixing({**CFG, "layers": [layer]}), STEP, seed=1, epochs=10)
    y = batch()
    plan = mfw.plan(y, 0)
    h = torch.randn(len(y), *SHAPES[layer])
    out = plan.mixer(h)
    minor = y >= 5
    assert torch.equal(out[minor], h[minor])
    assert torch.equal(out[~plan.weakened], h[~plan.weakened])
    changed = (out != h).flatten(1).any(1)
    assert bool(changed[plan.weakened & (plan.lam < 1)].all())


def test_weakened_fraction_matches_p_max_on_step_split():
    mfw = MFW(mixing(CFG), STEP, seed=2, epochs=10)
    major = minor = weak_major = weak_minor = 0
    for i in range(400):
        y = batch(seed=100 + i)
        w = mfw.plan(y, 0).weakened
        major += int((y < 5).sum())
        minor += int((y >= 5).sum())
        weak_major += int(w[y < 5].sum())
        weak_minor += int(w[y >= 5].sum())
    frac = weak_major / major
    se = math.sqrt(0.5 * 0.5 / major)
    assert abs(frac - 0.5) < 4 * se
    assert weak_minor == 0


def test_lambda_keeps_the_larger_share():
    mfw = MFW(mixing({**CFG, "p_max": 1.0, "gamma": 0.0}), STEP, seed=3, epochs=10)  # every sample
    lams = torch.cat([mfw.plan(batch(seed=i), 0).lam for i in range(50)])
    assert float(lams.min()) >= 0.5 and float(lams.max()) <= 1.0
    assert 0.70 < float(lams.mean()) < 0.80  # alpha = 1: max(u, 1-u) is uniform on [0.5, 1]


def test_epoch_range():
    mfw = MFW(mixing({**CFG, "start_epoch": 2, "end_epoch": 4}), STEP, seed=0, epochs=10)
    y = batch()
    assert [mfw.plan(y, e).mixer is not None for e in range(6)] == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]


def test_detached_partner_receives_no_gradient():
    cfg = {**CFG, "p_max": 1.0, "gamma": 0.0, "layers": [3], "detach_partner": True}
    y = batch(8)
    plan = MFW(mixing(cfg), STEP, seed=4, epochs=10).plan(y, 0)
    h = torch.randn(8, 4, requires_grad=True)
    plan.mixer(h).sum().backward()
    assert torch.allclose(h.grad, plan.lam.view(-1, 1).expand(8, 4))  # only the own share


def test_adaptive_rule():
    mfw = AdaptiveMFW(
        mixing({**CFG, "name": "mfw_adaptive", "p_max": 0.6, "gamma": 2.0}), STEP, 0, 10
    )
    assert mfw.p == rank_probabilities(STEP, 0.6, 2.0)  # before the first measurement
    mfw.end_epoch([0.9, 0.5, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.3])
    assert mfw.p == pytest.approx([0.6, 0.6 * 0.5**2, 0, 0, 0.6, 0, 0, 0, 0, 0.6 * 0.25**2])
    mfw.end_epoch([0.5] * 10)
    assert mfw.p == [0.0] * 10


@pytest.fixture
def smoke_dir(tmp_path: Path, params: dict, monkeypatch) -> Path:
    params["recipes"]["smoke"]["epochs"] = 2
    params["methods"]["mfw_off"] = {
        **params["methods"]["mfw"],
        "mixing": {**params["methods"]["mfw"]["mixing"], "p_max": 0.0},
    }
    write_params(tmp_path, params)
    monkeypatch.chdir(tmp_path)
    smoke_split("step", 10, "split.json", "split.summary.json")
    return tmp_path


def _model_bytes(path: str) -> bytes:
    buf = io.BytesIO()
    torch.save(torch.load(path, weights_only=True)["model"], buf)
    return buf.getvalue()


def test_p_max_zero_is_byte_identical_to_base_method(smoke_dir, params):
    train(job(params, "ce", "runs/ce"))
    train(job(params, "mfw_off", "runs/off"))
    assert _model_bytes("runs/ce/model.pt") == _model_bytes("runs/off/model.pt")
    ce = json.loads(Path("runs/ce/history.json").read_text())["epochs"]
    off = json.loads(Path("runs/off/history.json").read_text())["epochs"]
    assert ce == off


def test_same_seed_same_run_and_mfw_changes_training(smoke_dir, params):
    train(job(params, "mfw", "runs/a"))
    train(job(params, "mfw", "runs/b"))
    train(job(params, "ce", "runs/ce"))
    assert Path("runs/a/model.pt").read_bytes() == Path("runs/b/model.pt").read_bytes()
    assert _model_bytes("runs/a/model.pt") != _model_bytes("runs/ce/model.pt")
    hist = json.loads(Path("runs/a/history.json").read_text())
    frac = hist["epochs"][0]["weakened_fraction"]
    assert all(f == 0 for f in frac[5:])  # minor classes never weakened
    p_max = params["methods"]["mfw"]["mixing"]["p_max"]
    assert all(abs(f - p_max) < 0.2 for f in frac[:5])  # majors weakened at about p_max
