"""Evidence for the paper's claims: held-out set, unweighted per-sample gradients, per-run
summaries, intervals, paired differences, spreads and verdicts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from procrustean.config import resolve_entry
from procrustean.diagnostics import heldout_subset, per_class_accuracy
from procrustean.errors import UserError
from procrustean.methods.losses import LDAMLoss, Loss, mixed_unweighted_sum
from procrustean.report import evidence, stats
from procrustean.report.claims import Claim, claims_table, subsets_agree, verdict
from procrustean.report.collect import dataset_family
from procrustean.report.tables import heldout_table, paired_long, spread_table
from procrustean.train import train
from procrustean.training.step import LossLog
from tests.helpers import job


def test_heldout_subset_is_balanced_disjoint_and_fixed():
    labels = torch.arange(10).repeat_interleave(30)  # 30 images per class
    kept = torch.cat(
        [torch.nonzero(labels == c).flatten()[: 30 if c < 3 else 5] for c in range(10)]
    )
    held = heldout_subset(labels, kept, 20, seed=4)
    assert not set(held.tolist()) & set(kept.tolist())
    counts = torch.bincount(labels[held], minlength=10).tolist()
    assert counts == [0, 0, 0] + [20] * 7  # classes 0-2 kept all 30: nothing left
    assert torch.equal(held, heldout_subset(labels, kept, 20, seed=4))
    assert not torch.equal(held, heldout_subset(labels, kept, 20, seed=5))
    assert len(heldout_subset(labels, kept, 0, seed=4)) == 0


def test_per_class_accuracy_marks_empty_classes():
    logits = torch.tensor([[2.0, 0, 0], [0, 2.0, 0], [2.0, 0, 0]])
    assert per_class_accuracy(logits, torch.tensor([0, 1, 1]), 3) == [1.0, 0.5, None]


@pytest.mark.parametrize("loss_cls", [Loss, LDAMLoss])
def test_unweighted_sum_gives_each_samples_own_gradient(loss_cls):
    torch.manual_seed(0)
    counts = [50, 20, 5]
    cfg = resolve_entry("loss", {"name": "ldam" if loss_cls is LDAMLoss else "ce"})
    loss = loss_cls(cfg, counts, torch.device("cpu"))
    head = torch.nn.Linear(4, 3)
    feats = torch.randn(6, 4, requires_grad=True)
    y, y_b = torch.tensor([0, 1, 2, 2, 1, 0]), torch.tensor([1, 1, 0, 2, 0, 2])
    lam = torch.tensor([1.0, 0.7, 1.0, 0.4, 1.0, 0.9])
    (g,) = torch.autograd.grad(mixed_unweighted_sum(loss, head(feats), y, y_b, lam, True), feats)
    for i in range(6):
        f = feats[i : i + 1].detach().requires_grad_()
        own = lam[i] * loss.per_sample(head(f), y[i : i + 1]) + (1 - lam[i]) * loss.per_sample(
            head(f), y_b[i : i + 1]
        )
        (gi,) = torch.autograd.grad(own.sum(), f)
        torch.testing.assert_close(g[i], gi[0])


def test_history_records_heldout_and_both_gradients(workdir, params):  # noqa: F811
    train(job(params, "drw", "runs/drw"))
    hist = json.loads(Path("runs/drw/history.json").read_text())
    # synthetic: 200 images a class exist; step r10 keeps all of a major class, 20 of a minor
    assert hist["heldout_subset"]["class_counts"] == [0] * 5 + [100] * 5
    last = hist["epochs"][-1]
    assert last["heldout_acc"][:5] == [None] * 5
    assert all(0 <= a <= 1 for a in last["heldout_acc"][5:])
    # epoch 2 re-weights (drw_epoch 1): the weighted gradients carry the 95-fold class weights,
    # the unweighted ones do not
    w = [last["class_grad_norm_weighted"][c] / last["class_grad_norm"][c] for c in range(10)]
    assert min(w[5:]) > 3 * max(w[:5])
    first = hist["epochs"][0]
    ratio = [first["class_grad_norm_weighted"][c] / first["class_grad_norm"][c] for c in range(10)]
    batch = params["recipes"]["smoke"]["batch_size"]
    assert all(abs(r * batch - 1) < 0.1 for r in ratio)  # before: the batch mean's 1/B only


def test_loss_log_checks_every_few_steps_and_names_the_step(monkeypatch):
    import procrustean.training.step as step_mod

    monkeypatch.setattr(step_mod, "SYNC_EVERY", 10)

    class Progress:
        shown: list[float] = []

        @classmethod
        def loss(cls, value: float) -> None:
            cls.shown.append(value)

    log = LossLog("smoke", epoch=2, lr=0.1, progress=Progress)
    for step in range(15):
        log.add(step, torch.tensor(1.0))
    assert Progress.shown == [1.0] and len(log.pending) == 5  # one read after 10 steps
    assert log.drain() == 15.0
    for step in range(15, 24):
        log.add(step, torch.tensor(float("nan") if step == 17 else 1.0))
    assert len(log.pending) == 9  # not read yet: the step never waits for the device
    with pytest.raises(UserError, match=r"epoch 3, step 18 .*recipes\.smoke\.lr"):
        log.drain()


def _history(acc: list[list[float]], held: list[list[float | None]], grad: list[list[float]]):
    return [
        {"epoch": i + 1, "class_acc": a, "heldout_acc": h, "class_grad_norm": g}
        for i, (a, h, g) in enumerate(zip(acc, held, grad, strict=True))
    ]


GROUPS = {"major": [0, 1], "minor": [2, 3]}


def test_run_summaries_on_a_hand_made_history():
    acc = [[0.5, 0.5, 0.0, 0.0], [0.9, 1.0, 0.4, 0.5], [1.0, 1.0, 0.9, 1.0], [1.0, 1.0, 1.0, 1.0]]
    held = [[None, 0.4, 0.0, 0.0]] * 3 + [[None, 0.9, 0.5, 0.7]]
    grad = [[1, 1, 4, 4], [1, 1, 2, 2], [1, 1, 100, 100], [1, 1, 100, 100]]
    epochs = _history(acc, held, grad)
    assert evidence.progress_gap(epochs, GROUPS) == pytest.approx(0.5)  # first quarter = epoch 1
    assert evidence.gradient_ratio(epochs, GROUPS, before=2) == pytest.approx(3.0)
    assert evidence.gradient_ratio(epochs, GROUPS, before=0) == pytest.approx(51.5)
    assert evidence.fit_epoch(epochs, [0, 1]) == 2  # (0.9 + 1.0) / 2 = 0.95
    assert evidence.fit_epoch(epochs, [2, 3]) == 3
    assert evidence.fit_epoch(epochs[:2], [2, 3]) is None
    assert evidence.overfit_gap(epochs, [2, 3]) == pytest.approx(0.4)
    assert evidence.overfit_gap(epochs, [0, 1]) == pytest.approx(0.1)  # class 0 has no held-out
    assert evidence.heldout_accuracy(epochs) == pytest.approx(0.7)
    row = evidence.run_evidence({"epochs": epochs, "groups": GROUPS}, 2)
    assert row["fit_major"] == 2 and row["fit_minor"] == 3 and row["fit_bottom"] == 3
    assert row["bottom_classes"] == "2 3" and row["overfit_class_0"] is None  # no held-out
    assert (row["overfit_class_2"], row["overfit_class_3"]) == pytest.approx((0.5, 0.3))


def test_t_interval_matches_students_t():
    ci = stats.t_interval([1, 2, 3, 4, 5])
    half = 2.7764451 * math.sqrt(2.5) / math.sqrt(5)
    assert (ci.mean, ci.n) == (3.0, 5)
    assert ci.low == pytest.approx(3 - half) and ci.high == pytest.approx(3 + half)
    assert ci.text(1, True) == f"+3.0 [{3 - half:+.1f}, {3 + half:+.1f}]"
    assert math.isnan(stats.t_interval([2.0]).low) and stats.t_interval([]).n == 0


def _runs() -> pd.DataFrame:
    """Two subsets x three seeds: mfw beats ce by 1 on subset 0 and by 3 on subset 1."""
    rows = []
    for subset, lift in ((0, 1.0), (1, 3.0)):
        for seed, noise in enumerate((-0.5, 0.0, 0.5)):
            base = 60 + 10 * subset + noise
            for method, top1 in (("ce", base), ("mfw", base + lift + noise)):
                rows.append(
                    {
                        "family": "fm-step-r10",
                        "setting": f"fm_s{subset}-step-r10",
                        "subset": subset,
                        "seed": seed,
                        "method": method,
                        "top1": top1,
                        "heldout_acc": top1 / 200,
                        "progress_gap": 0.3 if method == "ce" else 0.1 + 0.01 * seed,
                    }
                )
    return pd.DataFrame(rows)


def test_paired_differences_intervals_wins_and_spreads():
    long = paired_long(_runs(), ["ce", "mfw"]).set_index("metric")
    top = long.loc["top1"]
    diffs = [0.5, 1.0, 1.5, 2.5, 3.0, 3.5]
    assert top.n == 6 and top.wins == 6 and top.subsets == 2
    assert top.mean_diff == pytest.approx(2.0)
    ci = stats.t_interval(diffs)
    assert (top.ci_low, top.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert top.sd_seed == pytest.approx(0.5)  # within each subset: 0.5, 1.0, 1.5
    assert top.sd_subset == pytest.approx(math.sqrt(2))  # subset means 1 and 3
    assert long.loc["progress_gap"].wins == 6  # lower is better for the gap
    wide, spread = spread_table(_runs(), ["ce", "mfw"], [])
    assert "sd seeds 0.50; sd subsets 1.41 (2)" in wide.loc["mfw - ce", "fm-step-r10"]
    assert set(spread.row) == {"ce", "mfw", "mfw - ce"}


def test_claim_verdicts_follow_the_interval_and_holm():
    up = Claim("x", "m", "top1", "mfw", "ce", greater=True)
    assert verdict(stats.Interval(2, 1, 3, 6), up, 0.01) == "reproduced"
    assert verdict(stats.Interval(2, 1, 3, 6), up, 0.2) == "not reproduced after Holm's correction"
    assert verdict(stats.Interval(0.5, -1, 2, 6), up, 0.5).startswith(
        "not reproduced (interval includes"
    )
    assert verdict(stats.Interval(-2, -3, -1, 6), up, 0.01).endswith("opposite side)")
    assert verdict(stats.Interval(2, 1, 3, 6), up, 0.01, subsets_agree=False) == (
        "not reproduced (a subset's mean on the other side)"
    )
    ratio = Claim("r", "m", "gradient_ratio", "ce", None, greater=True, null=1.0)
    assert verdict(stats.Interval(1.5, 1.2, 1.8, 5), ratio, 0.01) == "reproduced"
    assert verdict(stats.Interval(1.5, 0.9, 2.1, 5), ratio, 0.2).startswith("not reproduced")
    assert verdict(stats.Interval(1.5, math.nan, math.nan, 1), ratio, math.nan).startswith(
        "not measurable"
    )
    wide, long = claims_table(_runs(), ["ce", "mfw"], [])
    row = long.set_index("claim").loc["MFW improves top-1 (mfw vs ce)"]
    assert row.verdict == "reproduced" and row.n == 6 and row.wins == 6
    assert row.holm_p == pytest.approx(row.p)  # alone in the accuracy family
    assert row.wilcoxon_p == pytest.approx(0.03125)  # exact: 6 of 6 positive, two-sided
    assert long.set_index("claim").loc["MFW balances progress"].verdict == "reproduced"


def test_heldout_table_marks_the_best_method():
    wide, long = heldout_table(_runs(), ["ce", "mfw"], [])
    assert long.set_index("method").chosen.to_dict() == {"ce": False, "mfw": True}
    assert wide.loc["mfw", "all settings"].endswith("(chosen)")


def test_subsets_are_datasets_that_differ_only_in_seed_and_class_order():
    base = {"source": "fashion_mnist", "num_classes": 10, "max_per_class": 150, "seed": 0}
    order = [1, 3, 5, 7, 9, 0, 2, 4, 6, 8]
    raw = {
        "fm_s0": base,
        "fm_s1": {**base, "seed": 1, "class_order": order},  # other minors: same family
        "fm_big": {**base, "max_per_class": 300},
    }
    entries = {name: resolve_entry("dataset", entry, name) for name, entry in raw.items()}
    assert dataset_family(entries) == {
        "fm_s0": "fm",
        "fm_s1": "fm",
        "fm_big": "fm_big",
    }


def test_subsets_must_agree_because_seeds_are_nested_in_them():
    up = Claim("x", "m", "top1", "mfw", "ce", greater=True)
    found = pd.DataFrame({"subset": [0, 0, 1, 1, 2, 2], "value": [2, 1, 3, 2, 1.5, -2.0]})
    assert not subsets_agree(found, up)  # subset 2's mean is -0.25
    assert subsets_agree(found.assign(value=found.value.abs()), up)
    down = Claim("g", "m", "progress_gap", "mfw", "ce", greater=False)
    assert subsets_agree(found.assign(value=-found.value.abs()), down)
    assert not subsets_agree(found.iloc[:0], up)  # nothing measured supports nothing
