"""Analyses as data: a registered file is judged by `procrustean judge` with no code of its own;
a file that cannot be judged as written is refused in one line naming the file, the key and the
fix (exit 2, nothing written or removed); a pending study's tests read "pending" and count as
p = 1 in Holm's correction."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from procrustean import analyses
from procrustean.config import load_params
from procrustean.errors import UserError
from procrustean.report import stats
from tests.helpers import REPO, run_cli

QUICK_TEST = {"study": "quick", "method": "mfw", "base": "ce", "measure": "top1", "side": "greater"}


def _analysis(**changes) -> dict:
    """A user's analysis on the committed quick study (1 setting x 2 seeds), revised rules."""
    base = {
        "question": "Does mfw improve top-1 over ce in the quick study?",
        "rules": "revised",
        "studies": ["quick"],
        "families": [{"name": "mine", "tests": [dict(QUICK_TEST)]}],
    }
    return base | changes


@pytest.fixture
def folder(tmp_path: Path, params: dict) -> Path:
    """A working folder: params.yaml with a second, unfinished copy of quick, and quick's
    committed report tables (what judge reads)."""
    params["studies"]["quick_more"] = dict(params["studies"]["quick"], seeds=[7])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    shutil.copytree(REPO / "results/quick/tables", tmp_path / "results/quick/tables")
    (tmp_path / "analyses").mkdir()
    return tmp_path


def _write(folder: Path, name: str, content: dict) -> None:
    (folder / "analyses" / f"{name}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))


def test_a_users_analysis_is_judged_from_its_file_alone(folder: Path):
    """A new question on an existing study: one file, then `procrustean judge NAME`."""
    _write(folder, "mine", _analysis())
    proc = run_cli("judge", "mine", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("judge mine: 5 files under results/mine/")
    long = pd.read_csv(folder / "results/mine/verdicts.csv")
    runs = pd.read_csv(REPO / "results/quick/tables/runs.csv")
    assert list(long.setting) == ["fashion_mnist_2k-step-r100"]
    for row in long.itertuples():
        diff = stats.paired(runs[runs.family == row.setting], "mfw", "ce", "top1")["diff"]
        assert row.n == 2 and math.isclose(row.mean, diff.mean())
    table = (folder / "results/mine/verdicts.md").read_text()
    assert table.startswith("# Does mfw improve top-1 over ce in the quick study?")
    assert "MFW improves top-1 (mfw vs ce)" in table
    assert (folder / "results/mine/verdicts.md.prov.json").is_file()


def test_a_pending_study_reads_pending_and_counts_as_p_one(folder: Path):
    tests = [dict(QUICK_TEST), dict(QUICK_TEST, study="quick_more")]
    content = _analysis(
        studies=["quick", "quick_more"],
        pending=["quick_more"],
        families=[{"name": "mine", "tests": tests}],
    )
    _write(folder, "mine", content)
    run_cli("judge", "mine", cwd=folder, check=True)
    long = pd.read_csv(folder / "results/mine/verdicts.csv")
    waiting = long[long.study == "quick_more"]
    assert len(waiting) == 1 and (waiting.n == 0).all()
    assert set(waiting.verdict) == {
        "pending: quick_more has not finished; Holm's correction counts it as p = 1"
    }
    judged = long[long.study == "quick"]
    # Holm over 2 tests, the pending one at p = 1: the judged one's p as if it were there
    assert len(judged) == 1
    expected = stats.holm([*judged.p, 1.0])[:1]
    assert judged.holm_p.tolist() == pytest.approx(expected)
    assert judged.holm_p.iloc[0] == pytest.approx(min(1.0, 2 * judged.p.iloc[0]))
    alone = stats.holm(list(judged.p))
    assert all(h >= a for h, a in zip(judged.holm_p, alone, strict=True))


BAD = {
    "unknown study": (
        _analysis(studies=["quick", "nope"]),
        "analyses/bad.yaml: studies[1]: unknown study 'nope'; define it under params.yaml's studies:",
    ),
    "unknown method": (
        _analysis(families=[{"name": "mine", "tests": [dict(QUICK_TEST, method="mfw_la")]}]),
        "analyses/bad.yaml: families[0].tests[0].method: 'mfw_la' did not run in study quick",
    ),
    "a study without the pair": (
        _analysis(families=[{"name": "mine", "tests": [dict(QUICK_TEST, base="la")]}]),
        "analyses/bad.yaml: families[0].tests[0].base: 'la' did not run in study quick",
    ),
    "unknown measure": (
        _analysis(families=[{"name": "mine", "tests": [dict(QUICK_TEST, measure="top5")]}]),
        "analyses/bad.yaml: families[0].tests[0].measure: 'top5' is not one of",
    ),
    "an empty family": (
        _analysis(families=[{"name": "mine", "tests": []}]),
        "analyses/bad.yaml: families[0].tests: [] should be non-empty",
    ),
    "a claimed side that is not allowed": (
        _analysis(families=[{"name": "mine", "tests": [dict(QUICK_TEST, side="both")]}]),
        "analyses/bad.yaml: families[0].tests[0].side: 'both' is not one of ['greater', 'less']",
    ),
    "two tests with one name": (
        _analysis(families=[{"name": "mine", "tests": [dict(QUICK_TEST), dict(QUICK_TEST)]}]),
        "analyses/bad.yaml: families[0]: two tests are named 'MFW improves top-1 (mfw vs ce)' "
        "in study quick",
    ),
    "a preregistered reading under the revised rules": (
        _analysis(
            families=[
                {
                    "name": "mine",
                    "tests": [
                        {
                            "study": "quick",
                            "method": "ce",
                            "measure": "overfit_excess",
                            "side": "greater",
                        }
                    ],
                }
            ]
        ),
        "measure: 'overfit_excess' is a preregistered reading the revised rules replace",
    ),
    "a control test of another method than ce": (
        _analysis(
            families=[
                {
                    "name": "mine",
                    "studies": ["quick"],
                    "tests": [
                        {
                            "method": "mfw",
                            "measure": "to_major",
                            "against": "balanced",
                            "side": "greater",
                        }
                    ],
                }
            ]
        ),
        "method: against: balanced compares ce runs with the control's ce runs; use method: ce",
    ),
    "a control that is not balanced": (
        _analysis(studies=["quick", "smoke"], controls={"quick": "smoke"}),
        "analyses/bad.yaml: controls.quick: 'smoke' is not balanced",
    ),
    "a pending study that is not one of its studies": (
        _analysis(pending=["quick_more"]),
        "analyses/bad.yaml: pending[0]: 'quick_more' is not one of its studies",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_analysis_that_cannot_be_judged_is_refused_in_one_line(folder: Path, case: str):
    content, message = BAD[case]
    _write(folder, "bad", content)
    before = folder / "results/bad/verdicts.md"
    before.parent.mkdir(parents=True)
    before.write_text("an earlier verdict\n")
    proc = run_cli("judge", "bad", cwd=folder)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert sorted(p.name for p in before.parent.iterdir()) == ["verdicts.md"]  # nothing written
    assert before.read_text() == "an earlier verdict\n"  # nor removed


def test_a_measure_the_test_cannot_read_names_the_readings(folder: Path):
    """top1 is a paired measure: read over one method's runs it has nothing to compare."""
    single = {k: v for k, v in QUICK_TEST.items() if k != "base"}
    _write(folder, "bad", _analysis(families=[{"name": "mine", "tests": [single]}]))
    with pytest.raises(
        UserError, match=r"measure: 'top1' cannot be read single \(it reads: paired"
    ):
        analyses.load("bad", load_params(folder / "params.yaml"), root=folder)


def test_no_report_module_names_a_study_of_params():
    """The campaigns are data: no study of params.yaml is named in the judging code."""
    studies = yaml.safe_load((REPO / "params.yaml").read_text())["studies"]
    code = {p: p.read_text() for p in (REPO / "src/procrustean/report").glob("*.py")}
    for study in studies:
        named = [p.name for p, text in code.items() if f'"{study}"' in text or f"'{study}'" in text]
        assert not named, f"{study} is named in {named}"


def test_every_registered_analysis_loads_and_names_its_rule_set():
    params = load_params(REPO / "params.yaml")
    found = analyses.load_all(params, root=REPO)
    assert {a.name for a in found} >= {"confirmation", "paper_counts", "fit_regime"}
    for analysis in found:
        assert analysis.rules in ("preregistered", "revised")
        assert set(analysis.pending) <= set(analysis.studies)


def test_a_cycle_of_grids_is_refused_in_one_line(folder: Path):
    _write(folder, "one", _analysis(grid_with=["two"]))
    _write(folder, "two", _analysis(grid_with=["one"]))
    proc = run_cli("judge", "one", cwd=folder)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "procrustean judge: error: analyses/one.yaml: grid_with: a cycle (one -> two -> one); "
        "remove one"
    )
    assert not (folder / "results/one").exists()


def test_a_preregistered_analysis_with_every_study_pending_says_so(folder: Path):
    content = _analysis(
        rules="preregistered",
        pending=["quick"],
        families=[
            {"name": "accuracy", "tests": [{k: v for k, v in QUICK_TEST.items() if k != "study"}]}
        ],
    )
    _write(folder, "early", content)
    proc = run_cli("judge", "early", cwd=folder)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "analyses/early.yaml: every study is pending" in proc.stderr
    assert not (folder / "results/early").exists()
