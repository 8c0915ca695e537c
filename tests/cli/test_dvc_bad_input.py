"""Bad params through DVC: `dvc repro` (and `dvc exp run -S`) in a fresh clone stops at
run-config@smoke with the one line `procrustean validate` prints for the same params file (or,
where smoke's own entries did not change and DVC skips run-config@smoke, at the first stage
that runs, with the same line), exits non-zero, and leaves every file of the tree as it was
(every output persists, so DVC removes nothing before the refusal). And DVC's commands work
with the venv not on PATH, as a user with an unactivated venv types them."""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers.clones import fresh_clone, run, smoke_dvc_targets

pytestmark = pytest.mark.slow
SKIPPED = {".git", ".dvc/tmp", ".dvc/cache", ".snakemake"}  # git's, DVC's and Snakemake's own


def _replace(old: str, new: str) -> Callable[[str], str]:
    """A targeted text edit of params.yaml (the text must occur exactly once)."""

    def edit(text: str) -> str:
        assert text.count(old) == 1, old
        return text.replace(old, new)

    return edit


def _study_copy(name: str) -> Callable[[str], str]:
    """A copy of the smoke study under ``name`` (a yaml round trip; a deep copy, so no anchor)."""

    def edit(text: str) -> str:
        params = yaml.safe_load(text)
        params["studies"][name] = copy.deepcopy(params["studies"]["smoke"])
        out = yaml.safe_dump(params, sort_keys=False)
        assert not re.search(r"[&*][A-Za-z_]\w*\b", out), "params.yaml must stay free of anchors"
        return out

    return edit


@dataclass
class DvcCase:
    row: str  # the README's "Bad input" row (or what the case is, where the table has no row)
    edit: Callable[[str], str]
    rule: str  # what `procrustean validate` names
    # False: smoke's own entries are unchanged, so DVC skips run-config@smoke as unchanged and
    # the first stage that runs (the split, absent in a fresh clone) refuses instead
    smoke_changed: bool = True


SMOKE_METHODS = "    methods:\n    - ce\n    - mfw\n    seeds:\n    - 0\n  quick:"
CASES = [
    DvcCase(
        "study names an unknown method",
        _replace(SMOKE_METHODS, SMOKE_METHODS.replace("- mfw", "- mfx")),
        "studies.smoke.methods[1]: unknown method 'mfx'",
    ),
    DvcCase(
        "negative lr in params",
        _replace("    batch_size: 64\n    lr: 0.05\n", "    batch_size: 64\n    lr: -0.05\n"),
        "recipes.smoke.lr: -0.05 is less than or equal to the minimum of 0",
    ),
    DvcCase(
        "study names a missing recipe",
        _replace("    recipe: smoke\n", "    recipe: nope\n"),
        "studies.smoke.recipe: unknown recipe 'nope'",
    ),
    DvcCase(
        "epochs not a number in params",
        _replace("    model: resnet8\n    epochs: 3\n", "    model: resnet8\n    epochs: three\n"),
        "recipes.smoke.epochs: 'three' is not of type 'integer'",
    ),
    DvcCase(
        "no seed in a study",
        _replace(SMOKE_METHODS, SMOKE_METHODS.replace("seeds:\n    - 0", "seeds: []")),
        "studies.smoke.seeds: [] should be non-empty",
    ),
    DvcCase(
        "a name that cannot be a path",
        _study_copy("../x"),
        "studies.../x: names may use only letters, digits and _",
        smoke_changed=False,
    ),
]


def tree(repo: Path) -> dict[str, str]:
    """sha256 of every file outside .git, .dvc/tmp, .dvc/cache and .snakemake."""
    out = {}
    for folder, dirs, files in os.walk(repo):
        rel = Path(folder).relative_to(repo)
        dirs[:] = sorted(d for d in dirs if (rel / d).as_posix() not in SKIPPED)
        for name in files:
            path = Path(folder) / name
            out[(rel / name).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def restore(repo: Path) -> None:
    run(["git", "checkout", "--", "."], repo)
    run(["git", "clean", "-fdq", "-e", ".dvc/cache"], repo)


def validate_message(repo: Path) -> str:
    """What `procrustean validate` says of the clone's params.yaml (after "error: ")."""
    proc = run(["procrustean", "--params", "params.yaml", "validate"], repo, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stdout + proc.stderr
    assert lines[0].startswith("procrustean validate: error: "), lines
    return lines[0].split("error: ", 1)[1]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """One fresh clone for every case, restored between them."""
    return fresh_clone(tmp_path_factory.mktemp("dvc-bad") / "repo")


@pytest.fixture
def pristine(clone: Path, monkeypatch) -> Path:
    # Python's bytecode cache is no output of the project: keep it out of the tree compared
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    restore(clone)
    assert run(["git", "status", "--porcelain"], clone).stdout == ""
    yield clone
    restore(clone)


@pytest.mark.parametrize("case", CASES, ids=[f"dvc repro: {c.row}" for c in CASES])
def test_dvc_repro_refuses_bad_params_and_changes_nothing(case: DvcCase, pristine: Path):
    repo = pristine
    params = repo / "params.yaml"
    params.write_text(case.edit(params.read_text()))
    message = validate_message(repo)
    assert case.rule in message, message
    before = tree(repo)
    proc = run(["dvc", "repro", *smoke_dvc_targets()], repo, check=False)
    out = proc.stdout + proc.stderr
    print(f"[{case.row}] dvc repro (exit {proc.returncode}):\n{out.strip()}")
    assert proc.returncode != 0, out
    ran = re.findall(r"Running stage '([^']+)'", out)
    if case.smoke_changed:
        assert ran == ["run-config@smoke"], out  # refused there, before any other stage
        assert f"procrustean run-config: error: {message}" in out, (message, out)
    else:
        assert "Stage 'run-config@smoke' didn't change, skipping" in out, out
        assert ran == ["split-smoke@smoke-synthetic-step-10"], out
        assert f"procrustean split: error: {message}" in out, (message, out)
    assert tree(repo) == before, "the tree changed"
    print(f"[{case.row}] tree unchanged")


@pytest.mark.ci
def test_dvc_exp_run_with_a_bad_value_refuses_and_changes_nothing_else(pristine: Path):
    """`dvc exp run -S` writes its edit into params.yaml (and leaves it there, as after a
    successful experiment); run-config refuses it, and nothing else in the tree changes."""
    repo = pristine
    before = tree(repo)
    proc = run(
        ["dvc", "exp", "run", "-S", "recipes.smoke.lr=-1", "report@smoke"], repo, check=False
    )
    out = proc.stdout + proc.stderr
    print(f"[dvc exp run -S recipes.smoke.lr=-1] (exit {proc.returncode}):\n{out.strip()}")
    assert proc.returncode != 0, out
    assert re.findall(r"Running stage '([^']+)'", out) == ["run-config@smoke"], out
    diff = run(["git", "diff", "-U0", "params.yaml"], repo).stdout
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == ["-    lr: 0.05", "+    lr: -1"], diff  # the -S edit, nothing else
    message = validate_message(repo)  # of params.yaml as DVC's -S left it
    assert "recipes.smoke.lr: -1 is less than or equal to the minimum of 0" in message
    assert f"procrustean run-config: error: {message}" in out, (message, out)
    after = tree(repo)
    assert after.pop("params.yaml") != before.pop("params.yaml")
    assert after == before, "the tree changed beyond the -S edit"
    assert run(["dvc", "exp", "list"], repo).stdout.strip() == ""  # no experiment recorded
    print("[dvc exp run -S recipes.smoke.lr=-1] tree unchanged (params.yaml: the -S edit)")


def test_dvc_commands_work_with_the_venv_not_on_path(tmp_path: Path):
    """A user's layout: the venv at <checkout>/.venv, not activated, and DVC called by its path
    (`.venv/bin/dvc repro ...`); the stage commands find the venv through scripts/procrustean."""
    repo = fresh_clone(tmp_path / "repo")
    (repo / ".venv").symlink_to(Path(sys.executable).parent.parent)
    path = "/usr/bin:/bin"
    assert shutil.which("procrustean", path=path) is None  # only the venv has it
    drop = ("PROCRUSTEAN_VENV", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(PATH=path, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [str(repo / ".venv/bin/dvc"), "repro", "run-config@smoke", "split-smoke"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    print(f".venv/bin/dvc repro run-config@smoke split-smoke (exit {proc.returncode}):\n{out}")
    assert proc.returncode == 0, out
    ran = set(re.findall(r"Running stage '([^']+)'", out))
    splits = {"split-smoke@smoke-synthetic-step-10", "split-smoke@smoke-synthetic-exp-10"}
    assert splits <= ran <= {*splits, "run-config@smoke"}, out
    for profile in ("step", "exp"):
        split = repo / f"data/splits/smoke/synthetic-{profile}-r10.json"
        assert split.is_file() and Path(f"{split}.prov.json").is_file(), profile
    # the same splits as the committed ones: their summaries keep the committed bytes (their
    # records name this tree's code, which the committed ones reach through accepted changes)
    summaries = [f"results/smoke/splits/synthetic-{p}-r10.json" for p in ("step", "exp")]
    assert run(["git", "status", "--porcelain", *summaries], repo).stdout == ""
