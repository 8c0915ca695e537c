"""Every loss against a hand computation on a small tensor; weighting and sampling schedules."""

import math

import pytest
import torch
import torch.nn.functional as F

from procrustean.config import resolve_entry
from procrustean.methods.losses import build_loss, effective_number_weights, mixed_weighted_loss
from procrustean.methods.schedules import Weighting, epoch_order

CPU = torch.device("cpu")
COUNTS = [100, 10, 1]
LOGITS = torch.tensor([[2.0, 1.0, 0.0], [0.5, -0.5, 1.5]])
TARGETS = torch.tensor([0, 2])


def ce_by_hand(z: list[float], y: int) -> float:
    return -z[y] + math.log(sum(math.exp(v) for v in z))


def per_sample(name, **cfg):
    return (
        build_loss(resolve_entry("loss", {"name": name, **cfg}), COUNTS, CPU)
        .per_sample(LOGITS, TARGETS)
        .tolist()
    )


def test_ce():
    expected = [ce_by_hand([2, 1, 0], 0), ce_by_hand([0.5, -0.5, 1.5], 2)]
    assert per_sample("ce") == pytest.approx(expected, rel=1e-5)


def test_focal():
    out = []
    for z, y in (([2, 1, 0], 0), ([0.5, -0.5, 1.5], 2)):
        ce = ce_by_hand(z, y)
        out.append((1 - math.exp(-ce)) ** 2 * ce)
    assert per_sample("focal", gamma=2.0) == pytest.approx(out, rel=1e-5)


def test_ldam():
    m = [n**-0.25 for n in COUNTS]
    m = [v * 0.5 / max(m) for v in m]  # largest margin 0.5, for the rarest class
    out = []
    for z, y in (([2, 1, 0], 0), ([0.5, -0.5, 1.5], 2)):
        shifted = [2 * (v - (m[y] if k == y else 0)) for k, v in enumerate(z)]
        out.append(ce_by_hand(shifted, y))
    assert per_sample("ldam", max_margin=0.5, scale=2.0) == pytest.approx(out, rel=1e-5)
    assert build_loss(resolve_entry("loss", {"name": "ldam"}), COUNTS, CPU).normed_classifier


def test_logit_adjusted():
    prior = [n / sum(COUNTS) for n in COUNTS]
    out = []
    for z, y in (([2, 1, 0], 0), ([0.5, -0.5, 1.5], 2)):
        out.append(ce_by_hand([v + 1.0 * math.log(p) for v, p in zip(z, prior, strict=True)], y))
    assert per_sample("la", tau=1.0) == pytest.approx(out, rel=1e-5)


def test_cdt():
    temps = [(100 / n) ** 0.3 for n in COUNTS]
    out = []
    for z, y in (([2, 1, 0], 0), ([0.5, -0.5, 1.5], 2)):
        out.append(ce_by_hand([v / t for v, t in zip(z, temps, strict=True)], y))
    assert per_sample("cdt", gamma=0.3) == pytest.approx(out, rel=1e-5)


def test_effective_number_weights():
    beta = 0.99
    raw = [(1 - beta) / (1 - beta**n) for n in COUNTS]
    expected = [r * 3 / sum(raw) for r in raw]
    assert effective_number_weights(COUNTS, beta) == pytest.approx(expected)
    assert sum(effective_number_weights(COUNTS, beta)) == pytest.approx(3)


def test_weighted_loss_matches_torch_weighted_cross_entropy():
    loss = build_loss(resolve_entry("loss", {"name": "ce"}), COUNTS, CPU)
    w = torch.tensor([0.2, 1.0, 1.8])
    ours = mixed_weighted_loss(loss, LOGITS, TARGETS, TARGETS, torch.ones(2), w)
    assert float(ours) == pytest.approx(float(F.cross_entropy(LOGITS, TARGETS, weight=w)), rel=1e-5)


def test_mixed_label_loss_by_hand():
    loss = build_loss(resolve_entry("loss", {"name": "ce"}), COUNTS, CPU)
    y_b = torch.tensor([1, 0])
    lam = torch.tensor([0.7, 0.4])
    got = float(mixed_weighted_loss(loss, LOGITS, TARGETS, y_b, lam, torch.ones(3)))
    a = [ce_by_hand([2, 1, 0], 0), ce_by_hand([0.5, -0.5, 1.5], 2)]
    b = [ce_by_hand([2, 1, 0], 1), ce_by_hand([0.5, -0.5, 1.5], 0)]
    expected = (0.7 * a[0] + 0.3 * b[0] + 0.4 * a[1] + 0.6 * b[1]) / 2
    assert got == pytest.approx(expected, rel=1e-5)


def test_drw_defers_weights():
    sched = Weighting(
        resolve_entry("weighting", {"name": "drw", "beta": 0.999}), COUNTS, drw_epoch=5, device=CPU
    )
    assert sched(4).tolist() == [1.0, 1.0, 1.0]
    assert sched(5).tolist() == pytest.approx(effective_number_weights(COUNTS, 0.999))
    assert (
        Weighting(resolve_entry("weighting", {"name": "cb", "beta": 0.999}), COUNTS, 5, CPU)(0)[2]
        > 1
    )
    assert Weighting(resolve_entry("weighting", {"name": "none"}), COUNTS, 5, CPU)(
        100
    ).tolist() == [1.0, 1.0, 1.0]


def test_balanced_sampler_equalises_classes():
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    order = epoch_order(labels, [900, 90, 10], "balanced", torch.Generator().manual_seed(0))
    freq = torch.bincount(labels[order], minlength=3).float() / len(order)
    assert torch.allclose(freq, torch.full((3,), 1 / 3), atol=0.05)
    plain = epoch_order(labels, [900, 90, 10], "none", torch.Generator().manual_seed(0))
    assert sorted(plain.tolist()) == list(range(1000))
