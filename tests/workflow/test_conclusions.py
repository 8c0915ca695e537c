"""The conclusions' verdict beside the byte comparison: byte-identical (exit 0), conclusions
reproduced (3), conclusions differ (1), on a tiny git repository with committed tables."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from procrustean.checks.compare import DIFFER, IDENTICAL, NOT_JUDGED, REPRODUCED, compare_study
from procrustean.checks.conclusions import (
    RULES,
    Drift,
    drifts,
    judge_paired,
    parse_rows,
    seed_sd,
    table_path,
)
from procrustean.checks.verify import rederive, run_logged
from procrustean.config import Run, Setting, study_runs
from procrustean.errors import UserError
from procrustean.fileio import write_json
from procrustean.paths import history_path, metrics_path
from tests.helpers import resolved, run_cli, write_params
from tests.helpers.clones import commit_all

STEP, EXP = "synthetic-step-r10", "synthetic-exp-r10"
TOP1 = {(STEP, "ce"): 50.0, (STEP, "mfw"): 51.5, (EXP, "ce"): 55.8, (EXP, "mfw"): 55.6}
IMPROVES = 'MFW improves top-1 (mfw vs ce),"test top-1 (%), mfw - ce (paired)"'
TABLES = {
    "claims": "setting,claim,measure,mean,ci_low,ci_high,n,verdict\n"
    f"{STEP},{IMPROVES},1.5,0.5,2.5,2,reproduced\n"
    f"{EXP},{IMPROVES},-0.2,,,1,not measurable here (fewer than 2 runs)\n",
    "paired": "setting,method,base,metric,mean_diff,ci_low,ci_high,n,wins,sd_seed,sd_subset,"
    "subsets,per_pair\n"
    f"{STEP},mfw,ce,top1,1.5,0.5,2.5,2,2,0.5,,1,1.0000 2.0000\n"
    f"{EXP},mfw,ce,top1,-0.2,,,1,0,,,1,-0.2000\n",
    "spread": "setting,row,mean,sd_seed,sd_subset,subsets,n\n"
    f"{STEP},ce,50,0.5,,1,2\n{STEP},mfw,51.5,0.4,,1,2\n{STEP},mfw - ce,1.5,0.5,,1,2\n"
    f"{EXP},ce,55.8,,,1,1\n{EXP},mfw,55.6,0.3,,1,1\n",
    "runs": f"setting,family,method\n{STEP},{STEP},ce\n{EXP},{EXP},ce\n",
}


def _write_run(repo: Path, run: Run, top1: float) -> None:
    write_json(repo / metrics_path("smoke", run), {"top1": top1, "per_class": [top1, 1.0]})
    write_json(repo / history_path("smoke", run), {"epochs": [{"class_acc": [0.5, 0.25]}]})


def _write_tables(repo: Path, edits: dict[str, tuple[str, str]] | None = None) -> None:
    """The tables, each ``edits[name] = (old, new)`` applied; newer than every run file."""
    newest = max(p.stat().st_mtime for p in (repo / "results/smoke").rglob("*.json"))
    for name, text in TABLES.items():
        old, new = (edits or {}).get(name, ("", ""))
        assert old in text
        path = repo / table_path("smoke", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace(old, new) if old else text)
        os.utime(path, (newest + 5, newest + 5))


@pytest.fixture
def repo(tmp_path: Path, params: dict) -> tuple[Path, dict]:
    """A git repository with the smoke study's four runs and its tables committed."""
    params = resolved(params)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for run in study_runs(params, "smoke"):
        _write_run(tmp_path, run, TOP1[run.setting.name, run.method])
    _write_tables(tmp_path)
    write_params(tmp_path, params.as_dict())
    commit_all(tmp_path, "smoke results")
    return tmp_path, params


def _rederive(repo: Path, params: dict, top1: dict, edits: dict | None = None) -> None:
    """Rewrite the runs in ``top1`` ((setting, method) -> top-1), then the tables."""
    for run in study_runs(params, "smoke"):
        if (run.setting.name, run.method) in top1:
            _write_run(repo, run, top1[run.setting.name, run.method])
    _write_tables(repo, edits)


def _cli(repo: Path) -> subprocess.CompletedProcess:
    return run_cli("--params", "params.yaml", "compare", "smoke", cwd=repo)


def test_identical_bytes_are_byte_identical_exit_0(repo):
    path, params = repo
    result = compare_study(params, "smoke", workdir=path, repo=path)
    assert result.outcome == IDENTICAL and result.exit_code == 0
    assert result.conclusions is not None and result.conclusions.judged
    line = "smoke: 4 of 4 runs byte-identical to the committed results (metrics and history)"
    assert result.lines() == [line]
    proc = _cli(path)
    assert (proc.returncode, proc.stdout) == (0, line + "\n"), proc.stderr


def test_drift_within_tolerance_reproduces_exit_3(repo):
    path, params = repo
    # ce +0.6 (sd_seed 0.5: 1.2 sd), mfw +0.4 (sd_seed 0.4: 1.0 sd); paired mean 1.5 -> 1.3,
    # inside the committed [0.5, 2.5]; claim verdicts unchanged.
    _rederive(
        path,
        params,
        {(STEP, "ce"): 50.6, (STEP, "mfw"): 51.9},
        {"paired": (f"{STEP},mfw,ce,top1,1.5,", f"{STEP},mfw,ce,top1,1.3,")},
    )
    result = compare_study(params, "smoke", workdir=path, repo=path)
    lines = result.lines()
    assert result.outcome == REPRODUCED and result.exit_code == 3, lines
    assert lines[0] == (
        "smoke: conclusions reproduced (2 claims, 2 paired means, 2 moved runs checked); "
        "2 of 4 runs byte-identical; 2 differs"
    )
    assert lines[1] == f"  {RULES}"
    assert f"  {STEP} ce seed 0: top-1 50.0 -> 50.6 (+0.60 points = +1.20 sd_seed)" in "\n".join(
        lines
    )
    assert any(
        ln.startswith(f"  {STEP} mfw seed 0: top-1 51.5 -> 51.9 (+0.40 points = +1.00 sd_seed)")
        for ln in lines
    )
    assert lines[-1] == "  note: 1 paired mean with n < 2 (no interval) compared exactly"
    assert not any("failed" in ln or "OUTSIDE" in ln for ln in lines)
    proc = _cli(path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == lines


def test_paired_mean_outside_its_interval_differs_exit_1(repo):
    path, params = repo
    _rederive(
        path,
        params,
        {(STEP, "ce"): 50.6},
        {"paired": (f"{STEP},mfw,ce,top1,1.5,", f"{STEP},mfw,ce,top1,2.7,")},
    )
    result = compare_study(params, "smoke", workdir=path, repo=path)
    lines = result.lines()
    assert result.outcome == DIFFER and result.exit_code == 1
    assert lines[0] == (
        "smoke: conclusions differ (1 paired mean); 3 of 4 runs byte-identical; 1 differs"
    )
    assert (
        f"  failed: paired {STEP} mfw - ce top1: re-derived 2.7 outside the committed 95% "
        "interval [0.5, 2.5] (committed mean 1.5)"
    ) in lines
    proc = _cli(path)
    assert proc.returncode == 1 and "re-derived 2.7 outside" in proc.stdout, proc.stdout


def test_claim_verdict_change_differs(repo):
    path, params = repo
    _rederive(
        path,
        params,
        {(STEP, "ce"): 50.6},
        {
            "claims": (
                "1.5,0.5,2.5,2,reproduced",
                "1.5,-0.5,3.5,2,not reproduced (interval includes 0)",
            )
        },
    )
    result = compare_study(params, "smoke", workdir=path, repo=path)
    lines = result.lines()
    assert result.outcome == DIFFER, lines
    assert lines[0].startswith("smoke: conclusions differ (1 claim); ")
    assert (
        f'  failed: claim {STEP} "MFW improves top-1 (mfw vs ce)": reproduced -> not reproduced '
        "(interval includes 0) (mean 1.5 [0.5, 2.5] -> 1.5 [-0.5, 3.5])"
    ) in lines
    assert result.exit_code == 1


def test_claim_missing_here_differs(repo):
    path, params = repo
    row = f"{EXP},{IMPROVES},-0.2,,,1,not measurable here (fewer than 2 runs)\n"
    _rederive(path, params, {(STEP, "ce"): 50.6}, {"claims": (row, "")})
    lines = compare_study(params, "smoke", workdir=path, repo=path).lines()
    assert lines[0].startswith("smoke: conclusions differ (1 claim); "), lines
    assert (
        f'  failed: claim {EXP} "MFW improves top-1 (mfw vs ce)": missing here '
        "(committed: not measurable here (fewer than 2 runs))"
    ) in lines


def test_drift_beyond_two_sd_seed_differs(repo):
    path, params = repo
    # Both runs move by 1.2 (2.4 and 3 sd_seed); the paired mean stays 1.5.
    _rederive(path, params, {(STEP, "ce"): 51.2, (STEP, "mfw"): 52.7})
    result = compare_study(params, "smoke", workdir=path, repo=path)
    lines = result.lines()
    assert result.outcome == DIFFER and result.exit_code == 1
    assert lines[0] == (
        "smoke: conclusions differ (2 runs' top-1); 2 of 4 runs byte-identical; 2 differs"
    )
    assert any(
        ln.startswith(
            f"  {STEP} ce seed 0: top-1 50.0 -> 51.2 (+1.20 points = +2.40 sd_seed): OUTSIDE the "
            "tolerance 2 sd_seed = 1.00"
        )
        for ln in lines
    ), lines


def test_row_without_interval_is_compared_exactly(repo):
    """n = 1: no interval, so the mean must not move; the exp setting's ce has no sd_seed of
    its own and is judged against the setting's pooled sd (0.3: mfw's, the only one)."""
    path, params = repo
    _rederive(
        path,
        params,
        {(EXP, "ce"): 55.85},
        {"paired": (f"{EXP},mfw,ce,top1,-0.2,", f"{EXP},mfw,ce,top1,-0.25,")},
    )
    lines = compare_study(params, "smoke", workdir=path, repo=path).lines()
    assert lines[0].startswith("smoke: conclusions differ (1 paired mean); "), lines
    assert (
        f"  failed: paired {EXP} mfw - ce top1: -0.2 -> -0.25 (n = 1, no interval: compared "
        "exactly)"
    ) in lines
    assert any(
        "top-1 55.8 -> 55.85 (+0.05 points = +0.17 sd_seed pooled over the setting)" in ln
        for ln in lines
    ), lines


def test_without_fresh_tables_the_byte_verdict_stands(repo):
    path, params = repo
    _rederive(path, params, {(STEP, "ce"): 50.6})
    (path / table_path("smoke", "claims")).unlink()
    result = compare_study(params, "smoke", workdir=path, repo=path)
    lines = result.lines()
    assert result.outcome == NOT_JUDGED and result.exit_code == 1
    assert lines[0] == (
        "smoke: 3 of 4 runs byte-identical to the committed results (metrics and history); "
        "1 differs"
    )
    assert lines[1] == (
        "  conclusions not judged: results/smoke/tables/claims.csv is missing here (the report "
        "was not re-derived); the verdict is the byte comparison's"
    )
    assert "+1.20 sd_seed" in lines[2]  # the drift is still measured
    # Tables older than the re-derived metrics (the report was not re-run): not judged either.
    _write_tables(path)
    old = (path / metrics_path("smoke", study_runs(params, "smoke")[0])).stat().st_mtime - 60
    for name in ("claims", "paired", "spread"):
        os.utime(path / table_path("smoke", name), (old, old))
    lines = compare_study(params, "smoke", workdir=path, repo=path).lines()
    assert "is older than the re-derived metrics (re-run the report)" in lines[1], lines


def test_missing_run_fails_verify_but_not_compare(repo):
    path, params = repo
    (path / history_path("smoke", study_runs(params, "smoke")[3])).unlink()
    loose = compare_study(params, "smoke", workdir=path, repo=path)
    assert loose.outcome == IDENTICAL and loose.exit_code == 0
    strict = compare_study(params, "smoke", workdir=path, repo=path, missing_fails=True)
    assert strict.outcome == DIFFER and strict.exit_code == 1
    assert strict.lines()[0] == (
        "smoke: conclusions differ (1 run missing here); 3 of 3 runs byte-identical; 1 missing here"
    )


def test_identical_runs_but_changed_claims_differ(repo):
    """The same bytes with a different verdict (the report's code changed) is no match."""
    path, params = repo
    _write_tables(path, {"claims": (",reproduced", ",not reproduced (interval includes 0)")})
    result = compare_study(params, "smoke", workdir=path, repo=path)
    assert result.outcome == DIFFER and result.exit_code == 1


def test_tolerance_boundaries():
    run = Run(Setting("synthetic", "step", 10), "ce", 0)
    assert Drift(run, 50.0, 51.0, 0.5).within  # exactly 2 sd_seed
    assert not Drift(run, 50.0, 51.01, 0.5).within
    assert Drift(run, 50.0, 49.0, 0.5).within  # either direction
    assert Drift(run, 50.0, 50.0, math.nan).within
    assert not Drift(run, 50.0, 50.01, math.nan).within  # no sd: exact
    assert not Drift(run, math.nan, 50.0, 0.5).within
    rows = parse_rows(TABLES["paired"].encode(), ("mean_diff",))
    edge = [dict(rows[0], mean_diff="2.5"), rows[1]]
    assert judge_paired(rows, edge) == (2, 1, [])  # on the bound: inside
    assert judge_paired(rows, [dict(rows[0], mean_diff="2.51"), rows[1]])[2]
    assert judge_paired(rows, rows[:1])[2] == [
        f"paired {EXP} mfw - ce top1: missing here (committed mean -0.2)"
    ]


def test_sd_seed_of_a_subset_setting_comes_from_its_family():
    spread = parse_rows(
        b"setting,row,mean,sd_seed\nfam,ce,70,0.6\nfam,mfw,71,0.8\nfam,mfw - ce,1,2.0\n",
        ("sd_seed",),
    )
    assert seed_sd(spread, "fam", "ce") == (0.6, False)
    sd, pooled = seed_sd(spread, "fam", "ldam")  # no row: pooled over methods, not the pair
    assert pooled and sd == pytest.approx(math.sqrt((0.36 + 0.64) / 2))
    assert math.isnan(seed_sd(spread, "other", "ce")[0])
    run = Run(Setting("fam_s1", "step", 10), "ce", 3)
    (d,) = drifts([(run, 70.0, 71.0)], spread, {"fam_s1-step-r10": "fam"})
    assert d.sd == 0.6 and d.text() == "top-1 70.0 -> 71.0 (+1.00 points = +1.67 sd_seed)"


def test_progress_lines_and_a_log(tmp_path, capsys):
    script = (
        "import sys\n"
        "print('Building DAG of jobs...')\n"
        "print('1 of 3 steps (33%) done', file=sys.stderr)\n"
        "print('3 of 3 steps (100%) done')\n"
    )
    log = tmp_path / "logs" / "verify-snakemake.log"
    code = run_logged([sys.executable, "-c", script], tmp_path, log, "verify smoke")
    assert code == 0
    assert capsys.readouterr().err.splitlines() == [
        "verify smoke: 1 of 3 jobs done",
        "verify smoke: 3 of 3 jobs done",
    ]
    assert "Building DAG of jobs..." in log.read_text() and "3 of 3 steps" in log.read_text()


def test_failed_rederivation_names_its_log(tmp_path, capsys, monkeypatch):
    fake = tmp_path / "bin" / "snakemake"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\necho '1 of 2 steps (50%) done'\necho 'Error in rule train'\nexit 1\n"
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    monkeypatch.setattr("procrustean.checks.verify.tool_env", lambda clone=None: env)
    log = tmp_path / "logs" / "verify-snakemake.log"
    with pytest.raises(UserError, match=r"snakemake exit 1\); Snakemake's log: .*verify-snakemake"):
        rederive(tmp_path, ["smoke"], "1", log=log, label="verify smoke")
    err = capsys.readouterr().err
    assert "verify smoke: 1 of 2 jobs done" in err
    assert err.rstrip().endswith("Error in rule train")  # the log's last lines


def test_verify_with_a_stand_in_snakemake(repo, tmp_path, capsys, monkeypatch):
    """verify's plumbing, with a stand-in for Snakemake that restores the committed files:
    progress on stderr, Snakemake's output in the clone's log, the clone removed; a run the
    re-derivation did not make is a difference for verify."""
    from procrustean.checks.verify import verify

    path, params = repo
    fake = tmp_path / "bin" / "snakemake"
    fake.parent.mkdir()
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    monkeypatch.setattr("procrustean.checks.verify.tool_env", lambda clone=None: env)
    monkeypatch.chdir(path)
    restore = "git checkout -q HEAD -- results/smoke\n"
    fake.write_text(f"#!/bin/sh\n{restore}echo '1 of 1 steps (100%) done'\n")
    fake.chmod(0o755)
    result = verify("smoke", "params.yaml", "1", scratch=str(tmp_path / "scratch"))
    assert result.outcome == IDENTICAL and result.exit_code == 0, result.lines()
    err = capsys.readouterr().err
    assert "verify smoke: 1 of 1 jobs done" in err and "byte-identical" not in err
    assert not (tmp_path / "scratch" / "repo").exists()
    history = history_path("smoke", study_runs(params, "smoke")[0])
    fake.write_text(f"#!/bin/sh\n{restore}rm {history}\n")
    result = verify("smoke", "params.yaml", "1", scratch=str(tmp_path / "scratch"))
    assert result.outcome == DIFFER and result.exit_code == 1
    assert result.lines()[0].startswith("smoke: conclusions differ (1 run missing here)")


def test_after_run_prints_the_same_summary(repo, capsys, monkeypatch):
    from procrustean.engines.after_run import report_comparisons

    path, params = repo
    _rederive(path, params, {(STEP, "ce"): 50.6})
    monkeypatch.chdir(path)
    expected = compare_study(params, "smoke").lines()
    capsys.readouterr()
    report_comparisons(params, since=0.0)
    out = capsys.readouterr().out.splitlines()
    assert out == [f"procrustean: {line}" for line in expected]
    assert out[0].startswith("procrustean: smoke: conclusions reproduced (")


def test_a_study_with_nothing_to_compare_says_so_in_one_line(params):
    """A study with no committed runs (or none made here) is one summary line, not a line a run;
    runs new since the commit are counted, not listed; a run missing here is listed."""
    from procrustean.checks.compare import RunComparison, StudyComparison

    runs = study_runs(resolved(params), "smoke")
    new = StudyComparison("smoke", [RunComparison(r, "not committed") for r in runs])
    assert new.lines() == ["smoke: no committed results to compare with (4 runs); 4 not committed"]
    some = StudyComparison("smoke", [RunComparison(runs[0], "identical")] + new.runs[1:])
    assert (
        some.lines()[0] == "smoke: 1 of 1 runs byte-identical to the committed results "
        "(metrics and history); 3 not committed"
    )
    assert len(some.lines()) == 1  # a study half-way through a run: 79 such lines were noise
    gone = StudyComparison("smoke", [*some.runs[:3], RunComparison(runs[3], "missing here")])
    assert gone.lines()[1:] == [
        f"  {runs[3].setting.name} {runs[3].method} seed {runs[3].seed}: missing here"
    ]
