"""Imbalance profiles pinned to the field's numbers (LDAM-DRW), and split selection."""

import pytest
import torch

from procrustean.data.imbalance import select_indices
from procrustean.data.profiles import class_counts, class_groups
from procrustean.errors import UserError


def test_exp_counts_cifar10_ratio_100():
    assert class_counts(10, 5000, "exp", 100) == [
        5000,
        2997,
        1796,
        1077,
        645,
        387,
        232,
        139,
        83,
        50,
    ]


def test_step_counts_cifar10_ratio_100():
    assert class_counts(10, 5000, "step", 100) == [5000] * 5 + [50] * 5


@pytest.mark.parametrize(
    ("classes", "per_class", "ratio", "total"),
    [(10, 5000, 100, 12406), (10, 5000, 10, 20431), (100, 500, 100, 10847), (100, 500, 10, 19573)],
)
def test_exp_totals(classes, per_class, ratio, total):
    assert sum(class_counts(classes, per_class, "exp", ratio)) == total


def test_step_minor_fraction():
    assert class_counts(10, 100, "step", 10, minor_fraction=0.3) == [100] * 7 + [10] * 3


def test_ratio_one_is_balanced():
    assert class_counts(4, 100, "exp", 1) == [100] * 4
    assert class_counts(4, 100, "step", 1) == [100] * 4


@pytest.mark.parametrize("ratio", [0.5, "ten", None, True])
def test_bad_ratio(ratio):
    with pytest.raises(UserError, match="ratio"):
        class_counts(10, 100, "exp", ratio)


@pytest.mark.parametrize("mu", [0, 1, 1.5, -0.1])
def test_bad_minor_fraction(mu):
    with pytest.raises(UserError, match="minor_fraction"):
        class_counts(10, 100, "step", 10, minor_fraction=mu)


def test_unknown_profile():
    with pytest.raises(UserError, match="unknown imbalance profile 'zipf'"):
        class_counts(10, 100, "zipf", 10)


def test_select_indices_counts_seed_and_nesting():
    labels = torch.arange(5).repeat(40)
    counts = class_counts(5, 40, "exp", 10)
    idx = select_indices(labels, counts, seed=3)
    assert torch.bincount(labels[idx], minlength=5).tolist() == counts
    assert torch.equal(idx, select_indices(labels, counts, seed=3))
    assert not torch.equal(idx, select_indices(labels, counts, seed=4))
    smaller = select_indices(labels, class_counts(5, 40, "exp", 20), seed=3)
    assert set(smaller.tolist()) <= set(idx.tolist())


def test_select_indices_refuses_too_many():
    with pytest.raises(UserError, match="lower max_per_class"):
        select_indices(torch.zeros(5, dtype=torch.long), [6], seed=0)


def test_groups():
    assert class_groups([50, 50, 5, 5], "step") == {"major": [0, 1], "minor": [2, 3]}
    assert class_groups([500, 100, 20, 19], "exp") == {"many": [0], "medium": [1, 2], "few": [3]}


def test_class_order_gives_each_rank_its_count():
    order = [1, 3, 5, 7, 9, 0, 2, 4, 6, 8]
    step = class_counts(10, 5000, "step", 100, order=order)
    assert [c for c, n in enumerate(step) if n == 50] == [0, 2, 4, 6, 8]
    assert sorted(step) == sorted(class_counts(10, 5000, "step", 100))
    exp = class_counts(10, 5000, "exp", 100, order=order)
    assert [exp[c] for c in order] == class_counts(10, 5000, "exp", 100)
    assert class_counts(10, 5000, "exp", 100, order=list(range(10))) == class_counts(
        10, 5000, "exp", 100
    )


def test_class_order_must_list_every_class_once():
    with pytest.raises(UserError, match=r"class_order \[0, 0, 1\] is not an order of 0..2"):
        class_counts(3, 100, "step", 10, order=[0, 0, 1])


def test_balanced_groups_follow_the_class_order():
    """The balanced control's groups are the classes the step split with the same order makes
    major and minor, although every class has the same count."""
    order = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]
    counts = class_counts(10, 5000, "balanced", 100, order=order)
    groups = class_groups(counts, "balanced", 0.5, order)
    step = class_groups(class_counts(10, 5000, "step", 100, order=order), "step")
    assert groups == step == {"major": [0, 2, 4, 6, 8], "minor": [1, 3, 5, 7, 9]}
    assert class_groups(counts, "balanced", 0.5)["minor"] == [5, 6, 7, 8, 9]  # label order
