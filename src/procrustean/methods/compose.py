"""A method: loss + class-weighting schedule + sampler + mixing, built from params.yaml."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from procrustean import entries
from procrustean.errors import UserError
from procrustean.methods.losses import Loss, build_loss
from procrustean.methods.mixing import MIXINGS, NoMixing
from procrustean.methods.schedules import Weighting


@dataclass
class Method:
    """The parts of one training method, bound to a split's class counts."""

    loss: Loss
    weighting: Weighting
    sampler: str
    mixing: NoMixing

    @property
    def normed_classifier(self) -> bool:
        return self.loss.normed_classifier


def build_method(
    cfg: entries.Method,
    counts: list[int],
    seed: int,
    epochs: int,
    drw_epoch: int,
    device: torch.device,
) -> Method:
    """Compose a method from its resolved params entry."""
    mixing = cfg.mixing.name
    if mixing not in MIXINGS:
        raise UserError(f"unknown mixing '{mixing}'; use one of {', '.join(MIXINGS)}")
    return Method(
        loss=build_loss(cfg.loss, counts, device),
        weighting=Weighting(cfg.weighting, counts, drw_epoch, device),
        sampler=cfg.sampler,
        mixing=MIXINGS[mixing](cfg.mixing, counts, seed, epochs),
    )
