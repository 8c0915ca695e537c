"""The plateau check run by run: what lies behind a verdict's "plateaued k/n". Each group's mean
clean training accuracy on the diagnostic images, its change from the first epoch after the
last decay to the last epoch, against the group's tolerance (``post_hoc.group_tolerance``); a
run has plateaued when every group moved by less."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from procrustean.report import post_hoc
from procrustean.report.tables import GROUP_ORDER

TITLE = (
    "# Plateau after the last decay, run by run: each group's mean clean training accuracy on "
    "the diagnostic images, its change from the first epoch after the last decay to the last; "
    "a group is flat when it moved by less than its tolerance ({floor}, or "
    "{images} diagnostic images' worth where that is more), a run has plateaued when every "
    "group is flat"
)


@dataclass(frozen=True)
class Window:
    """Where a study's plateau is read: after ``last_decay``; ``drw_epoch``, where the recipe's
    deferred re-weighting starts (None without one); ``per_class`` diagnostic images a class."""

    last_decay: int
    per_class: int
    drw_epoch: int | None = None


def title() -> str:
    """The file's first line, with the tolerance rule's constants."""
    return TITLE.format(floor=post_hoc.PLATEAU_TOLERANCE, images=post_hoc.PLATEAU_IMAGES)


def window_text(changes: pd.DataFrame, curves: pd.DataFrame, window: Window) -> str:
    """The epochs read, the decay and DRW start before them, and the runs that plateaued."""
    epochs = curves.epoch[curves.epoch > window.last_decay]
    text = f"Epochs {epochs.min()}-{epochs.max()}, after the last decay at {window.last_decay}"
    if window.drw_epoch is not None:
        where = (
            "before"
            if window.drw_epoch <= window.last_decay
            else "inside"
            if window.drw_epoch <= epochs.max()
            else "after"
        )
        text += (
            f" (deferred re-weighting, for the methods that use it, starts at epoch "
            f"{window.drw_epoch}, {where} the window)"
        )
    runs = changes.groupby(["method", "setting", "seed"], sort=False).flat.all()
    per_method = runs.groupby(level="method", sort=False)
    shares = ", ".join(f"{m} {int(f.sum())}/{len(f)}" for m, f in per_method)
    return f"{text}. {int(runs.sum())} of {len(runs)} runs plateaued: {shares}."


def group_table(changes: pd.DataFrame) -> pd.DataFrame:
    """Per group: its diagnostic images (range over runs), tolerance, the runs where it was
    flat, the median absolute change and the largest change (signed)."""
    rows = []
    for group in [g for g in GROUP_ORDER if g in set(changes.group)]:
        mine = changes[changes.group == group]
        largest = mine.change.loc[mine.change.abs().idxmax()]
        images = sorted({int(n) for n in mine.images})
        rows.append(
            {
                "group": group,
                "images": f"{images[0]}" if len(images) == 1 else f"{images[0]}-{images[-1]}",
                "tolerance": f"{mine.tolerance.max():.3f}",
                "flat": f"{int(mine.flat.sum())}/{len(mine)}",
                "median abs. change": f"{mine.change.abs().median():.3f}",
                "largest change": f"{largest:+.3f}",
            }
        )
    return pd.DataFrame(rows)


def moved_table(changes: pd.DataFrame) -> pd.DataFrame:
    """Every group that was not flat, run by run."""
    moved = changes[~changes.flat].sort_values(["setting", "method", "seed", "group"])
    return pd.DataFrame(
        {
            "setting": moved.setting,
            "method": moved.method,
            "seed": moved.seed,
            "group": moved.group,
            "change": [f"{c:+.3f}" for c in moved.change],
            "images": moved.images,
            "tolerance": [f"{t:.3f}" for t in moved.tolerance],
        }
    )


def heldout_text(curves: pd.DataFrame, base: str, method: str, last_decay: int) -> str:
    """``method - base`` held-out accuracy (points, classes weighted equally, mean over the
    pairs of the same setting and seed that have every epoch of the window) at each epoch of
    the window: whether the comparison still moved where the groups did."""
    after = curves[curves.epoch > last_decay]
    per_run = after.groupby(["setting", "seed", "epoch", "method"]).heldout_acc.mean()
    wide = per_run.unstack("method").reindex(columns=[base, method])
    diff = 100 * (wide[method] - wide[base])
    epochs = sorted(after.epoch.unique())
    by_pair = diff.unstack("epoch").reindex(columns=epochs).dropna()
    label = f"Held-out accuracy, {method} - {base}, by epoch of the window"
    if by_pair.empty:
        return f"{label}: no pair has every epoch of the window."
    shown = ", ".join(f"{int(e)} {v:+.2f}" for e, v in by_pair.mean().items())
    return (
        f"{label} (points, classes weighted equally, mean over the {len(by_pair)} pairs with "
        f"every epoch; the training partition's held-out images, not the test set; not a "
        f"registered test): {shown}."
    )


def section(head: str, curves: pd.DataFrame, methods: list[str], window: Window) -> list[str]:
    """One test's runs (``methods``: base, then method, in ``curves``): the window, the share
    that plateaued, the per-group summary, every group that moved, and the held-out comparison
    by epoch of the window."""
    mine = curves[curves.method.isin(methods)]
    changes = post_hoc.plateau_changes(mine, window.last_decay, window.per_class)
    order = {m: k for k, m in enumerate(methods)}
    changes = changes.sort_values("method", key=lambda m: m.map(order), kind="stable")
    moved = moved_table(changes)
    return [
        head,
        window_text(changes, mine, window),
        group_table(changes).to_markdown(index=False, disable_numparse=True),
        "Not flat:" if len(moved) else "Every group of every run was flat.",
        *([moved.to_markdown(index=False, disable_numparse=True)] if len(moved) else []),
        heldout_text(mine, methods[0], methods[1], window.last_decay),
    ]
