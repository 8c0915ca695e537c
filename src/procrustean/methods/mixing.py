"""Mixing components: what happens to a batch between input and classifier.

Each component turns a batch into a ``MixPlan``: an optional feature mixer, the layer it acts
at, and the label mixture the loss uses. Draws come from the component's own generator, so a
method that never mixes draws nothing from the run's other generators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from procrustean import entries
from procrustean.models.resnet import Mixer


@dataclass
class MixPlan:
    """How one batch is mixed and labelled."""

    mixer: Mixer | None
    layer: int | None
    y_b: torch.Tensor
    lam_y: torch.Tensor  # weight of each sample's own label in the loss
    weakened: torch.Tensor | None = None  # bool per sample (MFW)
    lam: torch.Tensor | None = None  # share of its own features each sample keeps
    mixes_labels: bool = False  # whether y_b can carry loss weight (mixup, remix)


def pair_mixer(lam: torch.Tensor, perm: torch.Tensor, detach_partner: bool = False) -> Mixer:
    """``h_i <- lam_i h_i + (1 - lam_i) h_perm(i)`` for any feature shape."""

    def mix(h: torch.Tensor) -> torch.Tensor:
        partner = h[perm].detach() if detach_partner else h[perm]
        lam_h = lam.to(h.dtype).view((-1,) + (1,) * (h.dim() - 1))
        return lam_h * h + (1 - lam_h) * partner

    return mix


class NoMixing:
    """Plain training: no mixer, labels unchanged."""

    def __init__(self, cfg: entries.Mixing, counts: list[int], seed: int, epochs: int) -> None:
        self.cfg = cfg
        self.counts, self.epochs = list(counts), epochs
        self.rng = np.random.default_rng([seed, 7919])

    def plan(self, y: torch.Tensor, epoch: int) -> MixPlan:
        """The mix for one batch with labels ``y`` at 0-based ``epoch``."""
        return MixPlan(None, None, y, torch.ones(len(y), device=y.device))

    def end_epoch(self, class_acc: list[float]) -> None:
        """Hook after each epoch's clean pass (adaptive MFW uses it)."""

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]

    def _layer(self) -> int:
        layers = self.cfg.layers
        return int(layers[self.rng.integers(len(layers))])

    def _perm(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.from_numpy(self.rng.permutation(n)).to(device)

    def _beta(self, size: int | None = None) -> np.ndarray:
        alpha = float(self.cfg.alpha)
        return self.rng.beta(alpha, alpha, size)


class Mixup(NoMixing):
    """mixup / manifold mixup: one lambda per batch, labels mixed the same way."""

    def plan(self, y: torch.Tensor, epoch: int) -> MixPlan:
        lam = float(self._beta())
        layer = self._layer() if self.cfg.name == "manifold_mixup" else 0
        perm = self._perm(len(y), y.device)
        lam_t = torch.full((len(y),), lam, device=y.device)
        return MixPlan(pair_mixer(lam_t, perm), layer, y[perm], lam_t, mixes_labels=True)


class Remix(Mixup):
    """Remix (Chou et al. 2020): mixed inputs, labels pushed to the minor class of a pair."""

    def plan(self, y: torch.Tensor, epoch: int) -> MixPlan:
        plan = super().plan(y, epoch)
        counts = torch.tensor(self.counts, dtype=torch.float32, device=y.device)
        ratio = counts[y] / counts[plan.y_b]
        kappa, tau = self.cfg.kappa, self.cfg.tau
        lam = plan.lam_y
        lam_y = torch.where((ratio >= kappa) & (lam < tau), torch.zeros_like(lam), lam)
        lam_y = torch.where((ratio <= 1 / kappa) & (1 - lam < tau), torch.ones_like(lam), lam_y)
        plan.lam_y = lam_y
        return plan


def class_rank(counts: list[int]) -> list[float]:
    """``log(N_c / N_min) / log(N_max / N_min)``: 1 for the largest class, 0 for the smallest."""
    lo, hi = min(counts), max(counts)
    if hi == lo:
        return [0.0] * len(counts)
    return [math.log(n / lo) / math.log(hi / lo) for n in counts]


def rank_probabilities(counts: list[int], p_max: float, gamma: float) -> list[float]:
    """MFW's per-class weakening probability ``p_max * r_c ** gamma``."""
    return [p_max * r**gamma for r in class_rank(counts)]


def uniform_probabilities(counts: list[int], p_max: float, gamma: float) -> list[float]:
    """One rate for every class, equal to the rank rule's mean rate over training samples."""
    p = rank_probabilities(counts, p_max, gamma)
    mean = sum(n * pc for n, pc in zip(counts, p, strict=True)) / sum(counts)
    return [mean] * len(counts)


class MFW(NoMixing):
    """Procrustean training: major-feature weakening (docs/evidence.md, "The method as implemented").

    Each sample is weakened with its class's probability: at one layer drawn per step, its
    features become ``lam h_i + (1 - lam) h_pi(i)`` with ``lam = max(u, 1 - u)``,
    ``u ~ Beta(alpha, alpha)``. Labels never change.
    """

    def __init__(self, cfg: entries.Mixing, counts: list[int], seed: int, epochs: int) -> None:
        super().__init__(cfg, counts, seed, epochs)
        cfg = self.cfg
        rule = uniform_probabilities if cfg.probability == "uniform" else rank_probabilities
        self.p = rule(self.counts, cfg.p_max, cfg.gamma)

    def active(self, epoch: int) -> bool:
        """Whether weakening is on at 0-based ``epoch``."""
        end = self.cfg.end_epoch
        return self.cfg.start_epoch <= epoch < (end if end is not None else self.epochs)

    def plan(self, y: torch.Tensor, epoch: int) -> MixPlan:
        n = len(y)
        plain = super().plan(y, epoch)
        if not self.active(epoch) or max(self.p) == 0:
            return plain
        # Draws on the host without reading the labels; the per-class comparison on the device.
        draws = torch.from_numpy(self.rng.random(n)).to(y.device)
        u = torch.from_numpy(self._beta(n)).to(y.device)
        layer = self._layer()
        perm = self._perm(n, y.device)
        p = torch.tensor(self.p, dtype=torch.float64, device=y.device)
        weakened = draws < p[y]
        lam_t = torch.where(weakened, torch.maximum(u, 1 - u), torch.ones_like(u)).float()
        # On the CPU, skip the mixer when no sample is weakened (free to ask); on a GPU, asking
        # would wait for the device, and mixing with lam = 1 leaves the features unchanged.
        idle = y.device.type == "cpu" and not bool(weakened.any())
        mixer = None if idle else pair_mixer(lam_t, perm, self.cfg.detach_partner)
        return MixPlan(mixer, layer, y, plain.lam_y, weakened, lam_t)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "p": list(self.p)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.p = list(state["p"])


class AdaptiveMFW(MFW):
    """MFW whose per-class rates follow measured training progress (beyond the paper).

    After each epoch's clean pass: ``p_c = p_max * ((a_c - a_min) / (a_max - a_min)) ** gamma``
    with ``a_c`` the class's clean training accuracy; the class furthest ahead is weakened most,
    the one furthest behind not at all. Before the first measurement the rank rule applies.
    """

    def end_epoch(self, class_acc: list[float]) -> None:
        lo, hi = min(class_acc), max(class_acc)
        p_max, gamma = self.cfg.p_max, self.cfg.gamma
        if hi - lo < 1e-12:
            self.p = [0.0] * len(class_acc)
        else:
            self.p = [p_max * ((a - lo) / (hi - lo)) ** gamma for a in class_acc]


MIXINGS: dict[str, type[NoMixing]] = {
    "none": NoMixing,
    "mixup": Mixup,
    "manifold_mixup": Mixup,
    "remix": Remix,
    "mfw": MFW,
    "mfw_adaptive": AdaptiveMFW,
}
