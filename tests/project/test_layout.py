"""The package's wings: stage code never imports the checks, the engines' glue or the user
interface, so editing those re-runs nothing; every other module a stage imports is stage code."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from procrustean import provenance
from procrustean.provenance import NOT_STAGE_CODE, STAGE_ENTRY, is_stage_code, stage_code_files

PACKAGE = Path(provenance.__file__).resolve().parent


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(nodes, prefix: str = "procrustean") -> set[str]:
    """Absolute imports among ``nodes`` (modules, and ``module.name`` for each name taken from
    one) that start with ``prefix``."""
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m.startswith(prefix)}


def _top_level_imports(path: Path) -> set[str]:
    """procrustean modules imported at module level (not inside functions)."""
    return _imported(ast.parse(path.read_text()).body)


def _all_imports(path: Path, prefix: str = "procrustean") -> set[str]:
    """Modules imported anywhere in a file (inside functions too) that start with ``prefix``."""
    return _imported(ast.walk(ast.parse(path.read_text())), prefix)


@pytest.mark.parametrize("stage", sorted(STAGE_ENTRY))
def test_no_stage_reaches_a_wing(stage):
    wings = [PACKAGE / w.removeprefix("procrustean.") for w in NOT_STAGE_CODE]
    files = stage_code_files(stage)
    assert files, stage
    assert not [f for f in files if any(w in f.parents for w in wings)]


def test_no_stage_code_module_imports_a_wing():
    """The rule is about packages, with no exceptions: a module outside the wings that imported
    one would pull code that never counts into a stage (the trainer reports progress through
    procrustean.observers, which the wings implement; ``__main__`` only starts the CLI)."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module(path)
        if not is_stage_code(name) or name == "procrustean.__main__":
            continue
        for imported in _all_imports(path):
            if not is_stage_code(imported):
                offenders.append(f"{name} imports {imported}")
    assert offenders == []


def test_the_cross_field_rules_are_stage_code():
    """Which params are valid is decided beside the schema, and counts as every stage's code."""
    for stage in STAGE_ENTRY:
        assert PACKAGE / "params_rules.py" in stage_code_files(stage), stage


def test_the_judge_stage_is_every_rule_sets_code_and_the_analysis_schema():
    """One judge stage serves every analysis file: its code is both rule sets and the analysis
    schema (whose defaults shape the verdicts), which no other stage's code holds."""
    assert "judge" in STAGE_ENTRY and not {"verdicts", "paper-counts"} & set(STAGE_ENTRY)
    schema = PACKAGE.parents[1] / "workflow/schemas/analysis.schema.yaml"
    judge = stage_code_files("judge")
    for module in (
        "analyses.py",
        "report/preregistered.py",
        "report/revised.py",
        "report/family.py",
        "report/sensitivity.py",
    ):
        assert PACKAGE / module in judge, module
    assert schema in judge
    assert not [
        stage for stage in STAGE_ENTRY if stage != "judge" and schema in stage_code_files(stage)
    ]


def test_wings_are_packages_and_the_rule_names_them():
    for wing in NOT_STAGE_CODE:
        assert (PACKAGE / wing.removeprefix("procrustean.") / "__init__.py").is_file(), wing
        # a module added to a wing later is left out without editing any list
        assert not is_stage_code(f"{wing}.added_later") and not is_stage_code(wing)
    assert is_stage_code("procrustean.train") and is_stage_code("procrustean.report.claims")
    assert is_stage_code("procrustean.checksums")  # a prefix of a name is not its package


TESTS = PACKAGE.parents[1] / "tests"
READS_ANOTHER_TEST = {"tests.project.test_docs_links": {"tests.cli.test_bad_input"}}


def test_tests_live_in_folders_and_import_only_helpers():
    """Every test module sits in a folder that says what it tests; a test imports shared code
    from tests.helpers, never from conftest or another test module (one documented exception:
    the documentation test reads the bad-input table's cases)."""
    assert not list(TESTS.glob("test_*.py")), "a test module outside the folders"
    for path in TESTS.rglob("test_*.py"):
        name = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        allowed = ("tests.helpers", *READS_ANOTHER_TEST.get(name, ()))
        bad = {
            m
            for m in _all_imports(path, "tests.")
            if not any(m == a or m.startswith(f"{a}.") for a in allowed)
        }
        assert not bad, f"{name} imports {sorted(bad)}"


# What every Snakemake start, `procrustean status` and the DVC-side commands import: the params
# code and the bookkeeping. torch (about 2 s) is for the stages that compute.
LIGHT_MODULES = (
    "procrustean.config",
    "procrustean.checks.freshness",
    "procrustean.checks.status",
    "procrustean.checks.compare",
    "procrustean.engines.overrides",
    "procrustean.engines.dvc_yaml",
    "procrustean.ui.cli",
)


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_params_code_and_bookkeeping_import_no_torch(module):
    code = f"import sys, {module}; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    src = str(Path(provenance.__file__).parents[1])  # the package under test
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "[]", f"{module} imports {out.strip()}"
