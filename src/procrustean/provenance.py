"""Provenance records: what each output was made from, and by which code, params and machine.

Every stage writes one beside its first output (``<output>.prov.json``); the checks package reads
them (audit, status, compare, verify).
"""

from __future__ import annotations

import ast
import datetime as dt
import os
import platform
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from procrustean import __version__, cpu_mode
from procrustean.config import ANALYSIS_SCHEMA_PATH as ANALYSIS_SCHEMA_FILE
from procrustean.config import REPO_ROOT
from procrustean.config import SCHEMA_PATH as SCHEMA_FILE
from procrustean.fileio import pending, sha256_file, sha256_json, write_json
from procrustean.paths import PROV as PROV_SUFFIX

PACKAGE_DIR = Path(__file__).resolve().parent
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


# Packages that drive stages, keep books or talk to the user but never shape an output's content:
# a stage's code is what its entry module imports outside them (tests/project/test_layout.py checks that
# no stage imports them).
NOT_STAGE_CODE = ("procrustean.checks", "procrustean.engines", "procrustean.ui")
# The module each stage runs (the CLI calls it); its imports are the stage's code.
STAGE_ENTRY = {
    "split": "procrustean.data.split",
    "train": "procrustean.train",
    "evaluate": "procrustean.evaluate",
    "report": "procrustean.report.build",
    "judge": "procrustean.report.judge",
}
# Files beside the modules that shape a stage's outputs: the params schema for every stage (its
# defaults are code), and the analysis schema for judge (its defaults too).
EXTRA_CODE = {"judge": (ANALYSIS_SCHEMA_FILE,)}


def is_stage_code(module: str) -> bool:
    """Whether ``module`` (a procrustean module's dotted name) can shape a stage's outputs."""
    return not any(module == w or module.startswith(f"{w}.") for w in NOT_STAGE_CODE)


def _module_file(name: str) -> Path | None:
    """The source file of a procrustean module or package (None outside the package)."""
    parts = name.split(".")
    if parts[0] != "procrustean":
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(name: str, path: Path) -> set[str]:
    """procrustean modules ``path`` imports anywhere (top level or inside functions), and the
    packages above ``name`` (importing a module runs their __init__)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)  # submodules, if any
    return {m for m in found if _module_file(m) is not None}


@cache
def stage_code_files(stage: str) -> tuple[Path, ...]:
    """The source files a stage runs: every procrustean module its entry module imports,
    directly or through others, read from the source (so the answer is known before the stage
    runs), outside the packages that only drive stages or keep books; plus the params schema
    (its defaults are code)."""
    todo, seen = [STAGE_ENTRY[stage]], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is not None and is_stage_code(name):
            todo += sorted(_imported_modules(name, path) - seen)
    files = {_module_file(m) for m in seen if is_stage_code(m)} - {None}
    return tuple(sorted({*files, SCHEMA_FILE, *EXTRA_CODE.get(stage, ())}))  # type: ignore[arg-type]


def stage_code_hashes(stage: str) -> dict[str, str]:
    """sha256 of each source file of ``stage`` as this tree has it now."""
    return {_code_key(p): _hash_cached(p) for p in stage_code_files(stage)}


def pin_code(stage: str) -> None:
    """Hash the stage's code now, at its start: its record then names the code this process
    loaded, even when the source files change while it runs (the hashes are kept)."""
    stage_code_hashes(stage)


@cache
def _hash_cached(path: Path) -> str:
    return sha256_file(path)


def current_code_hash(key: str) -> str | None:
    """sha256 of a recorded code file as it is in this tree now (None if it is gone)."""
    path = REPO_ROOT / key
    return sha256_file(path) if path.is_file() else None


@cache
def software() -> dict[str, str | None]:
    """Python, torch and torchvision versions, the CPU kernel mode, the platform and the
    digest of the environment lock the venv was installed from."""
    import torch
    import torchvision

    from procrustean.environment import lock_digest

    return {
        "python": sys.version.split()[0],
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "cpu_mode": cpu_mode.in_effect(),
        "platform": platform.platform(),
        "lock_sha256": lock_digest(),
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
    machine_specific = {"platform", "lock_sha256"}
    software_versions = {k: v for k, v in stable["software"].items() if k not in machine_specific}
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
    params_file: str,
    device: str = "cpu",
) -> Path:
    """Write the provenance record of a stage beside its first output; ``params_file`` is the
    params file the stage read."""
    record = {
        "stage": stage,
        "outputs": {str(p): sha256_file(pending(p)) for p in outputs},
        **stable,
        "device": device,
        "cpu": cpu_mode.describe("cuda" if device.startswith("cuda") else "cpu"),
        "host": platform.node(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "start": started,
        "end": now(),
    }
    record["code_files"] = stage_code_hashes(stage)
    record["params_file"] = str(params_file)
    path = prov_path(outputs[0])
    write_json(path, record)
    return path
