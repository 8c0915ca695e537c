"""Snakemake's --config/--configfile overrides, made visible to the jobs that read params."""

from __future__ import annotations

from pathlib import Path

import yaml

from procrustean.config import DEFAULT_PARAMS, UniqueKeyLoader, validate_params
from procrustean.errors import UserError
from procrustean.fileio import atomic_path, sha256_json

OVERRIDE_DIR = Path(".snakemake/procrustean")


def written_params(path: str | Path = DEFAULT_PARAMS) -> dict:
    """params.yaml as written (no defaults filled), or a UserError saying why it cannot be read."""
    try:
        return yaml.load(Path(path).read_text(), Loader=UniqueKeyLoader)  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot be read ({exc.__class__.__name__}); fix it") from exc


def has_overrides(config: dict, path: str | Path = DEFAULT_PARAMS) -> bool:
    """Whether Snakemake's ``config`` differs from what params.yaml holds."""
    return config != written_params(path)


def effective_params_file(config: dict, path: str | Path = DEFAULT_PARAMS) -> str:
    """The params file the jobs must read: ``path`` itself when ``config`` (defaults filled) is
    what it holds, else a file under .snakemake/procrustean/ holding exactly the merged params,
    named by their digest so that each set of overrides has its own file."""
    if config == validate_params(written_params(path), str(path)):
        return str(path)
    target = OVERRIDE_DIR / f"params-{sha256_json(config)[:12]}.yaml"
    if not target.is_file():
        with atomic_path(target) as tmp:
            tmp.write_text(
                "# params.yaml merged with Snakemake's --config/--configfile overrides "
                "(written by the workflow; the jobs of that run read this file)\n"
                + yaml.safe_dump(config, sort_keys=False)
            )
    return str(target)
