"""What a revised analysis's judging shows: its families' tables, its regime, the curve over
the minors' image count and the plateau check run by run, as markdown."""

from __future__ import annotations

import pandas as pd

from procrustean.analyses import Analysis
from procrustean.entries import Params
from procrustean.report import claims, plateau, stats
from procrustean.report.family import Judged
from procrustean.report.stats import Interval, t_interval


def minor_images(params: Params, study: str, ratio: int) -> int:
    """The smallest class's images in ``study`` at ``ratio``: its largest class count over the
    ratio."""
    spec = params.study(study)
    return int(params.dataset(spec.datasets[0]).max_per_class / ratio)


def curve(
    params: Params, analysis: Analysis, tables: dict[str, pd.DataFrame], done: set[str]
) -> pd.DataFrame:
    """The curve's method - base top-1 and minor-group test accuracy at each of its studies'
    minor image counts (its setting), with 95% t-intervals over the pairs ('pending' where
    unfinished)."""
    spec = analysis.curve
    ratio = int(spec.setting.split("-r")[1])
    rows = []
    for study in spec.studies:
        row = {"minor images": minor_images(params, study, ratio), "study": study}
        if study not in done:
            rows.append(
                row | {"setting": "-", "top-1": "pending", "minor group": "pending", "pairs": 0}
            )
            continue
        runs = tables[study]
        found = [f for f in claims.imbalanced_families(runs) if f.endswith(f"-{spec.setting}")]
        sub = runs[runs.family.isin(found[:1])]
        top1 = t_interval(stats.paired(sub, spec.method, spec.base, "top1")["diff"])
        minor = t_interval(
            stats.paired(sub, spec.method, spec.base, "group_minor")["diff"]
            if "group_minor" in sub and not sub.group_minor.isna().all()
            else []
        )
        rows.append(
            row
            | {
                "setting": found[0] if found else "-",
                "top-1": top1.text(2, signed=True),
                "minor group": minor.text(2, signed=True),
                "pairs": top1.n,
            }
        )
    return pd.DataFrame(rows)


SHOWN = ["setting", "claim", "interval", "n", "p", "holm_p", "wilcoxon_p", "wins", "verdict"]


def _shown(frame: pd.DataFrame, extra: list[str]) -> str:
    frame = frame.copy()
    frame["interval"] = [
        Interval(r["mean"], r.ci_low, r.ci_high, int(r.n)).text(3, signed=True) if r.n else "-"
        for _, r in frame.reindex(columns=["mean", "ci_low", "ci_high", "n"]).iterrows()
    ]
    frame["wins"] = [
        f"{int(w)}/{int(n)}" if n else "-"
        for w, n in zip(frame.reindex(columns=["wins"]).wins.fillna(0), frame.n, strict=True)
    ]
    frame["setting"] = frame.reindex(columns=["setting"]).setting.fillna(frame.study)
    cols = [c for c in [*SHOWN[:-1], *extra, "verdict"] if c in frame]
    return frame[cols].to_markdown(index=False, floatfmt=".3g")


def _extra(judged: Judged) -> list[str]:
    """The columns a family's table adds: who decides its top-1 tests, its controls' premise,
    its runs' plateau."""
    out = ["decided_by"] if any(t.column == "top1" for t in judged.tests) else []
    return out + (["premise"] if any(t.claim.control for t in judged.tests) else []) + ["plateaued"]


def markdown(
    analysis: Analysis,
    judged: list[Judged],
    points: pd.DataFrame | None,
    regime: pd.DataFrame | None = None,
) -> str:
    """The regime (where the analysis states one), the families' tables and the curve,
    titled."""
    parts = [f"# {analysis.title}"]
    if regime is not None:
        fit = analysis.fit or {}
        parts += [
            f"## Regime: a ce run fits when its final clean training accuracy is at least "
            f"{fit['accuracy']:g} on every class; a setting is fit when {fit['share']:.0%} of "
            "its ce runs do",
            regime.to_markdown(index=False, disable_numparse=True)
            if not regime.empty
            else "No study has finished.",
        ]
    for j in judged:
        parts += [f"## {j.family.title}", _shown(j.frame, _extra(j))]
    if points is not None:
        profile, ratio = analysis.curve.setting.split("-r")
        parts += [
            f"## The curve: {analysis.curve.method} - {analysis.curve.base} at {profile} {ratio} "
            "over the minors' image count",
            points.to_markdown(index=False),
        ]
    return "\n\n".join(parts) + "\n"


def plateau_markdown(
    judged: list[Judged], curves: dict[str, pd.DataFrame], windows: dict[str, plateau.Window]
) -> str:
    """Per judged top-1 test: its runs' plateau check run by run (the detail behind its
    "plateaued" column)."""
    parts = [plateau.title()]
    for j in judged:
        for _, test, row in j.top1():
            head = f"## {test.study}: {test.method} vs {test.base}"
            if row.n == 0:
                parts += [head, str(row.verdict)]
                continue
            head = f"{head} ({row.setting})"
            mine = curves[test.study][curves[test.study].family == test.setting]
            parts += plateau.section(head, mine, [test.base, test.method], windows[test.study])
    return "\n\n".join(parts) + "\n"
