"""The clone boundary: what a newcomer gets from `git clone` (committed results/ and dvc.lock,
no splits, checkpoints or DVC cache) re-derives, verifies, audits and shares."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO
from tests.helpers.clones import commit_all, fresh_clone, run, smoke_dvc_targets

pytestmark = pytest.mark.slow
TABLE = "results/smoke/tables/accuracy.md"
METRICS = "results/smoke/metrics/synthetic-step-r10/ce/seed0.json"
MODEL = "runs/smoke/synthetic-step-r10/mfw/seed0/model.pt"
IDENTICAL = "smoke: 4 of 4 runs byte-identical to the committed results (metrics and history)"
NOTHING = "Nothing to be done"


@pytest.mark.ci
def test_first_command_rederives_compares_then_has_nothing_to_do(tmp_path):
    """The README's first command, on the smoke study: re-derives from the raw data, exits 0,
    says how the numbers compare with the committed ones; a second run does nothing."""
    repo = fresh_clone(tmp_path / "repo")
    first = run(["snakemake", "--cores", "2", "smoke"], repo)
    out = first.stdout + first.stderr
    assert IDENTICAL in out, out[-3000:]
    assert "procrustean: dvc: recorded 11 stages in dvc.lock" in out, out[-3000:]
    trained = list((repo / "logs/smoke/train").rglob("*.log"))
    assert len(trained) == 4 and (repo / MODEL).is_file()
    second = run(["snakemake", "--cores", "2", "smoke"], repo)
    assert NOTHING in second.stdout + second.stderr
    status = run(["dvc", "status", *smoke_dvc_targets()], repo).stdout
    assert "Data and pipelines are up to date." in status, status


def test_audit_tells_absent_from_different(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    unverified = run(["procrustean", "audit", TABLE], repo, check=False)
    assert unverified.returncode == 3, unverified.stdout + unverified.stderr
    lines = unverified.stdout.splitlines()
    assert any(METRICS in ln and ln.endswith("ok") for ln in lines)
    absent = [ln for ln in lines if "absent here" in ln]
    assert any(MODEL in ln and "snakemake --cores all smoke" in ln for ln in absent), absent
    assert any("data/splits/smoke/synthetic-step-r10.json" in ln for ln in absent)
    assert "audit unverified here" in unverified.stderr
    assert "0 differ" in unverified.stderr
    metrics = repo / METRICS
    data = bytearray(metrics.read_bytes())
    data[-3] = ord("7") if data[-3] != ord("7") else ord("8")
    metrics.write_bytes(bytes(data))
    tampered = run(["procrustean", "audit", TABLE], repo, check=False)
    assert tampered.returncode == 1
    assert METRICS in tampered.stderr.splitlines()[-1] and "FAILED" in tampered.stderr


def test_audit_rederives_what_is_absent(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    proc = run(["procrustean", "audit", "--rederive", "--cores", "2", TABLE], repo)
    assert f"re-derived {MODEL}: matches its record" in proc.stdout, proc.stdout[-3000:]
    assert "re-derived data/splits/smoke/synthetic-exp-r10.json: matches its record" in proc.stdout
    assert "audit ok" in proc.stdout
    assert not (repo / MODEL).exists()  # re-derived in a scratch clone, nothing written here


def test_verify_rederives_in_a_scratch_clone(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    scratch = tmp_path / "scratch"
    proc = run(["procrustean", "verify", "smoke", "--cores", "2", "--scratch", str(scratch)], repo)
    assert f"verify {IDENTICAL}" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not scratch.joinpath("repo").exists()  # removed unless --keep
    assert not (repo / "runs").exists()


def test_runs_shared_through_a_dvc_remote(tmp_path):
    """Smoke run, dvc push to a local-folder remote, fresh clone, dvc pull: nothing to re-run."""
    lab = fresh_clone(tmp_path / "lab")
    run(["snakemake", "--cores", "2", "smoke"], lab)
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "lab", str(remote)], lab)
    run(["dvc", "push", *smoke_dvc_targets()], lab)
    commit_all(lab, "smoke study and the lab's DVC remote")
    other = fresh_clone(tmp_path / "other", source=lab)
    assert not (other / MODEL).exists()
    run(["dvc", "pull", *smoke_dvc_targets()], other)
    # up to date by content, whatever times git and DVC gave the files: no `snakemake --touch`
    dry = run(["snakemake", "-n", "smoke"], other).stdout
    assert NOTHING in dry, dry[-3000:]
    status = run(["procrustean", "status", "--study", "smoke"], other, check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    status = run(["dvc", "status", *smoke_dvc_targets()], other).stdout
    assert "Data and pipelines are up to date." in status, status
    assert "audit ok" in run(["procrustean", "audit", TABLE], other).stdout
    absent = run(["procrustean", "audit", TABLE], fresh_clone(tmp_path / "third", lab), check=False)
    assert absent.returncode == 3 and f"dvc pull {MODEL}" in absent.stdout


def test_snakemake_config_overrides_reach_the_jobs(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    (repo / "over.yaml").write_text("recipes:\n  smoke:\n    epochs: 1\n")
    out = run(["snakemake", "--cores", "2", "smoke", "--configfile", "over.yaml"], repo).stdout
    assert "not recording this run in dvc.lock" in out
    histories = sorted((repo / "results/smoke/history").rglob("seed0.json"))
    assert len(histories) == 4
    for hist in histories:
        assert len(json.loads(hist.read_text())["epochs"]) == 1
        prov = json.loads(Path(f"{hist}.prov.json").read_text())
        assert prov["params"]["recipe"]["smoke"]["epochs"] == 1
        assert prov["params_file"].startswith(".snakemake/procrustean/params-")
    # without the override, both engines see the training runs as out of date
    dry = run(["snakemake", "-n", "smoke"], repo).stdout
    assert re.search(r"^train\s+4$", dry, re.M) and not re.search(r"^split\s+\d", dry, re.M)
    status = run(["dvc", "status", *smoke_dvc_targets()], repo).stdout
    assert "train-smoke@" in status and "evaluate-smoke@" in status


def test_dvc_experiment_changes_one_entry_and_reruns_only_its_stages(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    run(["snakemake", "--cores", "2", "smoke"], repo)
    commit_all(repo, "smoke study")
    proc = run(
        ["dvc", "exp", "run", "-S", "methods.mfw.mixing.p_max=0.3", *smoke_dvc_targets()], repo
    )
    ran = set(re.findall(r"Running stage '([^']+)'", proc.stdout))
    assert ran == {
        "train-smoke@smoke-smoke-synthetic-step-10-mfw-0",
        "train-smoke@smoke-smoke-synthetic-exp-10-mfw-0",
        "evaluate-smoke@smoke-synthetic-step-10-mfw-0",
        "evaluate-smoke@smoke-synthetic-exp-10-mfw-0",
        "report@smoke",
        "run-config@smoke",
    }, proc.stdout
    diff = run(["git", "diff", "-U0", "params.yaml"], repo).stdout
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    before = yaml.safe_load((REPO / "params.yaml").read_text())["methods"]["mfw"]["mixing"]
    assert changed == [f"-      p_max: {before['p_max']}", "+      p_max: 0.3"], diff
    prov = json.loads(
        (repo / "results/smoke/history/synthetic-step-r10/mfw/seed0.json.prov.json").read_text()
    )
    assert prov["params"]["method"]["mfw"]["mixing"]["p_max"] == 0.3
    shown = run(["dvc", "exp", "show", "--no-pager", "--csv"], repo).stdout.splitlines()[0]
    assert "top1.step-r10.mfw" in shown and "methods.mfw.mixing.p_max" in shown
    # the README's views, as written, at 120 columns: every cell readable, no warning
    env = {"COLUMNS": "120"}
    for cmd in README_VIEWS:
        out = run(shlex.split(cmd), repo, env=env)
        lines = out.stdout.splitlines()
        assert lines and max(len(ln) for ln in lines) <= 120, out.stdout
        assert "…" not in out.stdout and "failed to load" not in out.stdout + out.stderr, out
    exp = run(shlex.split(README_VIEWS[0]), repo, env=env).stdout
    assert "0.3" in exp and "p_max" in exp and "step-r10.mfw" in exp, exp


# The DVC commands the README shows for reading results (checked to be in it, run above).
README_VIEWS = (
    "dvc exp diff",
    "dvc metrics show results/smoke/summary.json",
)


def test_the_readme_shows_the_views_the_tests_run():
    readme = (REPO / "README.md").read_text()
    for cmd in README_VIEWS:
        assert cmd.replace(" --no-pager", "") in readme, cmd
