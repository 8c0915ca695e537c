"""Snakemake's --config/--configfile overrides, made visible to the jobs that read params."""

from __future__ import annotations

from pathlib import Path

import yaml

from procrustean.config import DEFAULT_PARAMS, read_yaml
from procrustean.fileio import atomic_path, sha256_json

OVERRIDE_DIR = Path(".snakemake/procrustean")


def written_params(path: str | Path = DEFAULT_PARAMS) -> dict:
    """params.yaml as written (no defaults filled); a UserError naming the line of a YAML error."""
    return read_yaml(path)


def typed_overrides(config: dict, written: dict) -> dict:
    """``config`` with Snakemake's --config strings given their YAML type where params.yaml does
    not hold a string there: ``--config recipes="{smoke: {epochs: 4}}"`` arrives as '4' and
    means 4. A string that params.yaml holds as a string (a description) stays one."""

    def fix(value: object, was: object) -> object:
        if isinstance(value, dict):
            old = was if isinstance(was, dict) else {}
            return {k: fix(v, old.get(k)) for k, v in value.items()}
        if isinstance(value, list):
            old = was if isinstance(was, list) else []
            return [fix(v, old[i] if i < len(old) else None) for i, v in enumerate(value)]
        if isinstance(value, str) and not isinstance(was, str):
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                return value
            if isinstance(parsed, str):  # YAML 1.1 reads 1e-2 as a string; Python does not
                try:
                    return float(parsed)
                except ValueError:
                    return value
            return parsed if isinstance(parsed, int | float | bool | list | dict) else value
        return value

    return fix(config, written)


def effective_params_file(config: dict, overridden: bool, path: str | Path = DEFAULT_PARAMS) -> str:
    """The params file the jobs must read: ``path`` itself when Snakemake's ``config`` is what it
    holds (``overridden`` False: no --config/--configfile), else a file under
    .snakemake/procrustean/ holding exactly the merged params (``config``, defaults filled),
    named by their digest so that each set of overrides has its own file."""
    if not overridden:
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
