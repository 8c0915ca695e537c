"""Re-derived numbers against the committed ones: byte-identical, or how far off (the
conclusions' verdict from the report tables: tests/workflow/test_conclusions.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from procrustean.checks.compare import compare_study, max_abs_diff
from procrustean.config import study_runs
from procrustean.fileio import write_json
from procrustean.paths import history_path, metrics_path
from tests.helpers import resolved
from tests.helpers.clones import commit_all


def _write_runs(repo: Path, params: dict, top1: float) -> None:
    for run in study_runs(params, "smoke"):
        write_json(repo / metrics_path("smoke", run), {"top1": top1, "per_class": [top1, 1.0]})
        write_json(repo / history_path("smoke", run), {"epochs": [{"class_acc": [0.5, 0.25]}]})


def test_identical_then_how_far_off(tmp_path, params):
    params = resolved(params)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _write_runs(tmp_path, params, 50.0)
    commit_all(tmp_path, "results")
    same = compare_study(params, "smoke", workdir=tmp_path, repo=tmp_path)
    assert same.lines() == [
        "smoke: 4 of 4 runs byte-identical to the committed results (metrics and history)"
    ]
    run = study_runs(params, "smoke")[1]
    write_json(tmp_path / metrics_path("smoke", run), {"top1": 50.5, "per_class": [50.5, 1.0]})
    (tmp_path / history_path("smoke", study_runs(params, "smoke")[2])).unlink()
    lines = compare_study(params, "smoke", workdir=tmp_path, repo=tmp_path).lines()
    assert (
        lines[0].startswith("smoke: 2 of 3 runs byte-identical")
        and "1 differs, 1 missing here" in lines[0]
    )
    # No report tables in this repository: the conclusions are not judged, the byte verdict
    # stands, and with no committed sd_seed the moved run's top-1 is compared exactly.
    assert lines[1].startswith(
        "  conclusions not judged: results/smoke/tables/claims.csv is not committed at HEAD"
    )
    moved = [ln for ln in lines if "top-1" in ln]
    assert moved == [
        f"  {run.setting.name} {run.method} seed {run.seed}: top-1 50.0 -> 50.5 (+0.50 points; "
        "no sd_seed committed: compared exactly): OUTSIDE (not equal); "
        "max |diff| metrics 0.5, history 0"
    ]


def test_max_abs_diff_sees_shape_changes():
    assert max_abs_diff({"a": [1, 2]}, {"a": [1, 2.5]}) == 0.5
    assert max_abs_diff({"a": [1, 2]}, {"a": [1]}) == float("inf")
