"""Each training run's params entries as a small file under results/<study>/config/.

DVC's train stages depend on these files instead of on params.yaml entries: DVC re-parses
params.yaml once per params dependency, which at paper scale (384 training stages) was half of
every `dvc status`. One run-config stage per study reads params.yaml once and rewrites only the
files whose entries changed, so an edit still re-runs exactly the runs it touches. Training
never imports this module: it reads params.yaml itself, and these files only tell DVC when to
re-run it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from procrustean.config import lookup
from procrustean.errors import UserError
from procrustean.fileio import canonical_json, write_json
from procrustean.paths import run_config_dir, run_config_path


def run_entries(params: dict, study: str, dataset: str, method: str) -> dict:
    """The params entries a training run of ``study`` reads: its dataset, its study's recipe
    (under the recipe's name) and its method. Snakemake's rerun trigger for the run, and the
    content of its run-config file, DVC's dependency for it."""
    recipe = lookup(params, "studies", study)["recipe"]
    return {
        "dataset": lookup(params, "datasets", dataset),
        "recipe": {recipe: lookup(params, "recipes", recipe)},
        "method": lookup(params, "methods", method),
    }


@dataclass
class Written:
    """What one call changed on disk."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def study_run_configs(
    params: dict, study: str, dataset: str | None = None, method: str | None = None
) -> dict[str, dict]:
    """Run-config path -> entries, for every (dataset, method) of ``study`` or the one named."""
    entry = lookup(params, "studies", study)
    for name, kind, known in (
        (dataset, "dataset", entry["datasets"]),
        (method, "method", entry["methods"]),
    ):
        if name is not None and name not in known:
            raise UserError(
                f"{kind} '{name}' is not in study '{study}' (its {kind}s: {', '.join(known)}); "
                f"add it to studies.{study}.{kind}s in params.yaml"
            )
    datasets = [dataset] if dataset is not None else entry["datasets"]
    methods = [method] if method is not None else entry["methods"]
    return {
        run_config_path(study, d, m): run_entries(params, study, d, m)
        for d in datasets
        for m in methods
    }


def write_run_configs(
    params: dict, study: str, dataset: str | None = None, method: str | None = None
) -> Written:
    """Write the run-config files (atomically, and only those whose content changed, so that
    unchanged files keep their bytes and times). For the whole study, also remove files of
    datasets or methods the study no longer has."""
    result = Written()
    wanted = study_run_configs(params, study, dataset, method)
    for path, entries in wanted.items():
        target = Path(path)
        if target.is_file() and target.read_text() == canonical_json(entries):
            result.unchanged.append(path)
            continue
        write_json(target, entries)
        result.written.append(path)
    if dataset is None and method is None:
        root = Path(run_config_dir(study))
        for stale in sorted(root.glob("*/*.json")):
            if stale.as_posix() not in wanted:
                stale.unlink()
                result.removed.append(stale.as_posix())
        for folder in sorted(root.glob("*/")):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    return result
