"""Stage entry points shared by the CLI: each reads params, does its work, writes atomically."""

from __future__ import annotations

from procrustean.config import load_params, lookup, minor_fraction
from procrustean.data.split import make_split, summarize
from procrustean.errors import UserError
from procrustean.fileio import write_json
from procrustean.lineage import now, stable_record, write_provenance


def parse_ratio(value: str | int | float) -> int:
    """An imbalance ratio from the command line: an integer >= 1."""
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise UserError(
            f"--ratio: '{value}' is not a number; give the imbalance ratio n_max/n_min, "
            "e.g. --ratio 100"
        ) from None
    if not ratio >= 1 or ratio != int(ratio):
        raise UserError(f"--ratio: {value} must be a whole number >= 1 (n_max/n_min), e.g. 100")
    return int(ratio)


def run_split(
    params_path: str, study: str, dataset: str, profile: str, ratio: str, out: str, summary: str
) -> dict:
    """``procrustean split``: write the split file, its summary and provenance."""
    started = now()
    params = load_params(params_path)
    lookup(params, "studies", study)
    cfg = lookup(params, "datasets", dataset)
    split = make_split(dataset, cfg, profile, parse_ratio(ratio), minor_fraction(params, study))
    write_json(out, split)
    write_json(summary, summarize(split))
    resolved = {
        "dataset": {dataset: cfg},
        "profile": profile,
        "ratio": split["ratio"],
        "minor_fraction": split["minor_fraction"],
    }
    stable = stable_record(resolved, dict(split["source_files"]), seed=cfg["seed"])
    write_provenance("split", [out, summary], stable, started)
    return split
