"""The verdicts as the README shows them: one row per claim, one column per setting, each cell
the mean [95% t-interval], Holm's p, wins and the verdict (the long verdicts table, pivoted)."""

from __future__ import annotations

import math

import pandas as pd

from procrustean.report import claims
from procrustean.report.stats import Interval

TITLE = (
    "The paper's claims over the {name} studies, per setting: mean [95% t-interval] over "
    "runs (one-sample claims) or pairs (same subset and seed), Holm's p within its family "
    "across the studies, wins/n, verdict; top-1 rows add the smallest effect detectable at 80% "
    "power; a dagger marks a verdict whose t-interval over the 3 subset means includes the "
    "null; 'pending': a study of the design that has not finished, whose tests Holm's "
    "correction counts as p = 1 (results/{name}/verdicts.csv has the rest)"
)
PLATEAU_TITLE = (
    "Runs whose top and bottom groups both plateaued (clean training accuracy moved by less "
    "than 0.02 over the last 5 epochs), per method and setting"
)
TWO_DIGITS = ("top1", "gradient_ratio", "gradient_ratio_clean")  # as the claims tables show them


def interval_text(interval: Interval, claim: claims.Claim) -> str:
    """An interval as the claims tables write it: signed for differences, 2 or 3 digits."""
    paired = claim.base is not None or claim.control
    return interval.text(2 if claim.column in TWO_DIGITS else 3, paired)


def setting_label(family: str) -> str:
    """``fashion_mnist_500-step-r100`` -> ``step r100``."""
    _, profile, ratio = family.rsplit("-", 2)
    return f"{profile} {ratio}"


def setting_order(families: list[str]) -> list[str]:
    """Highest ratio first; within a ratio, the order the verdicts met them."""
    return sorted(dict.fromkeys(families), key=lambda f: -int(f.rsplit("-r", 1)[1]))


SHORT = {  # verdict prefix -> what a cell says
    "reproduced": "**reproduced**",
    "not reproduced (interval includes": "not reproduced",
    "not reproduced (interval on the opposite side)": "not reproduced (opposite side)",
    "not reproduced (interval on the opposite side, not after": "not reproduced",
    "not reproduced after Holm's correction": "not reproduced (Holm)",
    "not reproduced (a subset's mean": "not reproduced (a subset disagrees)",
    "not applicable (over-fitting": "not applicable (ratio 10 only)",
    "not applicable (the balanced control": "not applicable (control does not fit)",
    "not tested": "-",
}


def _short(verdict: str) -> str:
    if verdict.startswith("pending: "):
        return f"pending ({verdict.split()[1]} not finished)"
    return next((v for k, v in SHORT.items() if verdict.startswith(k)), verdict)


def cell(row: pd.Series, claim: claims.Claim) -> str:
    """One setting's result for one claim."""
    if row.n == 0:
        return _short(row.verdict)
    text = interval_text(Interval(row["mean"], row.ci_low, row.ci_high, int(row.n)), claim)
    holm = "" if math.isnan(row.holm_p) else f", {claims._p(row.holm_p)}"
    detectable = f", detectable {row.detectable:.2f}" if claim.column == "top1" else ""
    dagger = "\u2020" if row.verdict == "reproduced" and _subsets_cross(row, claim) else ""
    return f"{text}{holm}, {row.wins}/{row.n}{detectable}: {_short(row.verdict)}{dagger}"


def _subsets_cross(row: pd.Series, claim: claims.Claim) -> bool:
    """Whether the t-interval over the subset means includes the claim's null."""
    if row.subset_n < 2:
        return False
    return not (row.subset_low > claim.null or row.subset_high < claim.null)


def headline_table(long: pd.DataFrame, tested: list[claims.Claim]) -> pd.DataFrame:
    """Claim x setting, in the claims' order; a claim no setting tests is left out."""
    by_name = {c.name: c for c in tested}
    settings = setting_order(long.setting.tolist())
    rows = {}
    for name in dict.fromkeys(long.claim):
        found = long[long.claim == name].set_index("setting")
        if (found.n == 0).all() and found.verdict.str.startswith("not tested").all():
            continue
        rows[name] = {"measure": by_name[name].measure} | {
            setting_label(s): cell(found.loc[s], by_name[name]) if s in found.index else "-"
            for s in settings
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _markdown(table: pd.DataFrame, first: str) -> list[str]:
    header = f"| {first} | " + " | ".join(table.columns) + " |"
    rule = "|---" * (len(table.columns) + 1) + "|"
    return [
        header,
        rule,
        *("| " + " | ".join([name, *row]) + " |" for name, row in table.iterrows()),
    ]


def headline_markdown(
    long: pd.DataFrame, plateaued: pd.DataFrame, tested: list[claims.Claim], name: str
) -> str:
    """The claims table of analysis ``name``'s claims (``tested``), then the share of runs that
    plateaued per method and setting (``plateaued``: method x setting), as GitHub markdown
    titled by comment lines."""
    order = setting_order(list(plateaued.columns))
    share = plateaued[order].set_axis([setting_label(f) for f in order], axis=1)
    lines = [
        f"<!-- {TITLE.format(name=name)} -->",
        *_markdown(headline_table(long, tested), "the paper's claim"),
    ]
    lines += ["", f"<!-- {PLATEAU_TITLE} -->", *_markdown(share, "runs plateaued")]
    return "\n".join(lines) + "\n"
