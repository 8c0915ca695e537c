"""The resolved params each stage records: one function per stage.

A stage writes these in its provenance record; the staleness rule (procrustean.checks.freshness)
computes them from the current params and compares. One function serves both, so the two can
never disagree about what a stage's params are.
"""

from __future__ import annotations

from procrustean.entries import Dataset, Method, Params, Recipe, Study


def split_params(dataset: Dataset, study: Study, profile: str, ratio: int) -> dict:
    """An imbalanced split: its dataset entry, profile, ratio and the study's minor fraction."""
    return {
        "dataset": dataset.record(),
        "profile": profile,
        "ratio": int(ratio),
        "minor_fraction": float(study.minor_fraction),
    }


def run_params(dataset: Dataset, recipe: Recipe, method: Method, seed: int) -> dict:
    """A training run: its resolved dataset, recipe and method entries, and its seed."""
    return {
        "dataset": dataset.record(),
        "recipe": recipe.record(),
        "method": method.record(),
        "seed": seed,
    }


def train_params(params: Params, study: str, dataset: str, method: str, seed: int) -> dict:
    """A training run of ``study``, looked up in ``params``."""
    return run_params(
        params.dataset(dataset), params.study_recipe(study), params.method(method), seed
    )


def evaluate_params(dataset: Dataset) -> dict:
    """An evaluation: the dataset entry (its test set)."""
    return {"dataset": dataset.record()}


def report_params(study: Study) -> dict:
    """A study's report: the study entry."""
    return {"study": study.record()}
