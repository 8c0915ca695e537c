"""The revised rules (docs/evidence.md, "The paper-count studies"), registered before those
studies ran and applied to the committed confirmation studies only as a post-hoc view beside
their pre-registered verdicts, which they never replace:

- per-class sensitivity of a top-1 comparison: the paired mean with each class left out
  (top-1 on a balanced test set is the mean of the per-class accuracies);
- ablations (mfw - mfw_uniform) in a family of their own;
- a plateau test over the epochs after the last decay, with a tolerance above the diagnostic
  set's resolution;
- minor-to-major against the balanced control on the same classes (same subset and seed).
"""

from __future__ import annotations

import math

import pandas as pd

from procrustean.report import stats
from procrustean.report.stats import Interval, t_interval

PLATEAU_TOLERANCE = 0.03  # the floor: the pilot's epoch-to-epoch noise was 0.02
PLATEAU_IMAGES = 2  # and never below two diagnostic images' worth of the group
ABLATIONS = (("mfw", "mfw_uniform"),)  # (method, base): a family apart from "MFW improves top-1"
KEYS = ["family", "subset", "seed"]


def class_columns(runs: pd.DataFrame) -> list[str]:
    """The per-class test accuracy columns of a runs table, in class order."""
    found = [c for c in runs.columns if c.startswith("class_") and c[6:].isdigit()]
    return sorted(found, key=lambda c: int(c[6:]))


def paired_top1(
    runs: pd.DataFrame, method: str, base: str, left_out: int | None = None
) -> pd.Series:
    """``method - base`` top-1 per pair (family, subset, seed), with one class left out."""
    cols = [c for c in class_columns(runs) if left_out is None or c != f"class_{left_out}"]
    score = runs.assign(score=runs[cols].mean(axis=1))
    a = score[score.method == method].set_index(KEYS)["score"]
    b = score[score.method == base].set_index(KEYS)["score"]
    return (a - b).dropna()


def side(interval: Interval) -> int:
    """+1 when the interval lies above 0, -1 below, 0 when it includes 0 (or is undefined)."""
    if math.isnan(interval.low) or math.isnan(interval.high):
        return 0
    return 1 if interval.low > 0 else -1 if interval.high < 0 else 0


def class_sensitivity(runs: pd.DataFrame, method: str, base: str) -> pd.DataFrame:
    """One row per left-out class: the paired interval without it, and whether leaving it out
    moves the interval to another side of 0 than all classes give ("decides")."""
    full = t_interval(paired_top1(runs, method, base))
    rows = []
    for col in class_columns(runs):
        c = int(col[6:])
        without = t_interval(paired_top1(runs, method, base, left_out=c))
        rows.append(
            {
                "left_out": c,
                "mean": without.mean,
                "low": without.low,
                "high": without.high,
                "n": without.n,
                "decides": side(without) != side(full),
            }
        )
    return pd.DataFrame(rows, columns=["left_out", "mean", "low", "high", "n", "decides"])


def sensitivity_summary(runs: pd.DataFrame, method: str, base: str) -> dict:
    """All classes, the range of the leave-one-out means, and the classes that decide."""
    full = t_interval(paired_top1(runs, method, base))
    table = class_sensitivity(runs, method, base)
    deciding = [int(c) for c in table[table.decides].left_out]
    return {
        "all_classes": full.text(signed=True),
        "n": full.n,
        "leave_one_out_min": float(table["mean"].min()),
        "leave_one_out_max": float(table["mean"].max()),
        "decided_by": " ".join(str(c) for c in deciding) or "none",
    }


def plateau_changes(
    curves: pd.DataFrame, last_decay: int, diagnostic_per_class: int
) -> pd.DataFrame:
    """Per run and group: the mean clean training accuracy's change from the first epoch after
    the last decay to the last epoch, the group's diagnostic images, its tolerance
    (``group_tolerance``) and whether it moved by less (``flat``)."""
    after = curves[curves.epoch > last_decay]
    by = ["setting", "method", "seed", "group"]
    per_epoch = after.groupby([*by, "epoch"]).train_acc.mean().reset_index()
    ends = per_epoch.groupby(by).agg(first=("epoch", "min"), last=("epoch", "max"))
    merged = per_epoch.merge(ends.reset_index(), on=by)
    first = merged[merged.epoch == merged["first"]].set_index(by).train_acc
    last = merged[merged.epoch == merged["last"]].set_index(by).train_acc
    change = (last - first).rename("change").reset_index()
    sizes = curves[curves.epoch == curves.epoch.min()].groupby(by)["count"]
    images = sizes.apply(lambda n: int(n.clip(upper=diagnostic_per_class).sum()))
    change = change.merge(images.rename("images").reset_index(), on=by)
    change["tolerance"] = change.images.map(group_tolerance)
    change["flat"] = change.change.abs() < change.tolerance
    return change


def plateau_after_decay(
    curves: pd.DataFrame, last_decay: int, diagnostic_per_class: int
) -> pd.DataFrame:
    """Per run: whether every group's mean clean training accuracy moved by less than its
    tolerance from the first epoch after the last decay to the last (``plateau_changes``)."""
    change = plateau_changes(curves, last_decay, diagnostic_per_class)
    flat = change.groupby(["setting", "method", "seed"]).flat.all()
    return flat.rename("plateaued").reset_index()


def group_tolerance(images: int) -> float:
    """A group's plateau tolerance: ``PLATEAU_TOLERANCE``, or two of its diagnostic images'
    worth where that is more (one image of 25 moves a group by 0.04)."""
    return max(PLATEAU_TOLERANCE, PLATEAU_IMAGES / images)


def _balanced_setting(setting: str) -> str:
    stem, _, ratio = setting.rsplit("-", 2)
    return f"{stem}-balanced-{ratio}"


def minor_to_major_vs_balanced(curves: pd.DataFrame, method: str = "ce") -> pd.DataFrame:
    """Per imbalanced run with a balanced control (same subset, ratio and seed): over the first
    quarter of training, the share of its non-major classes' clean images predicted as a major
    class, minus the balanced run's share on the same classes (its major classes are the step
    profile's, by position, as the committed studies' are)."""
    runs = curves[(curves.method == method) & ~curves.setting.str.contains("-balanced-")]
    rows = []
    for (setting, seed), run in runs.groupby(["setting", "seed"]):
        control = curves[
            (curves.setting == _balanced_setting(setting))
            & (curves.method == method)
            & (curves.seed == seed)
        ]
        if control.empty:
            continue
        quarter = max(1, int(run.epoch.max()) // 4)
        classes = sorted(set(run[run.to_major.notna()]["class"]))
        mine = run[(run.epoch <= quarter) & run["class"].isin(classes)].to_major.mean()
        theirs = control[
            (control.epoch <= quarter) & control["class"].isin(classes)
        ].to_major.mean()
        rows.append(
            {
                "family": run.family.iloc[0],
                "setting": setting,
                "seed": seed,
                "imbalanced": float(mine),
                "balanced": float(theirs),
                "diff": float(mine - theirs),
            }
        )
    return pd.DataFrame(rows)


def ablation_rows(runs: pd.DataFrame) -> list[dict]:
    """The ablation family: each ablation's top-1 paired interval, t-test p, Holm's p within
    this family only, Wilcoxon p and wins."""
    found = []
    for method, base in ABLATIONS:
        for family in sorted(set(runs.family)):
            sub = runs[runs.family == family]
            if not {method, base} <= set(sub.method):
                continue
            diff = paired_top1(sub, method, base)
            found.append(
                {
                    "setting": family,
                    "comparison": f"{method} - {base}",
                    "interval": t_interval(diff).text(signed=True),
                    "p": stats.t_test_p(diff),
                    "wilcoxon_p": stats.wilcoxon_p(diff),
                    "wins": f"{stats.wins(diff)}/{len(diff)}",
                }
            )
    for row, adjusted in zip(found, stats.holm([r["p"] for r in found]), strict=True):
        row["holm_p"] = adjusted
    return found


TOP1_COMPARISONS = (("mfw", "ce"), ("mfw_ldam_drw", "ldam_drw"), ("mfw_drw", "drw"))
POST_HOC_TITLE = (
    "Post hoc, beside the pre-registered verdicts (never replacing them): the revised rules "
    "registered for the paper-count studies (docs/evidence.md), applied to the committed "
    "confirmation studies"
)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, floatfmt=".3g") if not frame.empty else "(none)"


def post_hoc_markdown(
    runs: pd.DataFrame,
    curves: dict[str, pd.DataFrame],
    last_decay: dict[str, int],
    diagnostic_per_class: dict[str, int],
) -> str:
    """The post-hoc view: per-class sensitivity of each top-1 comparison, the ablation family,
    the plateau test after the last decay and minor-to-major against the balanced control.
    ``curves``, ``last_decay`` and ``diagnostic_per_class`` are per study."""
    sens = []
    for method, base in TOP1_COMPARISONS:
        for family in sorted(set(runs.family)):
            sub = runs[runs.family == family]
            if {method, base} <= set(sub.method) and class_columns(sub):
                sens.append(
                    {"setting": family, "comparison": f"{method} - {base}"}
                    | sensitivity_summary(sub, method, base)
                )
    plateau = []
    for study, frame in curves.items():
        flat = plateau_after_decay(frame, last_decay[study], diagnostic_per_class[study])
        flat["family"] = flat.setting.map(dict(zip(frame.setting, frame.family, strict=False)))
        for (family, method), group in flat.groupby(["family", "method"]):
            plateau.append(
                {
                    "study": study,
                    "setting": family,
                    "method": method,
                    "epochs after the last decay": f"{last_decay[study] + 1}-"
                    f"{int(frame.epoch.max())}",
                    "plateaued": f"{int(group.plateaued.sum())}/{len(group)}",
                }
            )
    to_major = minor_to_major_vs_balanced(pd.concat(curves.values(), ignore_index=True))
    m2m = [
        {
            "setting": family,
            "imbalanced": group.imbalanced.mean(),
            "balanced": group.balanced.mean(),
            "imbalanced - balanced": t_interval(group["diff"]).text(digits=3, signed=True),
            "wins": f"{stats.wins(group['diff'])}/{len(group)}",
        }
        for family, group in (to_major.groupby("family") if not to_major.empty else [])
    ]
    parts = [
        f"# {POST_HOC_TITLE}",
        "## Per-class sensitivity of each top-1 comparison",
        "Paired top-1 difference (mean [95% t-interval]) with all classes, the range of the "
        "means with one class left out, and the classes whose leaving out moves the interval "
        "to another side of 0.",
        _table(pd.DataFrame(sens)),
        '## The ablation family (apart from "MFW improves top-1")',
        _table(pd.DataFrame(ablation_rows(runs))),
        f"## Plateau after the last decay (every group within {PLATEAU_TOLERANCE}, or two "
        "diagnostic images' worth of the group where that is more)",
        _table(pd.DataFrame(plateau)),
        "## Minor-to-major against the balanced control on the same classes (ce, first quarter)",
        _table(pd.DataFrame(m2m)),
    ]
    return "\n\n".join(parts) + "\n"
