"""One optimisation step and what the epoch measures as it goes, without waiting for the device:
losses, gradient norms and counters stay on it and are read every ``SYNC_EVERY`` steps (the
finiteness check, the progress line) and at the epoch's end."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from procrustean.diagnostics import GradientMeter
from procrustean.errors import UserError
from procrustean.methods import Method as BuiltMethod
from procrustean.methods.losses import mixed_unweighted_sum, mixed_weighted_loss
from procrustean.observers import TrainingObserver

SYNC_EVERY = 50  # steps between reads of the device's losses (finiteness check, progress)


@dataclass
class EpochMeters:
    """Per-class sums over an epoch's steps, on the device: the feature-gradient norms of each
    sample's own unweighted loss and of the step's weighted batch loss, the images seen and the
    images the mixing weakened."""

    num_classes: int
    device: torch.device
    grads: GradientMeter = field(init=False)
    grads_weighted: GradientMeter = field(init=False)
    weakened: torch.Tensor = field(init=False)
    seen: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.grads = GradientMeter(self.num_classes, self.device)
        self.grads_weighted = GradientMeter(self.num_classes, self.device)
        self.weakened = torch.zeros(self.num_classes, device=self.device)
        self.seen = torch.zeros(self.num_classes, device=self.device)

    def weakened_fraction(self) -> list[float]:
        """Each class's share of its images that the mixing weakened."""
        return (self.weakened / self.seen.clamp_min(1)).tolist()


@dataclass
class Optimisation:
    """What a step changes: the model, its optimiser and the loss scaler (AMP on CUDA)."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    amp: bool


def sgd_step(
    opt: Optimisation,
    method: BuiltMethod,
    x: torch.Tensor,
    y: torch.Tensor,
    epoch: int,
    weights: torch.Tensor,
    meters: EpochMeters,
) -> torch.Tensor:
    """One step on the batch (``x``, ``y``): the method's mixing and loss, the update, and the
    per-class gradient sums; returns the step's loss (on the device)."""
    plan = method.mixing.plan(y, epoch)
    with torch.autocast(x.device.type, enabled=opt.amp):
        logits, features = opt.model(x, plan.mixer, plan.layer)
    mixed = plan.mixes_labels
    loss = mixed_weighted_loss(method.loss, logits, y, plan.y_b, plan.lam_y, weights, mixed)
    unweighted = mixed_unweighted_sum(method.loss, logits, y, plan.y_b, plan.lam_y, mixed)
    (per_sample_grad,) = torch.autograd.grad(unweighted, features, retain_graph=True)
    features.retain_grad()  # after the call above, so .grad holds the step's loss only
    opt.optimizer.zero_grad(set_to_none=True)
    opt.scaler.scale(loss).backward()
    opt.scaler.step(opt.optimizer)
    opt.scaler.update()
    meters.grads.add(per_sample_grad, y)
    weighted = features.grad / opt.scaler.get_scale() if opt.amp else features.grad
    meters.grads_weighted.add(weighted, y)
    meters.seen.index_add_(0, y, torch.ones_like(y, dtype=meters.seen.dtype))
    if plan.weakened is not None:
        meters.weakened.index_add_(0, y, plan.weakened.to(meters.seen.dtype))
    return loss.detach()


class LossLog:
    """The epoch's step losses, kept on the device and read every ``SYNC_EVERY`` steps: the
    finiteness check and the progress line without a host sync per step."""

    def __init__(self, recipe: str, epoch: int, lr: float, progress: TrainingObserver) -> None:
        self.recipe, self.epoch, self.lr, self.progress = recipe, epoch, lr, progress
        self.pending: list[tuple[int, torch.Tensor]] = []
        self.total = 0.0

    def add(self, step: int, loss: torch.Tensor) -> None:
        self.pending.append((step, loss))
        if len(self.pending) >= SYNC_EVERY:
            self.drain()

    def drain(self) -> float:
        """Read the pending losses (one transfer), check them, return the running sum."""
        if self.pending:
            values = torch.stack([v for _, v in self.pending]).tolist()
            for (step, _), value in zip(self.pending, values, strict=True):
                if not math.isfinite(value):
                    raise UserError(
                        f"non-finite training loss ({value}) at epoch {self.epoch + 1}, step "
                        f"{step + 1} (lr {self.lr:g}); lower recipes.{self.recipe}.lr or "
                        "check the data"
                    )
                self.total += value
            self.progress.loss(values[-1])
            self.pending = []
        return self.total
