"""Paper-style tables: methods x settings, mean +- std over seeds; Markdown, LaTeX and CSV."""

from __future__ import annotations

import math

import pandas as pd
from tabulate import tabulate

# A Procrustean method and the base method it is compared with (same split, same seed).
PAIRS = (
    ("mfw", "ce"),
    ("mfw_drw", "drw"),
    ("mfw_ldam_drw", "ldam_drw"),
    ("mfw_la", "la"),
    ("mfw_adaptive", "ce"),
)


GROUP_ORDER = ("major", "minor", "many", "medium", "few")


def mean_std(values: pd.Series, digits: int = 2) -> str:
    """``mean ± std`` over seeds (sample std); the mean alone for one seed; '-' for none."""
    v = values.dropna()
    if v.empty:
        return "-"
    if len(v) == 1:
        return f"{v.iloc[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def _summary(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """Long-form numbers for CSV: setting, method, metric, mean, std, n."""
    g = runs.groupby(["setting", "method"], sort=False)[column]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "n": g.count()}).reset_index()
    out.insert(2, "metric", column)
    return out


def _wide(
    runs: pd.DataFrame, columns: list[str], methods: list[str], settings: list[str], digits: int = 2
) -> pd.DataFrame:
    table = {}
    for setting in settings:
        sub = runs[runs.setting == setting]
        for col in columns:
            if sub[col].isna().all():
                continue
            label = setting if len(columns) == 1 else f"{setting} {col.removeprefix('group_')}"
            table[label] = [mean_std(sub[sub.method == m][col], digits) for m in methods]
    return pd.DataFrame(table, index=methods)


def accuracy_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Top-1 test accuracy (%)."""
    return _wide(runs, ["top1"], methods, settings), _summary(runs, "top1")


def groups_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Test accuracy (%) of major/minor (step) or many/medium/few (exp) classes."""
    order = [f"group_{g}" for g in GROUP_ORDER]
    cols = [c for c in order if c in runs.columns]
    long = pd.concat([_summary(runs, c) for c in cols]).dropna(subset=["mean"])
    return _wide(runs, cols, methods, settings), long


def diagnostics_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Early progress gap (major - minor train accuracy) and minor/major gradient ratio."""
    cols = ["progress_gap", "gradient_ratio"]
    long = pd.concat([_summary(runs, c) for c in cols])
    return _wide(runs, cols, methods, settings, digits=3), long


def paired_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Per-seed paired difference of top-1 (method - base), its mean ± std, for each pair present."""
    rows, long = {}, []
    for method, base in PAIRS:
        if method not in methods or base not in methods:
            continue
        cells = []
        for setting in settings:
            sub = runs[runs.setting == setting]
            a = sub[sub.method == method].set_index("seed")["top1"]
            b = sub[sub.method == base].set_index("seed")["top1"]
            diff = (a - b).dropna()
            cells.append(f"{mean_std(diff)} [{', '.join(f'{d:+.1f}' for d in diff)}]")
            long.append(
                {
                    "setting": setting,
                    "method": method,
                    "base": base,
                    "mean_diff": diff.mean(),
                    "std_diff": diff.std(ddof=1) if len(diff) > 1 else math.nan,
                    "n": len(diff),
                    "per_seed": " ".join(f"{d:.4f}" for d in diff),
                }
            )
        rows[f"{method} - {base}"] = cells
    wide = (
        pd.DataFrame(rows, index=settings).T
        if rows
        else pd.DataFrame({"note": ["no method/base pair in this study"]})
    )
    return wide, pd.DataFrame(long)


def reference_table(
    runs: pd.DataFrame, settings: dict[str, tuple[str, str, int]], published: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published top-1 beside ours for every (setting, method) a published entry matches.

    ``settings``: setting name -> (data source, profile, ratio). Ours is the final epoch's
    top-1, mean ± std over seeds; theirs follows the epoch rule of its source.
    """
    rows = []
    for setting, (source, profile, ratio) in settings.items():
        sub = runs[runs.setting == setting]
        for e in published.get("entries", []):
            if (e["dataset"], e["profile"], int(e["ratio"])) != (source, profile, ratio):
                continue
            ours = sub[sub.method == e["method"]].top1
            if ours.empty:
                continue
            ref = published["sources"][e["ref"]]
            theirs = round(100 - float(e["error"]), 2)
            rows.append(
                {
                    "setting": setting,
                    "method": e["method"],
                    "published": f"{theirs:.2f} ({e['name']}, {ref['epoch_rule']})",
                    "ours (final epoch)": mean_std(ours),
                    "ours - published": f"{ours.mean() - theirs:+.2f}",
                    "source": ref["citation"],
                    "published_top1": theirs,
                    "ours_mean": float(ours.mean()),
                    "n": int(ours.count()),
                }
            )
    long = pd.DataFrame(rows)
    if long.empty:
        return pd.DataFrame({"note": ["no published result for this study's settings"]}), long
    wide = long.set_index(["setting", "method"])[
        ["published", "ours (final epoch)", "ours - published"]
    ]
    wide.index = [f"{s} {m}" for s, m in wide.index]
    return wide, long


def summary_metrics(runs: pd.DataFrame, methods: list[str], settings: list[str]) -> dict:
    """Mean top-1 (%) per setting and method, and the number of seeds: small enough for
    ``dvc metrics show`` and ``dvc exp show`` to be read at a glance."""
    out: dict = {"top1": {}, "seeds": int(runs.seed.nunique())}
    for setting in settings:
        sub = runs[runs.setting == setting]
        out["top1"][setting] = {
            m: round(float(sub[sub.method == m].top1.mean()), 4) for m in methods
        }
    return out


def render(wide: pd.DataFrame, title: str) -> tuple[str, str]:
    """Markdown and LaTeX renderings of a wide table."""
    md = (
        f"<!-- {title} -->\n"
        + tabulate(wide, headers="keys", tablefmt="github", disable_numparse=True)
        + "\n"
    )
    tex = (
        f"% {title}\n"
        + tabulate(wide, headers="keys", tablefmt="latex_booktabs", disable_numparse=True)
        + "\n"
    )
    return md, tex
