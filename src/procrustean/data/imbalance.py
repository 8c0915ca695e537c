"""Imbalance profiles as LDAM-DRW's code draws them, and the choice of kept samples."""

from __future__ import annotations

import torch

from procrustean.errors import UserError

PROFILES = ("exp", "step")


def num_minor_classes(num_classes: int, minor_fraction: float) -> int:
    """How many classes (the last ones) a step profile makes minor."""
    return int(round(num_classes * minor_fraction))


def class_counts(
    num_classes: int,
    max_per_class: int,
    profile: str,
    ratio: float,
    minor_fraction: float = 0.5,
) -> list[int]:
    """Training images kept per class.

    ``exp``: class i keeps ``int(n_max * (1/ratio) ** (i / (C - 1)))``.
    ``step``: the last ``minor_fraction`` of the classes keep ``int(n_max / ratio)``, the rest n_max.
    """
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not ratio >= 1:
        raise UserError(f"imbalance ratio must be a number >= 1 (n_max / n_min), got {ratio!r}")
    if not 0 < minor_fraction < 1:
        raise UserError(f"minor_fraction must lie in (0, 1), got {minor_fraction!r}")
    if num_classes < 2:
        raise UserError(f"an imbalanced split needs at least 2 classes, got {num_classes}")
    if profile == "exp":
        return [
            int(max_per_class * (1 / ratio) ** (i / (num_classes - 1))) for i in range(num_classes)
        ]
    if profile == "step":
        minor = num_minor_classes(num_classes, minor_fraction)
        major = num_classes - minor
        return [max_per_class] * major + [int(max_per_class / ratio)] * minor
    raise UserError(f"unknown imbalance profile '{profile}'; use one of {', '.join(PROFILES)}")


def select_indices(labels: torch.Tensor, counts: list[int], seed: int) -> torch.Tensor:
    """Sorted indices keeping ``counts[c]`` samples of class c, drawn with the split seed.

    Each class's draw is a prefix of one fixed permutation, so a smaller count keeps a subset.
    """
    kept = []
    for c, n in enumerate(counts):
        pool = torch.nonzero(labels == c).flatten()
        if n > len(pool):
            raise UserError(
                f"class {c} has {len(pool)} training images but the split asks for {n}; "
                f"lower max_per_class to at most {len(pool)}"
            )
        gen = torch.Generator().manual_seed(seed * 1_000_003 + c)
        kept.append(pool[torch.randperm(len(pool), generator=gen)[:n]])
    return torch.sort(torch.cat(kept)).values


def class_groups(counts: list[int], profile: str) -> dict[str, list[int]]:
    """Class groups for reporting.

    step: ``major`` (the largest classes) and ``minor`` (the rest);
    exp: ``many`` (> 100 training images), ``medium`` (20-100) and ``few`` (< 20).
    """
    if profile == "step":
        top = max(counts)
        return {
            "major": [c for c, n in enumerate(counts) if n == top],
            "minor": [c for c, n in enumerate(counts) if n < top],
        }
    return {
        "many": [c for c, n in enumerate(counts) if n > 100],
        "medium": [c for c, n in enumerate(counts) if 20 <= n <= 100],
        "few": [c for c, n in enumerate(counts) if n < 20],
    }
