"""Per-sample training losses of the field, on logits. Evaluation always uses the raw logits."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from procrustean import entries
from procrustean.errors import UserError


class Loss:
    """Cross-entropy; subclasses change the logits or the per-sample value."""

    normed_classifier = False

    def __init__(self, cfg: entries.Loss, counts: list[int], device: torch.device) -> None:
        self.cfg = cfg
        self.counts = torch.tensor(counts, dtype=torch.float32, device=device)

    def per_sample(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Loss of each sample against ``targets`` (shape [B])."""
        return F.cross_entropy(logits.float(), targets, reduction="none")


class FocalLoss(Loss):
    """(1 - p_y)^gamma x cross-entropy (Lin et al. 2017)."""

    def per_sample(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        ce = super().per_sample(logits, targets)
        return (1 - torch.exp(-ce)) ** self.cfg.gamma * ce


class LDAMLoss(Loss):
    """Cross-entropy on ``scale * (z - m_y 1_y)`` with ``m_c`` proportional to n_c^(-1/4) (Cao et al.)."""

    normed_classifier = True

    def __init__(self, cfg: entries.Loss, counts: list[int], device: torch.device) -> None:
        super().__init__(cfg, counts, device)
        margins = self.counts.pow(-0.25)
        self.margins = margins * (cfg.max_margin / margins.max())
        self.scale = cfg.scale

    def per_sample(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        shifted = logits.float() - F.one_hot(targets, logits.shape[1]) * self.margins[targets, None]
        return F.cross_entropy(self.scale * shifted, targets, reduction="none")


class LogitAdjustedLoss(Loss):
    """Cross-entropy on ``z + tau * log(prior)`` (Menon et al. 2021)."""

    def per_sample(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        log_prior = torch.log(self.counts / self.counts.sum())
        return super().per_sample(logits.float() + self.cfg.tau * log_prior, targets)


class CDTLoss(Loss):
    """Cross-entropy on ``z_c / a_c``, ``a_c = (n_max / n_c)^gamma`` (class-dependent temperatures)."""

    def per_sample(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        temps = (self.counts.max() / self.counts) ** self.cfg.gamma
        return super().per_sample(logits.float() / temps, targets)


LOSSES: dict[str, type[Loss]] = {
    "ce": Loss,
    "focal": FocalLoss,
    "ldam": LDAMLoss,
    "la": LogitAdjustedLoss,
    "cdt": CDTLoss,
}


def build_loss(cfg: entries.Loss, counts: list[int], device: torch.device) -> Loss:
    """The loss a method's resolved ``loss`` entry names."""
    if cfg.name not in LOSSES:
        raise UserError(f"unknown loss '{cfg.name}'; use one of {', '.join(LOSSES)}")
    return LOSSES[cfg.name](cfg, counts, device)


def mixed_weighted_loss(
    loss: Loss,
    logits: torch.Tensor,
    y_a: torch.Tensor,
    y_b: torch.Tensor,
    lam: torch.Tensor,
    weights: torch.Tensor,
    mixed: bool | None = None,
) -> torch.Tensor:
    """Class-weighted loss against a per-sample mixture of two labels.

    ``sum_i lam_i w[a_i] l(a_i) + (1 - lam_i) w[b_i] l(b_i)`` over the same sum of weights;
    with ``lam = 1`` it is ``F.cross_entropy(weight=w)``'s weighted mean. ``mixed`` says whether
    the second label can carry weight (known from the mixing, so the device is not asked).
    """
    w_a = lam * weights[y_a]
    total = w_a * loss.per_sample(logits, y_a)
    norm = w_a
    if mixed is None:
        mixed = not bool((lam == 1).all())
    if mixed:
        w_b = (1 - lam) * weights[y_b]
        total = total + w_b * loss.per_sample(logits, y_b)
        norm = norm + w_b
    return total.sum() / norm.sum()


def mixed_unweighted_sum(
    loss: Loss,
    logits: torch.Tensor,
    y_a: torch.Tensor,
    y_b: torch.Tensor,
    lam: torch.Tensor,
    mixed: bool,
) -> torch.Tensor:
    """``sum_i lam_i l(a_i) + (1 - lam_i) l(b_i)``: no class weights, no batch mean, so its
    gradient at sample i's features is that sample's own loss gradient."""
    total = lam * loss.per_sample(logits, y_a)
    if mixed:
        total = total + (1 - lam) * loss.per_sample(logits, y_b)
    return total.sum()


def effective_number_weights(counts: list[int], beta: float) -> list[float]:
    """Class-balanced weights ``(1 - beta) / (1 - beta^n_c)``, normalised to sum to C (Cui et al.)."""
    raw = [(1 - beta) / (1 - math.pow(beta, n)) for n in counts]
    total = sum(raw)
    return [w * len(counts) / total for w in raw]
