"""Imbalance profiles as LDAM-DRW's code draws them: how many training images each class keeps,
and how the classes group for reporting. Plain Python (no torch), so the params code checks a
profile without importing torch."""

from __future__ import annotations

from collections.abc import Sequence

from procrustean.errors import UserError

PROFILES = ("exp", "step", "balanced")


def num_minor_classes(num_classes: int, minor_fraction: float) -> int:
    """How many classes (the last ranks) a step profile makes minor."""
    return int(round(num_classes * minor_fraction))


def class_counts(
    num_classes: int,
    max_per_class: int,
    profile: str,
    ratio: float,
    minor_fraction: float = 0.5,
    order: Sequence[int] | None = None,
) -> list[int]:
    """Training images kept per class (indexed by label).

    The profile gives counts by rank, largest first: ``exp``: rank i keeps
    ``int(n_max * (1/ratio) ** (i / (C - 1)))``; ``step``: the last ``minor_fraction`` of the
    ranks keep ``int(n_max / ratio)``, the rest n_max; ``balanced``: every class keeps
    ``int(n_max / ratio)``, the step profile's minor count (a control: with the ``seeded``
    selection its classes hold exactly the step split's minor images). Rank i is class
    ``order[i]`` (label order when ``order`` is None).
    """
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not ratio >= 1:
        raise UserError(f"imbalance ratio must be a number >= 1 (n_max / n_min), got {ratio!r}")
    if not 0 < minor_fraction < 1:
        raise UserError(f"minor_fraction must lie in (0, 1), got {minor_fraction!r}")
    if num_classes < 2:
        raise UserError(f"an imbalanced split needs at least 2 classes, got {num_classes}")
    ranked = _ranked_counts(num_classes, max_per_class, profile, ratio, minor_fraction)
    if order is None:
        return ranked
    if sorted(order) != list(range(num_classes)):
        raise UserError(f"class_order {list(order)} is not an order of 0..{num_classes - 1}")
    counts = [0] * num_classes
    for rank, c in enumerate(order):
        counts[c] = ranked[rank]
    return counts


def _ranked_counts(
    num_classes: int, max_per_class: int, profile: str, ratio: float, minor_fraction: float
) -> list[int]:
    if profile == "exp":
        return [
            int(max_per_class * (1 / ratio) ** (i / (num_classes - 1))) for i in range(num_classes)
        ]
    if profile == "step":
        minor = num_minor_classes(num_classes, minor_fraction)
        major = num_classes - minor
        return [max_per_class] * major + [int(max_per_class / ratio)] * minor
    if profile == "balanced":
        return [int(max_per_class / ratio)] * num_classes
    raise UserError(f"unknown imbalance profile '{profile}'; use one of {', '.join(PROFILES)}")


# The field's absolute groups for long-tailed data (Liu et al. 2019; used on CIFAR-100-LT):
MANY_ABOVE, FEW_BELOW = 100, 20


def class_groups(
    counts: list[int],
    profile: str,
    minor_fraction: float = 0.5,
    order: Sequence[int] | None = None,
) -> dict[str, list[int]]:
    """Class groups for reporting, never empty (given at least 3 classes for exp).

    step: ``major`` (the largest classes) and ``minor`` (the rest).
    balanced: ``major`` and ``minor`` by rank (``order``, else label order), the classes the
    step profile with the same ``minor_fraction`` and order makes major and minor (every class
    has the same count here).
    exp: ``many`` (> 100 training images), ``medium`` (20-100) and ``few`` (< 20) when each of
    the three holds a class (the field's rule, e.g. CIFAR-100-LT); otherwise terciles of the
    classes by training count, largest first (few-class data such as CIFAR-10-LT).
    """
    if profile == "step":
        top = max(counts)
        return {
            "major": [c for c, n in enumerate(counts) if n == top],
            "minor": [c for c, n in enumerate(counts) if n < top],
        }
    if profile == "balanced":
        major = len(counts) - num_minor_classes(len(counts), minor_fraction)
        ranked = list(order) if order is not None else list(range(len(counts)))
        return {"major": sorted(ranked[:major]), "minor": sorted(ranked[major:])}
    absolute = _absolute_groups(counts)
    if all(absolute.values()):
        return absolute
    order = sorted(range(len(counts)), key=lambda c: (-counts[c], c))
    k = len(counts)
    cuts = [0, round(k / 3), round(2 * k / 3), k]
    return {
        name: sorted(order[cuts[i] : cuts[i + 1]])
        for i, name in enumerate(("many", "medium", "few"))
    }


def major_classes(
    counts: list[int],
    profile: str,
    minor_fraction: float = 0.5,
    order: Sequence[int] | None = None,
) -> list[int]:
    """The classes that count as "major" where minor images' predictions are tallied: step and
    balanced: the ``major`` group; exp: the larger half by training count (ties by index)."""
    if profile in ("step", "balanced"):
        return class_groups(counts, profile, minor_fraction, order)["major"]
    order = sorted(range(len(counts)), key=lambda c: (-counts[c], c))
    return sorted(order[: len(counts) - len(counts) // 2])


def _absolute_groups(counts: list[int]) -> dict[str, list[int]]:
    return {
        "many": [c for c, n in enumerate(counts) if n > MANY_ABOVE],
        "medium": [c for c, n in enumerate(counts) if FEW_BELOW <= n <= MANY_ABOVE],
        "few": [c for c, n in enumerate(counts) if n < FEW_BELOW],
    }


def group_rule(counts: list[int], profile: str) -> str:
    """Which rule ``class_groups`` used, in words for tables and metrics."""
    if profile == "step":
        return "major = the largest classes, minor = the rest"
    if profile == "balanced":
        return "every class has the step profile's minor count; major/minor = the classes step makes major/minor"
    if all(_absolute_groups(counts).values()):
        return f"many > {MANY_ABOVE}, medium {FEW_BELOW}-{MANY_ABOVE}, few < {FEW_BELOW} training images"
    return "terciles of the classes by training count (an absolute group would be empty)"
