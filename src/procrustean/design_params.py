"""The resolved params a judge stage records: the analysis file's content (defaults filled) and
the params entries of the studies it judges, with the recipes and datasets their tables read.

The stage writes them in its provenance record; the staleness rule (procrustean.checks.freshness)
computes them from the current files and compares, as procrustean.stage_params does for a
study's stages; dvc.yaml's params of the stage name the same entries (``dvc_params``). Kept
apart from that module so that the studies' stage code does not include it.
"""

from __future__ import annotations

from procrustean.analyses import Analysis, load
from procrustean.entries import Params

PRESENTATION = ("readme",)  # keys of an analysis file that change no verdict


def _entries(params: Params, studies: tuple[str, ...], also_datasets_of=()) -> dict:
    """The recipe and dataset entries the tables of ``studies`` read (recipes: the last decay,
    the diagnostic set; datasets: the image counts), and those of ``also_datasets_of``'s
    datasets (the grid's column heads)."""
    specs = [params.study(s) for s in studies]
    recipes = dict.fromkeys(spec.recipe for spec in specs)
    datasets = dict.fromkeys(
        d for s in (*studies, *also_datasets_of) for d in params.study(s).datasets
    )
    return {
        "recipes": {r: params.recipe(r).record()[r] for r in recipes},
        "datasets": {d: params.dataset(d).record()[d] for d in datasets},
    }


def judge_params(params: Params, analysis: Analysis) -> dict:
    """What judging ``analysis`` records: the file as read, its finished studies, the entries
    of all its studies, and the recipes and datasets they read (with the datasets of the
    analyses its grid joins, whose column heads name their image counts)."""
    joined = tuple(s for other in analysis.grid_with for s in load(other, params).studies)
    return {
        "analysis": {k: v for k, v in analysis.resolved.items() if k not in PRESENTATION},
        "finished": list(analysis.finished),
        "studies": {s: params.study(s).record()[s] for s in analysis.studies},
        **_entries(params, analysis.studies, joined),
    }


def dvc_params(params: Params, analysis: Analysis) -> list[str]:
    """dvc.yaml's params of the judge stage: the params.yaml keys of every entry its record
    holds, so that DVC re-runs it exactly when the record would change (the analysis file
    itself is a dependency)."""
    record = judge_params(params, analysis)
    return [
        *(f"studies.{s}" for s in record["studies"]),
        *(f"recipes.{r}" for r in record["recipes"]),
        *(f"datasets.{d}" for d in record["datasets"]),
    ]
