"""Figures: per-class test accuracy, per-class training accuracy and feature-gradient norm."""

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
