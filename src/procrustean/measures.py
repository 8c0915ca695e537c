"""The measures an analysis may test, and the claim each test of one becomes: its name, what
it measures (in words), the runs-table column it reads and its null.

A measure is read three ways: over one method's runs (``single``), paired against a base
method (same subset and seed), or against the balanced control on the same classes. The texts
name the methods the test compares, so a user's test (``mfw_la`` against ``la``) reads as
plainly as the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """A column and its three readings (None: not measurable that way)."""

    column: str
    single: tuple[str, str] | None = None  # (claim, measure); {method}
    paired: tuple[str, str] | None = None  # {method}, {base}
    balanced: tuple[str, str] | None = None  # against the balanced control; {method}
    null: float = 0.0  # of a single reading (a paired or controlled one is 0)


GROUP = (
    "MFW improves {group} group's accuracy ({method} vs {base})",
    "test {group} group's accuracy (%), {method} - {base} (paired)",
)
CATALOGUE: dict[str, Measure] = {
    "top1": Measure(
        "top1",
        paired=(
            "MFW improves top-1 ({method} vs {base})",
            "test top-1 (%), {method} - {base} (paired)",
        ),
    ),
    "minor_to_major": Measure(
        "minor_to_major",
        single=(
            "minor data are classified into the major classes early",
            "share of minor (exp: smaller half) training images predicted as a major class, "
            "first quarter of training, clean pass, {method}",
        ),
        null=0.5,
    ),
    "to_major": Measure(
        "to_major_vs_balanced",
        balanced=(
            "minor data go to the major classes more than under balance",
            "share of the minor classes' clean images predicted as a major class, first "
            "quarter, imbalanced minus the balanced control (same classes, subset and seed), "
            "{method}",
        ),
    ),
    "progress_gap": Measure(
        "progress_gap",
        single=(
            "under-fitting: major classes are fit first",
            "early progress gap (top - bottom clean train acc, first quarter), {method}",
        ),
        paired=("MFW balances progress", "progress gap, {method} - {base} (paired)"),
    ),
    "gradient_ratio": Measure(
        "gradient_ratio",
        single=(
            "gradient imbalance: minor features get larger gradients",
            "bottom / top per-sample gradient norm, unweighted loss, training step, before "
            "re-weighting, {method}",
        ),
        paired=(
            "MFW balances gradients",
            "gradient ratio at the training step (mixed features), {method} - {base} (paired)",
        ),
        null=1.0,
    ),
    "gradient_ratio_clean": Measure(
        "gradient_ratio_clean",
        single=(
            "gradient imbalance (clean pass)",
            "bottom / top per-sample gradient norm, unweighted loss, clean pass (no mixing, no "
            "augmentation), before re-weighting, {method}",
        ),
        paired=(
            "MFW balances gradients (clean pass)",
            "gradient ratio on the clean pass, {method} - {base} (paired)",
        ),
        null=1.0,
    ),
    "overfit_excess": Measure(
        "overfit_excess",
        single=(
            "over-fitting: minor classes generalise worse than they fit",
            "final (train - held-out) of bottom minus that of top group, {method}",
        ),
    ),
    "overfit_gap": Measure(
        "overfit_gap",
        paired=(
            "MFW reduces minor over-fitting",
            "bottom group's final train - held-out, {method} - {base} (paired)",
        ),
        balanced=(
            "over-fitting is induced by imbalance, not by few images alone",
            "bottom group's final (train - held-out), imbalanced minus balanced control (same "
            "classes, same subset and seed), {method}",
        ),
    ),
}
for _group in ("major", "minor", "many", "medium", "few"):
    CATALOGUE[f"group_{_group}"] = Measure(
        f"group_{_group}",
        paired=(GROUP[0].replace("{group}", _group), GROUP[1].replace("{group}", _group)),
    )


def reading(test) -> str:
    """How a test (an analyses.Test, or its mapping) reads its measure: single, paired or
    balanced."""
    get = test.get if isinstance(test, dict) else lambda k: getattr(test, k)
    if get("against") == "balanced":
        return "balanced"
    return "paired" if get("base") is not None else "single"


def texts(test) -> tuple[str, str] | None:
    """(claim, measure) of a test, or None where its measure cannot be read that way."""
    measure = test["measure"] if isinstance(test, dict) else test.measure
    return getattr(CATALOGUE[measure], reading(test))


def claim_name(test) -> str:
    """The name a test's rows carry: its ``claim:``, else the catalogue's for its reading."""
    named = test.get("claim") if isinstance(test, dict) else test.claim
    if named:
        return named
    method = test["method"] if isinstance(test, dict) else test.method
    base = test.get("base") if isinstance(test, dict) else test.base
    return texts(test)[0].format(method=method, base=base)  # type: ignore[index]
