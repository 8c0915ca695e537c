"""The sensitivity of the revised rules' top-1 verdicts: each test with each class left out
(top-1 on a balanced test set is the mean of the per-class accuracies, so leaving class c out is
the mean of the other nine; a class "decides" a verdict when leaving it out changes it), per
class group and per subset."""

from __future__ import annotations

import pandas as pd

from procrustean.report import claims, post_hoc, stats
from procrustean.report.family import (
    Judged,
    Test,
    _holm,
    _measured,
    _verdict,
    in_setting,
)
from procrustean.report.stats import Interval
from procrustean.report.tables import GROUP_ORDER

DECIDED = " (decided by class "  # the note a verdict one class decides carries


def _left_out(runs: pd.DataFrame, test: Test, c: int) -> pd.DataFrame:
    """The test's paired top-1 values with class ``c`` left out, with their subsets."""
    diff = post_hoc.paired_top1(runs, test.method, test.base, left_out=c)
    return diff.rename("value").reset_index()[["subset", "seed", "value"]]


def left_out_rows(frame: pd.DataFrame, i: int, test: Test, runs: pd.DataFrame) -> list[dict]:
    """Row ``i`` of its family (a top-1 test) with each class left out in turn: its interval,
    Holm's p with the new p in the family, verdict, and whether the verdict changes."""
    row = frame.loc[i]
    judged = str(row.verdict).split(DECIDED)[0]  # without a "decided by" note already added
    counted = frame.verdict.isna() | frame.verdict.fillna("").str.startswith("pending")
    counted |= frame.n > 0
    out = []
    for col in post_hoc.class_columns(runs):
        c = int(col[6:])
        alt = pd.Series(_measured(_left_out(runs, test, c), test.claim))
        p = frame.loc[counted, "p"].copy()
        p.loc[i] = alt.p
        alt["holm_p"] = dict(zip(p.index, _holm(p), strict=True))[i]
        verdict = _verdict(alt, test.claim)
        out.append(
            alt.to_dict() | {"left_out": c, "verdict": verdict, "decides": verdict != judged}
        )
    return out


def deciding_classes(frame: pd.DataFrame, tests: list[Test], tables: dict) -> list[str]:
    """Per row of a family: the classes whose leaving out changes a top-1 test's verdict (its
    interval, its Holm's p with the new p in the family, or the subset signs), as text."""
    out = []
    for i, row in frame.iterrows():
        test = tests[i]
        runs = tables.get(test.study)
        if test.column != "top1" or row.n == 0 or runs is None:
            out.append("-")
            continue
        rows = left_out_rows(frame, i, test, in_setting(runs, test))
        out.append(" ".join(str(r["left_out"]) for r in rows if r["decides"]) or "none")
    return out


def deciding(judged: list[Judged], tables: dict[str, pd.DataFrame]) -> dict:
    """Per judged top-1 test that one class decides, (study, setting, claim) -> class -> its verdict
    without that class."""
    out = {}
    for j in judged:
        for i, test, row in j.top1():
            if row.n == 0 or str(row.get("decided_by", "-")) in ("-", "none"):
                continue
            rows = left_out_rows(j.frame, i, test, in_setting(tables[test.study], test))
            out[(test.study, test.setting, row.claim)] = {
                str(r["left_out"]): r["verdict"] for r in rows if r["decides"]
            }
    return out


def group_rows(runs: pd.DataFrame, test: Test) -> list[dict]:
    """A top-1 test's paired effect on each class group's test accuracy the setting has."""
    out = []
    family = test.setting
    for group in GROUP_ORDER:
        column = f"group_{group}"
        if column not in runs or runs.loc[runs.family == family, column].isna().all():
            continue
        claim = claims.Claim(group, "", column, test.method, test.base, True)
        found = claims.claim_values(runs, family, claim)
        out.append(_measured(found, claim) | {"group": group})
    return out


def subset_rows(runs: pd.DataFrame, test: Test) -> pd.DataFrame:
    """A top-1 test's mean paired effect in each subset: on top-1 and on each class group, with
    the subset's bottom classes (its minors, or its few group) and its pairs."""
    family = test.setting
    mine = runs[runs.family == family]
    columns = ["top1", *(f"group_{g}" for g in GROUP_ORDER if f"group_{g}" in mine)]
    columns = [c for c in columns if not mine[c].isna().all()]
    rows = []
    for subset, own in mine.groupby("subset"):
        effects = {c: stats.paired(own, test.method, test.base, c)["diff"] for c in columns}
        bottom = own.loc[own.method == test.base, "bottom_classes"].iloc[0]
        row = {"subset": subset, "bottom classes": str(bottom), "pairs": len(effects["top1"])}
        for column, diff in effects.items():
            row["top-1" if column == "top1" else column[6:]] = f"{diff.mean():+.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def _families_text(judged: list[Judged]) -> str:
    names = [j.family.name for j in judged if j.top1()]
    return ("family " if len(names) == 1 else "families ") + " and ".join(names)


ALL = ("groups", "subsets", "classes")


def sensitivity_markdown(
    judged: list[Judged], tables: dict[str, pd.DataFrame], views: tuple[str, ...] = ALL
) -> str:
    """Per judged top-1 test, the ``views`` the analysis asks for: its effect on each class
    group, its mean in each subset, the test with each class left out (interval, Holm's p in
    its family, verdict, whether it decides)."""
    parts = [
        "# Sensitivity of the top-1 verdicts: per class group, per subset, and with "
        "each class left out (top-1 on the balanced test set is the mean of the per-class "
        "accuracies, so leaving a class out is the mean of the other nine); mean [95% "
        f"t-interval] over pairs, Holm's p with the new p in {_families_text(judged)}, wins/n"
    ]
    for j in judged:
        for i, test, row in j.top1():
            head = f"## {test.study}: {row.claim}"
            if row.n == 0:
                parts += [head, str(row.verdict)]
                continue
            runs = tables[test.study]
            groups = pd.DataFrame(group_rows(runs, test))
            groups["interval"] = [_interval_text(r) for _, r in groups.iterrows()]
            groups["wins"] = [f"{int(r.wins)}/{int(r.n)}" for _, r in groups.iterrows()]
            left = pd.DataFrame(left_out_rows(j.frame, i, test, in_setting(runs, test)))
            left["interval"] = [_interval_text(r) for _, r in left.iterrows()]
            left["wins"] = [f"{int(r.wins)}/{int(r.n)}" for _, r in left.iterrows()]
            left["decides"] = left.decides.map({True: "yes", False: "no"})
            all_classes = (
                f"all classes: {_interval_text(row)}, Holm's p {row.holm_p:.3g}: {row.verdict}"
            )
            shown = {
                "groups": [
                    groups[["group", "interval", "wins", "p"]].to_markdown(
                        index=False, floatfmt=".3g"
                    )
                ],
                "subsets": [
                    "Per subset (mean of its pairs):",
                    subset_rows(runs, test).to_markdown(index=False, disable_numparse=True),
                ],
                "classes": [
                    left[
                        ["left_out", "interval", "holm_p", "wins", "verdict", "decides"]
                    ].to_markdown(index=False, floatfmt=".3g")
                ],
            }
            parts += [head, f"{row.setting}; {all_classes}"]
            parts += [text for view in ALL if view in views for text in shown[view]]
    return "\n\n".join(parts) + "\n"


def _interval_text(row: pd.Series) -> str:
    return Interval(row["mean"], row.ci_low, row.ci_high, int(row.n)).text(2, signed=True)


def with_deciding(judged: Judged, tables: dict[str, pd.DataFrame]) -> Judged:
    """The family with, for each top-1 test, the classes that decide its verdict (a note on
    the verdict where any does)."""
    frame = judged.frame
    if any(t.column == "top1" for t in judged.tests):
        frame["decided_by"] = deciding_classes(frame, judged.tests, tables)
        for i, row in frame.iterrows():
            if row.decided_by not in ("-", "none"):
                frame.loc[i, "verdict"] = f"{row.verdict}{DECIDED}{row.decided_by})"
    return judged
