"""DVC's view of the content rule: one key file per stage group under results/<study>/config/.

A key file holds what procrustean.checks.freshness compares besides files: the params a stage records
and the sha256 of its code. DVC's stages depend on their key file, so dvc.lock changes exactly
when the content rule's params or code change, and DVC's answer to "is it up to date?" is the
one Snakemake and `procrustean status` give. One run-config stage per study writes them: it
validates params.yaml first (every other stage of the study depends on its output, so bad
params are refused before any other stage of the study runs; where DVC skips it as unchanged,
the first stage that runs refuses, and dvc.yaml's outputs persist, so nothing is removed) and
rewrites only the files whose content changed, so an edit re-runs exactly the stages it touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from procrustean.checks.freshness import stage_key, study_stages
from procrustean.entries import Params
from procrustean.fileio import canonical_json, write_json
from procrustean.paths import run_config_dir


@dataclass
class Written:
    """What one call changed on disk."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def study_keys(params: Params, study: str) -> dict[str, dict]:
    """Key-file path -> content, for every stage group of ``study`` (stages that share a key,
    such as one method's training runs across seeds and settings, share the file)."""
    params.study(study)
    keys: dict[str, dict] = {}
    for stage in study_stages(params, study).values():
        key = stage_key(stage)
        if stage.kind == "train":  # the file is per dataset and method: seeds differ
            key["params"] = {k: v for k, v in key["params"].items() if k != "seed"}
        keys.setdefault(stage.key, key)
    return keys


def write_run_configs(params: Params, study: str) -> Written:
    """Write the study's key files (atomically, and only those whose content changed, so
    unchanged files keep their bytes and times); remove key files the study no longer has."""
    result = Written()
    wanted = study_keys(params, study)
    for path, content in wanted.items():
        target = Path(path)
        if target.is_file() and target.read_text() == canonical_json(content):
            result.unchanged.append(path)
            continue
        write_json(target, content)
        result.written.append(path)
    root = Path(run_config_dir(study))
    for stale in sorted(root.rglob("*.json")):
        if stale.as_posix() not in wanted:
            stale.unlink()
            result.removed.append(stale.as_posix())
    for folder in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return result
