"""Class-weighting schedules and samplers."""

from __future__ import annotations

from collections.abc import Callable

import torch

from procrustean import entries
from procrustean.methods.losses import effective_number_weights

# Weighting name -> the first epoch of class-balanced weights (None: never), given drw_epoch.
WEIGHTINGS: dict[str, Callable[[int], int | None]] = {
    "none": lambda drw_epoch: None,
    "cb": lambda drw_epoch: 0,
    "drw": lambda drw_epoch: drw_epoch,
}
SAMPLERS = ("none", "balanced")


class Weighting:
    """Per-class loss weights as a function of the epoch: none, cb (always) or drw (deferred)."""

    def __init__(
        self, cfg: entries.Weighting, counts: list[int], drw_epoch: int, device: torch.device
    ) -> None:
        self.name = cfg.name
        self.start = WEIGHTINGS[self.name](drw_epoch)
        ones = [1.0] * len(counts)
        balanced = effective_number_weights(counts, cfg.beta) if self.start is not None else ones
        self.ones = torch.tensor(ones, device=device)
        self.balanced = torch.tensor(balanced, device=device)

    def __call__(self, epoch: int) -> torch.Tensor:
        """Weights for the 0-based ``epoch``."""
        if self.start is None or epoch < self.start:
            return self.ones
        return self.balanced


def epoch_order(
    labels: torch.Tensor, counts: list[int], sampler: str, gen: torch.Generator
) -> torch.Tensor:
    """Indices of one epoch: a permutation, or a class-balanced draw with replacement."""
    n = len(labels)
    if sampler == "balanced":
        per_class = torch.tensor(counts, dtype=torch.float64)
        probs = (1 / per_class)[labels]
        return torch.multinomial(probs, n, replacement=True, generator=gen)
    return torch.randperm(n, generator=gen)
