"""What one run's history says about the paper's claims: early progress gap, gradient ratio
before re-weighting (at the training step's mixed features and on the clean pass), the share of
minor training images predicted as a major class early on, the epoch each class group is fit,
the minor classes' over-fitting gap, their held-out trajectory and held-out accuracy. Each function reads the history's epoch entries and returns None where the
quantity is not defined (a missing group, no held-out images)."""

from __future__ import annotations

FIT_THRESHOLD = 0.95  # a group is "fit" when its mean clean training accuracy reaches this


def top_bottom(groups: dict[str, list[int]]) -> tuple[list[int], list[int]]:
    """The largest-class group (major or many) and the smallest (minor, else few, else medium)."""
    top = groups.get("major") or groups.get("many") or []
    bottom = groups.get("minor") or groups.get("few") or groups.get("medium") or []
    return top, bottom


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def progress_gap(epochs: list[dict], groups: dict[str, list[int]]) -> float | None:
    """Mean top minus mean bottom group's clean training accuracy over the first quarter."""
    top, bottom = top_bottom(groups)
    if not top or not bottom or not epochs:
        return None
    gaps = [
        _mean([e["class_acc"][c] for c in top]) - _mean([e["class_acc"][c] for c in bottom])
        for e in early(epochs)
    ]
    return sum(gaps) / len(gaps)


def gradient_ratio(
    epochs: list[dict],
    groups: dict[str, list[int]],
    before: int | None = None,
    key: str = "class_grad_norm",
) -> float | None:
    """Bottom over top group's mean per-sample gradient norm of the unweighted loss at the
    classifier's input, over the epochs before ``before`` (0-based; all epochs when None or 0).
    ``key``: ``class_grad_norm`` (the training step's, mixed features) or
    ``class_grad_norm_clean`` (the clean pass); None where the history lacks it."""
    top, bottom = top_bottom(groups)
    window = epochs[:before] if before else epochs
    if not top or not bottom or not window or key not in window[0]:
        return None
    major = _mean([e[key][c] for e in window for c in top])
    minor = _mean([e[key][c] for e in window for c in bottom])
    return minor / major if major else None


def early(epochs: list[dict]) -> list[dict]:
    """The first quarter of training (at least one epoch)."""
    return epochs[: max(1, len(epochs) // 4)]


def minor_to_major(epochs: list[dict]) -> float | None:
    """Mean share of the non-major classes' clean training images predicted as a major class,
    over the first quarter of training (the paper's first claim, as stated)."""
    window = early(epochs)
    if not window or "minor_to_major" not in window[0]:
        return None
    return _mean([v for e in window for v in e["minor_to_major"]])


def heldout_trajectory(epochs: list[dict], classes: list[int]) -> tuple[int | None, float | None]:
    """(epoch of the classes' highest mean held-out accuracy, final minus that peak)."""
    curve = [
        (int(e["epoch"]), _mean([e["heldout_acc"][c] for c in classes]))
        for e in epochs
        if e.get("heldout_acc") is not None
    ]
    curve = [(k, v) for k, v in curve if v is not None]
    if not curve or not classes:
        return None, None
    peak_epoch, peak = max(curve, key=lambda kv: (kv[1], -kv[0]))
    return peak_epoch, curve[-1][1] - peak


def fit_epoch(epochs: list[dict], classes: list[int]) -> int | None:
    """First epoch (1-based) at which the classes' mean clean training accuracy reaches
    ``FIT_THRESHOLD``; None if it never does."""
    for e in epochs:
        if classes and _mean([e["class_acc"][c] for c in classes]) >= FIT_THRESHOLD:
            return int(e["epoch"])
    return None


PLATEAU_WINDOW = 5  # epochs: the last window's mean clean training accuracy against the one before


def plateau_change(epochs: list[dict], classes: list[int]) -> float | None:
    """The classes' mean clean training accuracy over the last ``PLATEAU_WINDOW`` epochs minus
    over the ``PLATEAU_WINDOW`` before: near 0 when training has plateaued (None if too short)."""
    if not classes or len(epochs) < 2 * PLATEAU_WINDOW:
        return None
    acc = [_mean([e["class_acc"][c] for c in classes]) for e in epochs[-2 * PLATEAU_WINDOW :]]
    last, before = acc[PLATEAU_WINDOW:], acc[:PLATEAU_WINDOW]
    return sum(last) / PLATEAU_WINDOW - sum(before) / PLATEAU_WINDOW


def overfit_gap(epochs: list[dict], classes: list[int]) -> float | None:
    """Final epoch: the classes' mean clean training accuracy minus their mean held-out
    accuracy (classes with held-out images only)."""
    if not epochs or "heldout_acc" not in epochs[-1]:
        return None
    last = epochs[-1]
    pairs = [(last["class_acc"][c], last["heldout_acc"][c]) for c in classes]
    pairs = [(t, h) for t, h in pairs if h is not None]
    if not pairs:
        return None
    return sum(t - h for t, h in pairs) / len(pairs)


def heldout_accuracy(epochs: list[dict], classes: list[int] | None = None) -> float | None:
    """Final epoch's held-out accuracy averaged over classes (balanced), all classes by default."""
    if not epochs or "heldout_acc" not in epochs[-1]:
        return None
    acc = epochs[-1]["heldout_acc"]
    return _mean([acc[c] for c in (range(len(acc)) if classes is None else classes)])


def run_evidence(history: dict, before: int | None) -> dict[str, float | int | None]:
    """Every per-run summary above, keyed by its column name in the report's frames."""
    epochs, groups = history["epochs"], history["groups"]
    top, bottom = top_bottom(groups)
    row: dict[str, float | int | None] = {
        "progress_gap": progress_gap(epochs, groups),
        "gradient_ratio": gradient_ratio(epochs, groups, before),
        "gradient_ratio_clean": gradient_ratio(epochs, groups, before, "class_grad_norm_clean"),
        "minor_to_major": minor_to_major(epochs),
        "overfit_gap": overfit_gap(epochs, bottom),
        "overfit_gap_top": overfit_gap(epochs, top),
        "heldout_acc": heldout_accuracy(epochs),
        "heldout_bottom": heldout_accuracy(epochs, bottom),
        "fit_top": fit_epoch(epochs, top),
        "fit_bottom": fit_epoch(epochs, bottom),
    }
    row["heldout_peak_bottom"], row["heldout_drop_bottom"] = heldout_trajectory(epochs, bottom)
    row["plateau_top"] = plateau_change(epochs, top)
    row["plateau_bottom"] = plateau_change(epochs, bottom)
    for name, classes in groups.items():
        row[f"fit_{name}"] = fit_epoch(epochs, classes)
    row["bottom_classes"] = " ".join(str(c) for c in bottom)
    for c in range(len(epochs[-1]["class_acc"]) if epochs else 0):
        row[f"overfit_class_{c}"] = overfit_gap(epochs, [c])
    return row
