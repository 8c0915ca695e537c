"""The revised rule set (registered for the paper-count studies before their runs;
docs/evidence.md): each test of the analysis in its own study.

- Every family is corrected on its own (Holm); a pending study's tests, and tests waiting for a
  pending control, read "pending" and count as p = 1. Reproduced: the 95% t-interval on the
  claimed side, Holm's p < 0.05 and the mean on the claimed side in each subset.
- Each top-1 test carries its per-class sensitivity (the class whose leaving out moves the
  interval to another side of 0 "decides" it) and the share of its runs that plateaued after the
  last decay.
- Against the balanced control: minor-to-major on the same classes (not a fixed 0.5), and
  over-fitting judged wherever its premise holds (every paired balanced ce run fits the
  imbalanced run's bottom classes).
- The curve: method - base on top-1 and the minor group over the minors' image count.

A study is judged once the analysis's ``pending`` no longer names it (its runs table must then
hold every run of its grid). A per-class and per-group sensitivity table, the plateau check run
by run, and the claim x setting grid (``report.grid``) sit beside the verdicts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from procrustean import verdict_files
from procrustean.analyses import Analysis, Family
from procrustean.config import study_runs
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.report import grid, plateau, views
from procrustean.report.family import Data, Judged, measure_family, study_settings
from procrustean.report.sensitivity import deciding, sensitivity_markdown, with_deciding

COLUMNS = (  # verdicts.csv's columns, in order
    "study",
    "claim",
    "measure",
    "setting",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "p",
    "wilcoxon_p",
    "wins",
    "detectable",
    "subsets_agree",
    "subsets_cross",
    "plateaued",
    "holm_p",
    "verdict",
    "decided_by",
    "family",
    "premise",
)


def finished(params: Params, analysis: Analysis, tables: dict[str, pd.DataFrame]) -> set[str]:
    """The analysis's finished studies; a UserError when a finished study's runs table lacks a
    run (setting, method, seed) of its grid."""
    for study in analysis.finished:
        present = set()
        if study in tables:
            runs = tables[study]
            present = set(zip(runs.setting, runs.method, runs.seed, strict=True))
        wanted = {(r.setting.name, r.method, r.seed) for r in study_runs(params, study)}
        if not wanted <= present:
            raise UserError(
                f"{analysis.path}: {study} is not pending but "
                f"{verdict_files.runs_path(study)} lacks {len(wanted - present)} of its "
                f"{len(wanted)} runs; make its report or put it back under pending:"
            )
    return set(analysis.finished)


def windows_of(params: Params, studies: tuple[str, ...]) -> dict[str, plateau.Window]:
    """Each study's plateau window from its recipe: the last decay, the diagnostic images a
    class and where deferred re-weighting starts (None when the recipe sets no DRW epoch)."""
    out = {}
    for study in studies:
        recipe = params.study_recipe(study)
        last_decay = max(e for e, _ in recipe.lr_decays)
        out[study] = plateau.Window(
            last_decay, recipe.diagnostic_per_class, recipe.drw_epoch or None
        )
    return out


def judge_family(data: Data, family: Family, classes: bool = True) -> Judged:
    """A family judged by the revised rules: its tests measured and Holm-corrected
    (``family.measure_family``), each top-1 test with the classes that decide it (unless the
    analysis asks for no per-class sensitivity, ``classes``)."""
    judged = measure_family(data, family)
    return with_deciding(judged, data.tables) if classes else judged


REGIME_COLUMNS = (
    "study",
    "setting",
    "ce runs",
    "bottom group",
    "its final clean training accuracy, mean [range]",
    "lowest class (mean)",
    "runs that fit every class",
    "regime",
)


def regime_rows(analysis: Analysis, data: Data) -> pd.DataFrame:
    """Per imbalanced setting of each finished study: the regime its ce runs ended in (final
    clean training accuracy on the bottom group: mean and range over runs; the lowest class,
    mean over runs; the runs that fit every class by the analysis's ``fit`` criterion)."""
    fit = analysis.fit or {}
    rows = []
    for study in analysis.studies:
        if study not in data.done:
            continue
        curves = data.curves[study]
        ce = curves[(curves.method == "ce") & (curves.group != "")]
        for setting in study_settings(data.params, study):
            mine = ce[ce.family == setting]
            if mine.empty:
                continue
            last = mine[mine.epoch == mine.groupby(["setting", "seed"]).epoch.transform("max")]
            bottom = "minor" if "minor" in set(last.group) else "few"
            per_run = last.groupby(["setting", "seed"])
            group = last[last.group == bottom].groupby(["setting", "seed"]).train_acc.mean()
            lowest = per_run.train_acc.min()
            fits = int((lowest >= fit.get("accuracy", 1.0)).sum())
            share = fits / len(lowest)
            rows.append(
                {
                    "study": study,
                    "setting": setting,
                    "ce runs": len(lowest),
                    "bottom group": bottom,
                    "its final clean training accuracy, mean [range]": (
                        f"{group.mean():.3f} [{group.min():.3f}, {group.max():.3f}]"
                    ),
                    "lowest class (mean)": f"{lowest.mean():.3f}",
                    "runs that fit every class": f"{fits}/{len(lowest)}",
                    "regime": "fit" if share >= fit.get("share", 1.0) else "under-fit",
                }
            )
    return pd.DataFrame(rows, columns=REGIME_COLUMNS)


def read_tables(studies: tuple[str, ...]) -> tuple[dict, dict, list[str]]:
    """The runs and curves tables of ``studies`` that exist, and the files read."""
    runs, curves, read = {}, {}, []
    for study in studies:
        paths = (verdict_files.runs_path(study), verdict_files.curves_path(study))
        if all(Path(p).is_file() for p in paths):
            runs[study], curves[study] = pd.read_csv(paths[0]), pd.read_csv(paths[1])
            read += list(paths)
    return runs, curves, read


def judge(
    params: Params, analysis: Analysis, others: dict[str, tuple[Analysis, pd.DataFrame]]
) -> tuple[list[str], list[str]]:
    """Judge the analysis's finished studies, the rest pending: the verdicts (md, csv), their
    sensitivity, their runs' plateau check and the claim x setting grid (with the verdicts of
    ``others``: name -> (analysis, its long verdicts), its ``grid_with``), as texts in
    ``verdict_files.outputs`` order, and the files read."""
    runs, curves, read = read_tables(analysis.finished)
    done = finished(params, analysis, runs)
    windows = windows_of(params, analysis.studies)
    data = Data(
        params,
        runs,
        curves,
        done,
        analysis.controls,
        {s: (w.last_decay, w.per_class) for s, w in windows.items()},
    )
    classes = "classes" in analysis.sensitivity
    judged = [judge_family(data, family, classes) for family in analysis.families]
    points = views.curve(params, analysis, runs, done) if analysis.curve else None
    long = pd.concat([j.frame.assign(family=j.family.name) for j in judged], ignore_index=True)
    long = long.reindex(columns=[c for c in COLUMNS if c in long])
    regime = regime_rows(analysis, data) if analysis.fit else None
    texts = [
        views.markdown(analysis, judged, points, regime),
        long.to_csv(index=False),
        sensitivity_markdown(judged, runs, analysis.sensitivity),
        views.plateau_markdown(judged, curves, windows)
        if analysis.plateau
        else "# Plateau: not asked (plateau: false in the analysis file)\n",
        *([regime.to_csv(index=False)] if regime is not None else []),
        grid.grid_markdown(params, others, long, deciding(judged, runs) if classes else None),
    ]
    return texts, read
