"""The resolved params a design's stage records: the confirmation verdicts and the paper-count
tables, which judge several studies together.

The stage writes them in its provenance record; the staleness rule (procrustean.checks.freshness)
computes them from the current params and compares, as procrustean.stage_params does for a
study's stages; dvc.yaml's params of the stage name the same entries (``dvc_params``). Kept
apart from that module so that the studies' stage code does not include it.
"""

from __future__ import annotations

from procrustean.entries import Params
from procrustean.verdict_files import CURVE_BASE

DESIGN_KEY = {"verdicts": "confirmation", "paper-counts": "paper_counts"}  # params.yaml's block


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


def verdicts_params(params: Params, studies: tuple[str, ...] | None = None) -> dict:
    """The confirmation verdicts: the design, the entries of the studies judged (default: the
    design's finished ones) and of those still pending, and the recipes and datasets they read."""
    plan = params.confirmation
    if plan is None:
        return {}
    studies = plan.finished if studies is None else studies
    pending = tuple(s for s in plan.pending if s not in studies)
    return {
        **plan.record(),
        "studies": {s: params.study(s).record()[s] for s in studies},
        "pending": {s: params.study(s).record()[s] for s in pending},
        **_entries(params, studies, pending),
    }


def paper_counts_params(params: Params) -> dict:
    """The paper-count tables: the design, its finished studies, the entries of its studies and
    of the curve's base study with the recipes and datasets they read, and the datasets of the
    confirmation studies (the grid's other columns)."""
    design = params.paper_counts
    if design is None:
        return {}
    studies = (*design.studies, CURVE_BASE)
    confirmed = params.confirmation.studies if params.confirmation else ()
    return {
        "studies": {s: params.study(s).record()[s] for s in studies},
        "design": design.record()["paper_counts"],
        "finished": sorted(design.finished),
        **_entries(params, studies, confirmed),
    }


def recorded_params(params: Params, name: str) -> dict:
    """What the design stage ``name`` (verdicts, paper-counts) records of ``params``."""
    return verdicts_params(params) if name == "verdicts" else paper_counts_params(params)


def dvc_params(params: Params, name: str) -> list[str]:
    """dvc.yaml's params of the design stage ``name``: the params.yaml keys of every entry its
    record holds, so that DVC re-runs it exactly when the record would change."""
    record = recorded_params(params, name)
    studies = dict.fromkeys([*record.get("studies", {}), *record.get("pending", {})])
    return [
        DESIGN_KEY[name],
        *(f"studies.{s}" for s in studies),
        *(f"recipes.{r}" for r in record.get("recipes", {})),
        *(f"datasets.{d}" for d in record.get("datasets", {})),
    ]
