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
from procrustean.fileio import sha256_file, sha256_json, write_json

PROV_SUFFIX = ".prov.json"
CODE_PATHS = ("src", "workflow", "Snakefile", "dvc.yaml", "params.yaml", "pyproject.toml")


def prov_path(output: str | os.PathLike) -> Path:
    """Where the provenance record of ``output`` lives."""
    return Path(f"{output}{PROV_SUFFIX}")


def now() -> str:
    """UTC timestamp, ISO 8601."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@cache
def code_version() -> dict[str, Any]:
    """Git commit of the code and whether its tracked code paths have uncommitted edits."""
    root = Path(__file__).resolve().parents[2]
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
        "outputs": hash_inputs(outputs),
        **stable,
        "device": device,
        "host": platform.node(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "start": started,
        "end": now(),
    }
    path = prov_path(outputs[0])
    write_json(path, record)
    return path
