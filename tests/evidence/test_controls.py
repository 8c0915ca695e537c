"""The evidence a reviewer asks for beyond the intervals: Holm's correction, Wilcoxon, the
smallest detectable effect, the clean-pass gradient, where minor images are predicted, the
held-out trajectory, the plateau check, the balanced control and per-group effects."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from scipy import stats as sp

from procrustean.config import resolve_entry
from procrustean.data.augment import BatchAugment
from procrustean.data.imbalance import select_indices
from procrustean.data.profiles import class_counts, class_groups, major_classes
from procrustean.diagnostics import clean_pass
from procrustean.methods.losses import Loss
from procrustean.models.resnet import build_model
from procrustean.report import evidence, stats
from procrustean.report.claims import claims_table, control_family
from procrustean.report.tables import group_effects_table, summary_metrics

# ------------------------------------------------------------------------------- statistics


def test_holm_adjusts_step_down_and_keeps_order():
    adj = stats.holm([0.01, 0.04, 0.03, math.nan, 0.5])
    assert adj[0] == pytest.approx(0.04)  # 4 tests: 4 x 0.01
    assert adj[2] == pytest.approx(0.09) and adj[1] == pytest.approx(0.09)  # 3 x 0.03; monotone
    assert math.isnan(adj[3]) and adj[4] == pytest.approx(0.5)
    assert stats.holm([0.9, 0.8]) == [1.0, 1.0]  # 2 x 0.8 capped at 1; the running maximum


def test_p_values_match_scipy():
    v = [1.0, 2.0, 0.5, 1.5, -0.2, 0.8, 1.1, 0.3]
    assert stats.t_test_p(v) == pytest.approx(sp.ttest_1samp(v, 0).pvalue)
    assert stats.t_test_p(v, 1.0) == pytest.approx(sp.ttest_1samp(v, 1.0).pvalue)
    assert stats.wilcoxon_p(v) == pytest.approx(sp.wilcoxon(v).pvalue)
    assert math.isnan(stats.wilcoxon_p([0.0, 0.0])) and math.isnan(stats.t_test_p([1.0]))
    # no spread: every minor image predicted major in both runs is as clear as a claim gets
    assert stats.t_test_p([1.0, 1.0], 0.5) == 0.0 and stats.t_test_p([0.5, 0.5], 0.5) == 1.0


def test_detectable_effect_has_the_stated_power():
    v = [1.0, 2.0, 0.5, 1.5, -0.2, 0.8, 1.1, 0.3]
    d = stats.detectable_effect(v)
    n, sd = len(v), pd.Series(v).std(ddof=1)
    crit = sp.t.ppf(0.975, n - 1)
    nc = d * math.sqrt(n) / sd
    power = sp.nct.sf(crit, n - 1, nc) + sp.nct.cdf(-crit, n - 1, nc)
    assert power == pytest.approx(0.80, abs=1e-6)
    # more pairs, same spread: a smaller effect is detectable
    assert stats.detectable_effect(v * 3) < d
    # two pairs (1 degree of freedom, where scipy's noncentral t can fail): a finite estimate
    two = stats.detectable_effect([0.4, 3.1])
    assert math.isfinite(two) and two > 0


# ------------------------------------------------------------------------------- the split


def test_balanced_profile_holds_the_step_splits_minor_images():
    counts = class_counts(10, 150, "balanced", 10)
    assert counts == [15] * 10
    assert class_groups(counts, "balanced") == {"major": [0, 1, 2, 3, 4], "minor": [5, 6, 7, 8, 9]}
    labels = torch.arange(10).repeat_interleave(200)
    step = select_indices(labels, class_counts(10, 150, "step", 10), seed=3)
    bal = select_indices(labels, counts, seed=3)
    minor = lambda idx: sorted(i for i in idx.tolist() if labels[i] >= 5)  # noqa: E731
    assert minor(bal) == minor(step)  # the same images: only the majors' count differs


def test_major_classes_per_profile():
    assert major_classes([500] * 5 + [5] * 5, "step") == [0, 1, 2, 3, 4]
    exp = class_counts(10, 500, "exp", 100)
    assert major_classes(exp, "exp") == [0, 1, 2, 3, 4]
    assert major_classes([7, 9, 8], "exp") == [1, 2]  # the larger half, by count


# ------------------------------------------------------------------------------- clean pass


def test_clean_pass_gradient_and_minor_to_major():
    torch.manual_seed(0)
    model = build_model("resnet8", num_classes=4, in_channels=1)
    images = torch.randint(0, 256, (12, 1, 8, 8), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 3] * 3)
    aug = BatchAugment([0.5], [0.25], 0, False, torch.device("cpu"), False)
    loss = Loss(resolve_entry("loss", {"name": "ce"}), [30, 30, 3, 3], torch.device("cpu"))
    with torch.no_grad():  # push every prediction to class 1, a major class
        model.linear.bias.copy_(torch.tensor([0.0, 100.0, 0.0, 0.0]))
    out = clean_pass(model, images, labels, aug, loss.per_sample, major=[0, 1])
    assert out.to_major == [None, None, 1.0, 1.0]
    assert out.acc == [0.0, 1.0, 0.0, 0.0]
    # the gradient of cross-entropy at the features is W^T (softmax - onehot), per sample
    model.eval()
    with torch.no_grad():
        logits, feats = model(aug.normalize(images))
        onehot = torch.nn.functional.one_hot(labels, 4).float()
        g = (logits.softmax(1) - onehot) @ model.linear.weight
    want = [g[labels == c].norm(dim=1).mean().item() for c in range(4)]
    assert out.grad_norm == pytest.approx(want, rel=1e-5)


# ------------------------------------------------------------------------------- per-run evidence


def _epoch(k, acc, held, to_major=None):
    return {"epoch": k, "class_acc": acc, "heldout_acc": held, "minor_to_major": to_major}


def test_minor_to_major_trajectory_and_plateau():
    epochs = [
        _epoch(k, [1.0, 1.0, a, a], [0.9, 0.9, h, h], [None, None, m, m])
        for k, (a, h, m) in enumerate(
            [(0.0, 0.1, 0.9), (0.2, 0.3, 0.7), (0.6, 0.5, 0.3), (0.8, 0.45, 0.1)]
            + [(1.0, 0.4, 0.0)] * 8,
            start=1,
        )
    ]
    assert evidence.minor_to_major(epochs) == pytest.approx((0.9 + 0.7 + 0.3) / 3)  # epochs 1-3
    peak, drop = evidence.heldout_trajectory(epochs, [2, 3])
    assert peak == 3 and drop == pytest.approx(0.4 - 0.5)
    assert evidence.plateau_change(epochs, [2, 3]) == pytest.approx(1.0 - (0.6 + 0.8 + 3.0) / 5)
    assert evidence.plateau_change(epochs, [0, 1]) == 0.0
    assert evidence.plateau_change(epochs[:9], [2, 3]) is None
    clean = [
        {**e, "class_grad_norm_clean": [1, 1, 3, 3], "class_grad_norm": [1, 1, 1, 1]}
        for e in epochs
    ]
    groups = {"major": [0, 1], "minor": [2, 3]}
    assert evidence.gradient_ratio(clean, groups, None, "class_grad_norm_clean") == 3.0
    assert evidence.gradient_ratio(epochs, groups, None, "class_grad_norm_clean") is None


# ------------------------------------------------------------------------------- claims


def _runs(control_gap: float) -> pd.DataFrame:
    """ce and mfw on a step family and its balanced control: 2 subsets x 4 seeds."""
    rows = []
    for subset in (0, 1):
        for seed in range(4):
            noise = (seed - 1.5) / 10
            for profile in ("step", "balanced"):
                for method in ("ce", "mfw"):
                    gap = 0.5 + noise if profile == "step" else control_gap + noise
                    rows.append(
                        {
                            "family": f"fm-{profile}-r10",
                            "subset": subset,
                            "seed": seed,
                            "method": method,
                            "top1": 60 + seed + (2 if method == "mfw" else 0) + noise * subset,
                            "overfit_gap": gap,
                            "group_major": 80.0 + seed,
                            "group_minor": 40.0 + seed + (5 if method == "mfw" else 0),
                        }
                    )
    return pd.DataFrame(rows)


def test_balanced_control_claim_pairs_the_same_subset_and_seed():
    assert control_family("fm-step-r10") == "fm-balanced-r10"
    assert control_family("fm-balanced-r10") is None
    long = claims_table(_runs(0.2), ["ce", "mfw"], [])[1]
    assert set(long.setting) == {"fm-step-r10"}  # the control is judged through its family
    row = long.set_index("claim").loc[
        "over-fitting is induced by imbalance, not by few images alone"
    ]
    assert row.n == 8 and row["mean"] == pytest.approx(0.3) and row.verdict == "reproduced"
    row = (
        claims_table(_runs(0.5), ["ce", "mfw"], [])[1]
        .set_index("claim")
        .loc["over-fitting is induced by imbalance, not by few images alone"]
    )
    assert row["mean"] == pytest.approx(0.0) and row.verdict.startswith("not reproduced")


def test_holm_corrects_within_the_accuracy_family():
    runs = _runs(0.2)
    runs = pd.concat([runs, runs.assign(family="fm-exp-r10")])
    long = claims_table(runs, ["ce", "mfw"], [])[1]
    top = long[long.holm_family == "accuracy"]
    assert len(top) == 2  # one top-1 comparison per imbalanced family
    assert list(top.holm_p) == pytest.approx(stats.holm(list(top.p)))
    mech = long[long.holm_family == "mechanism"].dropna(subset=["p"])
    assert list(mech.holm_p) == pytest.approx(stats.holm(list(mech.p)))


def test_group_effects_table_pairs_each_group():
    wide, long = group_effects_table(_runs(0.2), ["ce", "mfw"], [])
    effect = long.set_index(["setting", "group"])
    assert effect.loc[("fm-step-r10", "minor"), "mean_diff"] == pytest.approx(5.0)
    assert effect.loc[("fm-step-r10", "major"), "mean_diff"] == pytest.approx(0.0)
    assert effect.loc[("fm-step-r10", "minor"), "wins"] == 8
    assert wide.loc["mfw - ce, fm-step-r10", "minor"].startswith("+5.00")


def test_the_controls_are_paired_with_mfw_in_one_study():
    """A study of mfw beside its controls judges mfw against each of them (top-1, paired), and
    nothing against a base method it does not run."""
    from procrustean.report.claims import claims

    top1 = [
        c for c in claims(["mfw", "mfw_uniform", "manifold_mixup", "remix"]) if c.column == "top1"
    ]
    assert [(c.method, c.base) for c in top1] == [
        ("mfw", "mfw_uniform"),
        ("mfw", "manifold_mixup"),
        ("mfw", "remix"),
    ]
    assert all(c.family == "accuracy" and c.greater for c in top1)


def test_summary_metrics_average_the_subsets_of_each_setting():
    """summary.json, the DVC metric: one column per profile-ratio and method, whatever the
    number of subsets, so `dvc metrics show` stays narrow."""
    runs = pd.DataFrame(
        {
            "setting": ["fm_s0-step-r100", "fm_s1-step-r100", "fm_s0-exp-r100", "fm_s1-exp-r100"]
            * 2,
            "subset": [0, 1, 0, 1] * 2,
            "seed": [0] * 8,
            "method": ["ce"] * 4 + ["mfw"] * 4,
            "top1": [60.0, 62.0, 70.0, 71.0, 63.0, 65.0, 70.5, 71.5],
        }
    )
    settings = ["fm_s0-step-r100", "fm_s1-step-r100", "fm_s0-exp-r100", "fm_s1-exp-r100"]
    assert summary_metrics(runs, ["ce", "mfw"], settings) == {
        "top1": {"step-r100": {"ce": 61.0, "mfw": 64.0}, "exp-r100": {"ce": 70.5, "mfw": 71.0}}
    }


def test_the_balanced_control_is_measured_on_the_imbalanced_runs_bottom_classes():
    """Under exp the bottom group (few: classes 8, 9) is not the control's (the step minors
    5-9): the control's gap is read on classes 8 and 9, not on its own bottom group."""
    rows = []
    for subset, seed in ((0, 0), (0, 1), (1, 0), (1, 1)):
        per_class = {f"overfit_class_{c}": (0.4 if c == 6 else 0.1) for c in range(10)}
        key = {"subset": subset, "seed": seed, "method": "ce", "top1": 60.0}
        rows.append(
            {
                **key,
                "family": "fm-exp-r10",
                "overfit_gap": 0.3 + seed / 100,
                "bottom_classes": "8 9",
                **per_class,
            }
        )
        rows.append(
            {
                **key,
                "family": "fm-balanced-r10",
                "overfit_gap": 0.16,  # classes 5-9
                "bottom_classes": "5 6 7 8 9",
                **per_class,
            }
        )
    long = claims_table(pd.DataFrame(rows), ["ce"], [])[1].set_index("claim")
    row = long.loc["over-fitting is induced by imbalance, not by few images alone"]
    assert row.n == 4 and row["mean"] == pytest.approx(0.3 + 0.005 - 0.1)  # not - 0.16
    # a runs table from before the per-class columns: the control's own bottom group
    old = pd.DataFrame(rows).drop(columns=["bottom_classes"])
    row = claims_table(old, ["ce"], [])[1].set_index("claim").loc[row.name]
    assert row["mean"] == pytest.approx(0.3 + 0.005 - 0.16)
