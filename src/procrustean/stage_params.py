"""The resolved params each stage records: one function per stage.

A stage writes these in its provenance record; the staleness rule (procrustean.freshness)
computes them from the current params and compares. One function serves both, so the two can
never disagree about what a stage's params are.
"""

from __future__ import annotations

from procrustean.config import lookup, minor_fraction, with_defaults


def split_params(params: dict, study: str, dataset: str, profile: str, ratio: int) -> dict:
    """An imbalanced split: its dataset entry, profile, ratio and the study's minor fraction."""
    return {
        "dataset": {dataset: lookup(params, "datasets", dataset)},
        "profile": profile,
        "ratio": int(ratio),
        "minor_fraction": minor_fraction(params, study),
    }


def run_params(
    dataset: tuple[str, dict],
    recipe: tuple[str, dict],
    method: tuple[str, dict],
    seed: int,
) -> dict:
    """A training run: its (name, entry) for dataset, recipe and method, defaults filled, and
    its seed."""
    return {
        "dataset": {dataset[0]: with_defaults("dataset", dataset[1])},
        "recipe": {recipe[0]: with_defaults("recipe", recipe[1])},
        "method": {method[0]: with_defaults("method", method[1])},
        "seed": seed,
    }


def train_params(params: dict, study: str, dataset: str, method: str, seed: int) -> dict:
    """A training run of ``study``, looked up in ``params``."""
    recipe = lookup(params, "studies", study)["recipe"]
    return run_params(
        (dataset, lookup(params, "datasets", dataset)),
        (recipe, lookup(params, "recipes", recipe)),
        (method, lookup(params, "methods", method)),
        seed,
    )


def evaluate_params(params: dict, dataset: str) -> dict:
    """An evaluation: the dataset entry (its test set)."""
    return {"dataset": {dataset: lookup(params, "datasets", dataset)}}


def report_params(params: dict, study: str) -> dict:
    """A study's report: the study entry."""
    return {"study": {study: lookup(params, "studies", study)}}
