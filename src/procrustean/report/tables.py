"""Paper-style tables: methods x settings, mean +- std over seeds; Markdown, LaTeX and CSV."""

from __future__ import annotations

import math

import pandas as pd
from tabulate import tabulate

from procrustean.report import stats

# A Procrustean method and the method it is compared with (same split, same seed): its base
# method, then the controls (class-independent weakening at the same mean rate, generic and
# imbalance-aware mixing).
PAIRS = (
    ("mfw", "ce"),
    ("mfw_drw", "drw"),
    ("mfw_ldam_drw", "ldam_drw"),
    ("mfw_la", "la"),
    ("mfw_adaptive", "ce"),
    ("mfw", "mfw_uniform"),
    ("mfw", "manifold_mixup"),
    ("mfw", "remix"),
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


# Per-run evidence columns: (column, label, digits).
EVIDENCE = (
    ("minor_to_major", "minor predicted major (early)", 3),
    ("progress_gap", "progress gap", 3),
    ("gradient_ratio", "gradient ratio (step, before re-weighting)", 2),
    ("gradient_ratio_clean", "gradient ratio (clean pass)", 2),
    ("fit_top", "epoch top group fit", 1),
    ("fit_bottom", "epoch bottom group fit", 1),
    ("overfit_gap", "bottom train - held-out", 3),
    ("heldout_peak_bottom", "bottom held-out peak epoch", 1),
    ("heldout_drop_bottom", "bottom held-out final - peak", 3),
    ("heldout_acc", "held-out acc (balanced)", 3),
    ("plateau_top", "top train-acc change, last 5 epochs vs 5 before", 3),
    ("plateau_bottom", "bottom train-acc change, last 5 epochs vs 5 before", 3),
)


def _num(value: float, digits: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def _families(runs: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(runs.family))


def _fit_text(values: pd.Series) -> str:
    """Mean ± std of the fit epochs of the runs that fit; how many did, when not all."""
    fit = values.dropna()
    if fit.empty:
        return f"never (0/{len(values)})"
    text = mean_std(fit, 1)
    return text if len(fit) == len(values) else f"{text} ({len(fit)}/{len(values)} fit)"


def diagnostics_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Per family and method: early progress gap (top - bottom group's clean training accuracy,
    first quarter), bottom/top gradient ratio of the unweighted loss before re-weighting, the
    epoch each group reaches 95% clean training accuracy, the bottom group's final train minus
    held-out accuracy, and balanced held-out accuracy."""
    rows, long = [], []
    for family in _families(runs):
        sub = runs[runs.family == family]
        for m in methods:
            r = sub[sub.method == m]
            if r.empty:
                continue
            row = {"setting": family, "method": m}
            for col, label, digits in EVIDENCE:
                if col not in r or r[col].isna().all():
                    row[label] = "-" if not col.startswith("fit_") else _fit_text(r[col])
                    continue
                row[label] = (
                    _fit_text(r[col]) if col.startswith("fit_") else mean_std(r[col], digits)
                )
                long.append(
                    {
                        "setting": family,
                        "method": m,
                        "metric": col,
                        "mean": r[col].mean(),
                        "std": r[col].std(ddof=1),
                        "n": int(r[col].count()),
                        "runs": len(r),
                    }
                )
            rows.append(row)
    wide = pd.DataFrame(rows).set_index(["setting", "method"]) if rows else pd.DataFrame()
    if not wide.empty:
        wide.index = [f"{f}, {m}" for f, m in wide.index]
    return wide, pd.DataFrame(long)


# Paired metrics: column -> whether higher is better for the method.
PAIRED_METRICS = {
    "top1": True,
    "progress_gap": False,
    "gradient_ratio": False,
    "gradient_ratio_clean": False,
    "overfit_gap": False,
    "heldout_acc": True,
}


def present_pairs(methods: list[str]) -> list[tuple[str, str]]:
    """The (method, base) pairs whose two methods the study runs."""
    return [(m, b) for m, b in PAIRS if m in methods and b in methods]


def paired_long(runs: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Every pair x family x metric: mean difference, 95% t-interval, wins, both spreads."""
    out = []
    for method, base in present_pairs(methods):
        for family in _families(runs):
            sub = runs[runs.family == family]
            for col, higher in PAIRED_METRICS.items():
                if col not in sub or sub[col].isna().all():
                    continue
                d = stats.paired(sub, method, base, col)
                if d.empty:
                    continue
                ci = stats.t_interval(d["diff"])
                sd_seed, sd_subset = stats.spread(d, "diff")
                out.append(
                    {
                        "setting": family,
                        "method": method,
                        "base": base,
                        "metric": col,
                        "mean_diff": ci.mean,
                        "ci_low": ci.low,
                        "ci_high": ci.high,
                        "n": ci.n,
                        "wins": stats.wins(d["diff"], higher),
                        "sd_seed": sd_seed,
                        "sd_subset": sd_subset,
                        "subsets": int(d.subset.nunique()),
                        "per_pair": " ".join(f"{v:.4f}" for v in d["diff"]),
                    }
                )
    return pd.DataFrame(out)


def paired_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Top-1 difference (method - base, same subset and seed): mean [95% t-interval], wins/n."""
    long = paired_long(runs, methods)
    if long.empty:
        return pd.DataFrame({"note": ["no method/base pair in this study"]}), long
    top = long[long.metric == "top1"]
    rows = {}
    for (method, base), g in top.groupby(["method", "base"], sort=False):
        rows[f"{method} - {base}"] = {
            r.setting: f"{stats.Interval(r.mean_diff, r.ci_low, r.ci_high, r.n).text(2, True)} "
            f"wins {r.wins}/{r.n}"
            for r in g.itertuples()
        }
    return pd.DataFrame(rows).T, long


def group_effects_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Per pair and family: the paired test-accuracy difference of each class group (major /
    minor, or many / medium / few): mean [95% t-interval] (n), wins."""
    cols = [f"group_{g}" for g in GROUP_ORDER if f"group_{g}" in runs.columns]
    rows, long = {}, []
    for method, base in present_pairs(methods):
        for family in _families(runs):
            sub = runs[runs.family == family]
            for col in cols:
                if sub[col].isna().all():
                    continue
                d = stats.paired(sub, method, base, col)
                if d.empty:
                    continue
                ci = stats.t_interval(d["diff"])
                group = col.removeprefix("group_")
                label = f"{method} - {base}, {family}"
                rows.setdefault(label, {})[group] = (
                    f"{ci.text(2, True)} wins {stats.wins(d['diff'])}/{ci.n}"
                )
                long.append(
                    {
                        "setting": family,
                        "method": method,
                        "base": base,
                        "group": group,
                        "mean_diff": ci.mean,
                        "ci_low": ci.low,
                        "ci_high": ci.high,
                        "n": ci.n,
                        "wins": stats.wins(d["diff"]),
                        "p": stats.t_test_p(d["diff"]),
                        "wilcoxon_p": stats.wilcoxon_p(d["diff"]),
                    }
                )
    if not rows:
        return pd.DataFrame({"note": ["no method/base pair in this study"]}), pd.DataFrame()
    order = [g for g in GROUP_ORDER if any(g in r for r in rows.values())]
    return pd.DataFrame(rows).T.reindex(columns=order).fillna("-"), pd.DataFrame(long)


def spread_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Top-1 (and each pair's top-1 difference): sd across training seeds (pooled within
    subsets) beside sd across imbalanced subsets (of the subsets' means)."""
    rows, long = {}, []

    def add(label: str, family: str, frame: pd.DataFrame, column: str) -> None:
        sd_seed, sd_subset = stats.spread(frame, column)
        k = int(frame.subset.nunique())
        cell = f"{frame[column].mean():.2f}; sd seeds {_num(sd_seed)}; sd subsets " + (
            f"{_num(sd_subset)} ({k})" if k > 1 else "- (1)"
        )
        rows.setdefault(label, {})[family] = cell
        long.append(
            {
                "setting": family,
                "row": label,
                "mean": frame[column].mean(),
                "sd_seed": sd_seed,
                "sd_subset": sd_subset,
                "subsets": k,
                "n": int(frame[column].count()),
            }
        )

    for family in _families(runs):
        sub = runs[runs.family == family]
        for m in methods:
            if not sub[sub.method == m].empty:
                add(m, family, sub[sub.method == m], "top1")
        for method, base in present_pairs(methods):
            d = stats.paired(sub, method, base, "top1")
            if not d.empty:
                add(f"{method} - {base}", family, d, "diff")
    return pd.DataFrame(rows).T, pd.DataFrame(long)


def heldout_table(runs: pd.DataFrame, methods: list[str], settings: list[str]):
    """Balanced held-out accuracy (%) at the final epoch, per family and over all of them; the
    method with the highest overall mean is marked: the choice made without the test set."""
    if "heldout_acc" not in runs or runs.heldout_acc.isna().all():
        return pd.DataFrame({"note": ["no held-out images in this study"]}), pd.DataFrame()
    runs = runs.assign(heldout_pct=runs.heldout_acc * 100)
    table, long = {}, []
    for family in _families(runs):
        sub = runs[runs.family == family]
        table[family] = [mean_std(sub[sub.method == m].heldout_pct) for m in methods]
    overall = {m: runs[runs.method == m].heldout_pct.mean() for m in methods}
    best = max((m for m in methods if not math.isnan(overall[m])), key=lambda m: overall[m])
    table["all settings"] = [f"{overall[m]:.2f}{' (chosen)' if m == best else ''}" for m in methods]
    for m in methods:
        r = runs[runs.method == m]
        long.append(
            {
                "method": m,
                "heldout_mean": overall[m],
                "heldout_std": r.heldout_pct.std(ddof=1),
                "n": int(r.heldout_pct.count()),
                "test_top1_mean": r.top1.mean(),
                "chosen": m == best,
            }
        )
    return pd.DataFrame(table, index=methods), pd.DataFrame(long)


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
    """Mean top-1 (%) per imbalance setting (profile and ratio, over the study's subsets and
    seeds) and method, nothing else: few enough columns for ``dvc metrics show`` and
    ``dvc exp show`` to be read at 120 columns (the counts are in runs.csv)."""
    keys = {s: "-".join(s.rsplit("-", 2)[1:]) for s in settings}  # data-profile-rN -> profile-rN
    out: dict = {"top1": {}}
    for key in dict.fromkeys(keys.values()):
        sub = runs[runs.setting.isin([s for s, k in keys.items() if k == key])]
        out["top1"][key] = {m: round(float(sub[sub.method == m].top1.mean()), 4) for m in methods}
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
