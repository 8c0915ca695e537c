"""The choice of kept samples: which images of each class an imbalanced split keeps
(the counts come from procrustean.data.profiles)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from procrustean.errors import UserError


def select_indices(labels: torch.Tensor, counts: list[int], seed: int) -> torch.Tensor:
    """``seeded`` selection: sorted indices keeping ``counts[c]`` samples of class c, each class
    drawn with its own generator from the split seed.

    Each class's draw is a prefix of one fixed permutation, so a smaller count keeps a subset.
    """
    kept = []
    for c, n in enumerate(counts):
        pool = _pool(labels, c, n)
        gen = torch.Generator().manual_seed(seed * 1_000_003 + c)
        kept.append(pool[torch.randperm(len(pool), generator=gen)[:n]])
    return torch.sort(torch.cat(kept)).values


def select_indices_ldam(labels: torch.Tensor, counts: list[int], seed: int) -> torch.Tensor:
    """``ldam`` selection: exactly LDAM-DRW's ``gen_imbalanced_data`` (Cao et al. 2019): NumPy's
    generator seeded once with ``seed``, then, class by class in label order, the indices of
    the class in the dataset's order shuffled in place and the first ``counts[c]`` kept.

    On torchvision's CIFAR ordering with seed 0 this keeps the images of every published
    CIFAR-10-LT / CIFAR-100-LT result built on LDAM-DRW's code. Returned sorted.
    """
    rng = np.random.RandomState(seed)  # what np.random.seed(seed) sets up for np.random.shuffle
    targets = labels.numpy()
    kept = []
    for c, n in enumerate(counts):
        _pool(labels, c, n)
        idx = np.where(targets == c)[0]
        rng.shuffle(idx)
        kept.append(torch.from_numpy(idx[:n].astype(np.int64)))
    return torch.sort(torch.cat(kept)).values


SELECTIONS: dict[str, Callable[[torch.Tensor, list[int], int], torch.Tensor]] = {
    "seeded": select_indices,
    "ldam": select_indices_ldam,
}


def _pool(labels: torch.Tensor, c: int, n: int) -> torch.Tensor:
    pool = torch.nonzero(labels == c).flatten()
    if n > len(pool):
        raise UserError(
            f"class {c} has {len(pool)} training images but the split asks for {n}; "
            f"lower max_per_class to at most {len(pool)}"
        )
    return pool
