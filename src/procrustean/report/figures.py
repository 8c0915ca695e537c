"""Figures: per-class test accuracy, per-class training accuracy, feature-gradient norm, and
each class group's training beside held-out accuracy, and the mechanism at a glance (each group's
clean training accuracy and the gradient ratio over epochs, methods overlaid)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from procrustean.fileio import atomic_path  # noqa: E402

PNG_META = {"Software": None}


def _save(fig: plt.Figure, path: str) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata=PNG_META)
    plt.close(fig)


def test_per_class(runs: pd.DataFrame, methods: list[str], settings: list[str], path: str) -> None:
    """Per-class test accuracy, one panel per setting, one line per method (mean over seeds)."""
    cls = sorted((c for c in runs.columns if c.startswith("class_")), key=lambda c: int(c[6:]))
    fig, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 3.4), squeeze=False)
    for ax, setting in zip(axes[0], settings, strict=True):
        sub = runs[runs.setting == setting]
        for m in methods:
            mean = sub[sub.method == m][cls].mean()
            ax.plot(range(len(cls)), mean.values, marker="o", ms=3, label=m)
        ax.set(
            title=setting, xlabel="class (largest first)", ylabel="test accuracy (%)", ylim=(0, 100)
        )
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def per_class_curves(
    curves: pd.DataFrame,
    methods: list[str],
    settings: list[str],
    value: str,
    ylabel: str,
    path: str,
    log: bool = False,
) -> None:
    """A per-class quantity over epochs: rows settings, columns methods (side by side)."""
    fig, axes = plt.subplots(
        len(settings),
        len(methods),
        figsize=(3.3 * len(methods), 2.8 * len(settings)),
        squeeze=False,
        sharey="row",
    )
    cmap = plt.get_cmap("viridis")
    for i, setting in enumerate(settings):
        for j, m in enumerate(methods):
            ax = axes[i][j]
            sub = curves[(curves.setting == setting) & (curves.method == m)]
            mean = sub.groupby(["class", "epoch"])[value].mean().unstack(0)
            n = max(len(mean.columns) - 1, 1)
            for c in mean.columns:
                count = int(sub[sub["class"] == c]["count"].iloc[0])
                ax.plot(mean.index, mean[c], color=cmap(c / n), lw=1.2, label=f"{c} (n={count})")
            ax.set_title(f"{m} | {setting}", fontsize=8)
            ax.set_xlabel("epoch", fontsize=8)
            if log:
                ax.set_yscale("log")
            if j == 0:
                ax.set_ylabel(ylabel, fontsize=8)
    axes[0][-1].legend(fontsize=6, title="class", title_fontsize=6, loc="best")
    fig.tight_layout()
    _save(fig, path)


FIT_LINE = 0.95


def train_vs_heldout(curves: pd.DataFrame, methods: list[str], path: str) -> None:
    """Per group, clean training (solid) and held-out (dashed) accuracy over epochs, mean over
    runs: rows settings (subsets pooled), columns methods. The dotted line marks 95%."""
    families = list(dict.fromkeys(curves.family)) if "family" in curves else []
    fig, axes = plt.subplots(
        max(len(families), 1),
        len(methods),
        figsize=(3.3 * len(methods), 2.8 * max(len(families), 1)),
        squeeze=False,
        sharey=True,
    )
    colors = dict(
        zip(("major", "many", "medium", "minor", "few"), plt.get_cmap("tab10").colors, strict=False)
    )
    for i, family in enumerate(families):
        for j, m in enumerate(methods):
            ax = axes[i][j]
            sub = curves[(curves.family == family) & (curves.method == m)]
            for group, g in sub.groupby("group", sort=False):
                per_run = g.groupby(["seed", "setting", "epoch"])[["train_acc", "heldout_acc"]]
                mean = per_run.mean().groupby("epoch").mean()
                color = colors.get(group)
                ax.plot(mean.index, mean.train_acc, color=color, lw=1.3, label=f"{group} train")
                if mean.heldout_acc.notna().any():
                    ax.plot(
                        mean.index,
                        mean.heldout_acc,
                        color=color,
                        lw=1.1,
                        ls="--",
                        label=f"{group} held-out",
                    )
            ax.axhline(FIT_LINE, color="grey", lw=0.7, ls=":")
            ax.set_title(f"{m} | {family}", fontsize=8)
            ax.set_xlabel("epoch", fontsize=8)
            ax.set_ylim(0, 1.02)
            if j == 0:
                ax.set_ylabel("accuracy", fontsize=8)
        axes[i][-1].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    _save(fig, path)


TOP_GROUPS, BOTTOM_GROUPS = ("major", "many"), ("minor", "few", "medium")


def _top_bottom(groups: list[str]) -> tuple[str | None, str | None]:
    """The largest-class group and the smallest present (as report.evidence.top_bottom)."""
    top = next((g for g in TOP_GROUPS if g in groups), None)
    bottom = next((g for g in BOTTOM_GROUPS if g in groups), None)
    return top, bottom


def _per_run(sub: pd.DataFrame, group: str, value: str) -> pd.Series:
    """Each run's mean ``value`` over the group's classes, per epoch."""
    return sub[sub.group == group].groupby(["setting", "seed", "epoch"])[value].mean()


def _over_runs(per_run: pd.Series) -> tuple[list, list]:
    """Epochs and the mean over runs."""
    mean = per_run.groupby(level="epoch").mean()
    return list(mean.index), list(mean.values)


def groups_over_epochs(curves: pd.DataFrame, methods: list[str], path: str) -> None:
    """The paper's mechanism at a glance, methods overlaid, one row per family (subsets pooled):
    left, the top and bottom group's clean training accuracy over epochs; right, the bottom
    over top group's mean per-sample gradient norm (clean pass where recorded); means over runs."""
    families = list(dict.fromkeys(curves.family)) if "family" in curves else []
    fig, axes = plt.subplots(
        max(len(families), 1), 2, figsize=(9.0, 3.0 * max(len(families), 1)), squeeze=False
    )
    palette = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20").colors
    colors = {m: palette[i % len(palette)] for i, m in enumerate(methods)}
    for row, family in zip(axes, families, strict=False):
        fam = curves[curves.family == family]
        top, bottom = _top_bottom(list(dict.fromkeys(fam.group)))
        grad = "grad_norm_clean" if fam.grad_norm_clean.notna().all() else "grad_norm"
        for m in methods:
            sub = fam[fam.method == m]
            if sub.empty or top is None or bottom is None:
                continue
            n = len(sub.groupby(["setting", "seed"]))
            label = f"{m} (n={n})"
            row[0].plot(
                *_over_runs(_per_run(sub, top, "train_acc")),
                color=colors[m],
                lw=1.4,
                label=f"{label}, {top}",
            )
            row[0].plot(
                *_over_runs(_per_run(sub, bottom, "train_acc")),
                color=colors[m],
                lw=1.4,
                ls="--",
                label=f"{label}, {bottom}",
            )
            ratio = _per_run(sub, bottom, grad) / _per_run(sub, top, grad)
            row[1].plot(*_over_runs(ratio), color=colors[m], lw=1.4, label=label)
        row[0].set(ylim=(0, 1.02), xlabel="epoch", ylabel="clean training accuracy")
        row[0].set_title(f"{family}: {top} (solid), {bottom} (dashed)", fontsize=8)
        row[1].axhline(1.0, color="grey", lw=0.7, ls=":")
        row[1].set_ylim(bottom=0)
        pass_name = "clean pass" if grad == "grad_norm_clean" else "training step"
        row[1].set(xlabel="epoch", ylabel=f"gradient norm ratio, {bottom} / {top}")
        row[1].set_title(f"{family}: per-sample feature gradient ({pass_name})", fontsize=8)
        row[0].legend(fontsize=6, loc="center right")
        row[1].legend(fontsize=6, loc="best")
    fig.tight_layout()
    _save(fig, path)
