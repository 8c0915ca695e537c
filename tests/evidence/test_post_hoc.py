"""The revised rules registered for the paper-count studies (report/post_hoc.py): per-class
sensitivity, the ablation family, the plateau test after the last decay and minor-to-major
against the balanced control, on frames built so that the right answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from procrustean.report import post_hoc


def runs_with_classes(gain_on: dict[int, float], pairs: int = 6) -> pd.DataFrame:
    """ce and mfw runs over ``pairs`` (subset, seed) pairs; mfw gains ``gain_on[c]`` points on
    class c (with a little pair-to-pair noise), ce scores 50 + c everywhere."""
    rows = []
    for i in range(pairs):
        for method in ("ce", "mfw"):
            row = {"family": "fm-step-r100", "subset": i // 3, "seed": i % 3, "method": method}
            for c in range(10):
                gain = gain_on.get(c, 0.0) + (0.1 * ((i * 7 + c) % 3 - 1) if c in gain_on else 0)
                row[f"class_{c}"] = 50.0 + c + (gain if method == "mfw" else 0.0)
            rows.append(row)
    return pd.DataFrame(rows)


def test_one_class_that_carries_the_effect_is_named():
    runs = runs_with_classes({6: 20.0})
    table = post_hoc.class_sensitivity(runs, "mfw", "ce")
    assert list(table.left_out) == list(range(10))
    assert list(table[table.decides].left_out) == [6]
    assert table.set_index("left_out").loc[6, "mean"] == pytest.approx(0.0)
    summary = post_hoc.sensitivity_summary(runs, "mfw", "ce")
    assert summary["decided_by"] == "6" and summary["n"] == 6
    assert summary["all_classes"].startswith("+2.00")


def test_an_effect_spread_over_classes_is_decided_by_none():
    runs = runs_with_classes({c: 3.0 for c in range(10)})
    assert post_hoc.sensitivity_summary(runs, "mfw", "ce")["decided_by"] == "none"


def curve(method: str, group_acc: dict[str, list[float]], counts: dict[str, int], seed=0):
    rows = []
    for group, accs in group_acc.items():
        for epoch, acc in enumerate(accs, start=1):
            for c in range(5):
                rows.append(
                    {
                        "setting": "s-step-r100",
                        "family": "f-step-r100",
                        "method": method,
                        "seed": seed,
                        "epoch": epoch,
                        "class": c + (5 if group == "minor" else 0),
                        "group": group,
                        "count": counts[group],
                        "train_acc": acc,
                    }
                )
    return pd.DataFrame(rows)


def test_the_plateau_tolerance_follows_the_diagnostic_images_of_the_group():
    # after the last decay (epoch 2): minor moves 0.05, major 0.01
    moving = {"major": [0.5, 0.9, 0.90, 0.91], "minor": [0.1, 0.5, 0.50, 0.55]}
    few = curve("ce", moving, {"major": 500, "minor": 5})  # 25 minor images: tolerance 0.08
    many = curve("ce", moving, {"major": 5000, "minor": 50})  # 250: the floor, 0.03
    assert post_hoc.plateau_after_decay(few, 2, 100).plateaued.tolist() == [True]
    assert post_hoc.plateau_after_decay(many, 2, 100).plateaued.tolist() == [False]
    # the epochs before the decay play no part
    assert post_hoc.plateau_after_decay(many, 3, 100).plateaued.tolist() == [True]
    changes = post_hoc.plateau_changes(many, 2, 100).set_index("group")
    assert changes.change.to_dict() == pytest.approx({"major": 0.01, "minor": 0.05})
    assert changes.images.to_dict() == {"major": 500, "minor": 250}
    assert changes.flat.to_dict() == {"major": True, "minor": False}
    assert post_hoc.group_tolerance(25) == pytest.approx(0.08)
    assert post_hoc.group_tolerance(250) == post_hoc.PLATEAU_TOLERANCE


def test_minor_to_major_is_measured_against_the_balanced_run_on_the_same_classes():
    rows = []
    for setting, share in (("s_s1-step-r10", 0.40), ("s_s1-balanced-r10", 0.15)):
        for epoch in range(1, 9):
            for c in range(10):
                rows.append(
                    {
                        "setting": setting,
                        "family": setting.replace("_s1", ""),
                        "method": "ce",
                        "seed": 0,
                        "epoch": epoch,
                        "class": c,
                        # the first quarter (epochs 1-2) reads `share`, later epochs 0.9
                        "to_major": (share if epoch <= 2 else 0.9) if c >= 5 else None,
                    }
                )
    found = post_hoc.minor_to_major_vs_balanced(pd.DataFrame(rows))
    assert len(found) == 1
    assert found.iloc[0]["diff"] == pytest.approx(0.25)
    assert found.iloc[0]["family"] == "s-step-r10"


def test_the_ablation_is_a_family_of_its_own():
    runs = runs_with_classes({c: 3.0 for c in range(10)})
    runs.loc[runs.method == "ce", "method"] = "mfw_uniform"
    rows = post_hoc.ablation_rows(runs)
    assert [r["comparison"] for r in rows] == ["mfw - mfw_uniform"]
    assert rows[0]["holm_p"] == rows[0]["p"] < 1e-3  # one test: Holm changes nothing
    assert rows[0]["wins"] == "6/6"
