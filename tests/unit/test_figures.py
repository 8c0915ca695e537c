"""The at-a-glance figure: per-group training accuracy and the gradient ratio over epochs."""

from __future__ import annotations

import pandas as pd
import pytest

from procrustean.report import figures


def _curves(groups: tuple[str, str], values: dict[tuple[int, str], float]) -> pd.DataFrame:
    """Two runs (seeds 0, 1) of one method, one epoch, one class per group."""
    rows = []
    for (seed, group), grad in values.items():
        rows.append(
            {
                "setting": "s",
                "family": "s",
                "method": "ce",
                "seed": seed,
                "epoch": 1,
                "class": groups.index(group),
                "group": group,
                "train_acc": 0.5 if group == groups[0] else 0.1,
                "grad_norm": grad,
                "grad_norm_clean": grad,
            }
        )
    return pd.DataFrame(rows)


def test_the_gradient_ratio_is_the_mean_of_each_runs_ratio():
    """Run 0: minor 2 / major 1; run 1: minor 8 / major 2. Mean of the ratios is 3; the ratio
    of the means (5 / 1.5) would be 3.33."""
    curves = _curves(
        ("major", "minor"), {(0, "major"): 1, (0, "minor"): 2, (1, "major"): 2, (1, "minor"): 8}
    )
    ratio = figures._per_run(curves, "minor", "grad_norm") / figures._per_run(
        curves, "major", "grad_norm"
    )
    epochs, mean = figures._over_runs(ratio)
    assert epochs == [1]
    assert mean == [pytest.approx(3.0)]


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (["major", "minor"], ("major", "minor")),
        (["many", "medium", "few"], ("many", "few")),
        (["many", "medium"], ("many", "medium")),
    ],
)
def test_top_and_bottom_groups_are_the_largest_and_the_smallest(present, expected):
    assert figures._top_bottom(present) == expected


def test_the_figure_is_drawn_for_an_exp_family(tmp_path):
    curves = _curves(
        ("many", "few"), {(0, "many"): 1, (0, "few"): 3, (1, "many"): 1, (1, "few"): 2}
    )
    out = tmp_path / "glance.png"
    figures.groups_over_epochs(curves, ["ce"], str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_figure_takes_more_methods_than_one_palette_has(tmp_path):
    """select runs 11 methods: each gets a colour (tab10 has 10)."""
    base = _curves(("major", "minor"), {(0, "major"): 1, (0, "minor"): 3})
    methods = [f"m{i}" for i in range(11)]
    curves = pd.concat([base.assign(method=m) for m in methods])
    out = tmp_path / "glance.png"
    figures.groups_over_epochs(curves, methods, str(out))
    assert out.stat().st_size > 0
