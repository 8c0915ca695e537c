"""Provenance records: what each output was made from, and by which code, params and machine."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from procrustean import __version__
from procrustean.fileio import pending, sha256_file, sha256_json, write_json

PROV_SUFFIX = ".prov.json"
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]
SCHEMA_FILE = REPO_ROOT / "workflow" / "schemas" / "params.schema.yaml"
CODE_PATHS = ("src", "workflow", "Snakefile", "dvc.yaml", "params.yaml", "pyproject.toml")


_params_file = ["params.yaml"]


def set_params_file(path: str) -> None:
    """Name the params file this process's stages read (recorded in their provenance)."""
    _params_file[0] = str(path)


def prov_path(output: str | os.PathLike) -> Path:
    """Where the provenance record of ``output`` lives."""
    return Path(f"{output}{PROV_SUFFIX}")


def now() -> str:
    """UTC timestamp, ISO 8601."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@cache
def code_version() -> dict[str, Any]:
    """Git commit of the code and whether its tracked code paths have uncommitted edits."""
    root = REPO_ROOT
    info: dict[str, Any] = {"package": __version__, "git_commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", *CODE_PATHS],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        info.update(git_commit=commit, dirty=bool(status.strip()))
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _code_key(path: Path) -> str:
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


# Modules that drive stages or keep books but never shape an output's content.
NOT_STAGE_CODE = frozenset(
    {"cli", "__main__", "after_run", "audit", "compare", "dvcsync", "overrides", "progress"}
    | {"placement", "scalars", "status", "validation", "verify"}
)


def loaded_code_files() -> dict[str, str]:
    """sha256 of every procrustean source file this process has imported that shapes outputs,
    and of the params schema (its defaults are code): what a stage ran, for flagging outputs
    made by code that has changed since."""
    files = {SCHEMA_FILE}
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if not origin or name.rsplit(".", 1)[-1] in NOT_STAGE_CODE:
            continue
        if Path(origin).resolve().is_relative_to(PACKAGE_DIR):
            files.add(Path(origin).resolve())
    return {_code_key(p): sha256_file(p) for p in sorted(files) if p.is_file()}


def current_code_hash(key: str) -> str | None:
    """sha256 of a recorded code file as it is in this tree now (None if it is gone)."""
    path = REPO_ROOT / key
    return sha256_file(path) if path.is_file() else None


@cache
def software() -> dict[str, str]:
    """Python, torch and torchvision versions and the platform."""
    import torch
    import torchvision

    return {
        "python": sys.version.split()[0],
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "platform": platform.platform(),
    }


def stable_record(params: dict, inputs: dict[str, str], seed: int | None = None) -> dict[str, Any]:
    """The part of a provenance record that is a function of the inputs (no times, no host)."""
    return {
        "inputs": inputs,
        "params": params,
        "params_sha256": sha256_json(params),
        "seed": seed,
        "code": code_version(),
        "software": software(),
    }


def content_identity(stable: dict[str, Any]) -> dict[str, Any]:
    """What made an artefact's content (inputs, resolved params, seed, library versions), without
    the commit or machine that happened to write it: embedded in checkpoints, so a re-derivation
    at another commit or on another machine of the same kind gives the same bytes."""
    software_versions = {k: v for k, v in stable["software"].items() if k != "platform"}
    return {
        "inputs": stable["inputs"],
        "params": stable["params"],
        "params_sha256": stable["params_sha256"],
        "seed": stable["seed"],
        "software": software_versions,
    }


def hash_inputs(paths: list[str | os.PathLike]) -> dict[str, str]:
    """sha256 of each input file, keyed by its path as given."""
    return {str(p): sha256_file(p) for p in paths}


def write_provenance(
    stage: str,
    outputs: list[str | os.PathLike],
    stable: dict[str, Any],
    started: str,
    device: str = "cpu",
) -> Path:
    """Write the provenance record of a stage beside its first output."""
    record = {
        "stage": stage,
        "outputs": {str(p): sha256_file(pending(p)) for p in outputs},
        **stable,
        "device": device,
        "host": platform.node(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "start": started,
        "end": now(),
    }
    record["code_files"] = loaded_code_files()
    record["params_file"] = _params_file[0]
    path = prov_path(outputs[0])
    write_json(path, record)
    return path
