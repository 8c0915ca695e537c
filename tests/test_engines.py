"""Snakemake and DVC over one params.yaml: same paths, agreement both ways, scoped re-runs, audit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.workflow_helpers import fresh_clone, run, smoke_dvc_targets, snakemake_jobs

pytestmark = pytest.mark.slow
NOTHING = "Nothing to be done"


@pytest.fixture(scope="module")
def snakemade(tmp_path_factory) -> Path:
    """A fresh clone where `snakemake --cores 2 smoke` has run."""
    repo = fresh_clone(tmp_path_factory.mktemp("sm") / "repo")
    run(["snakemake", "--cores", "2", "smoke"], repo)
    return repo


def test_snakemake_then_nothing_to_do_in_either_engine(snakemade):
    assert NOTHING in run(["snakemake", "-n", "smoke"], snakemade).stdout
    status = run(["dvc", "status", *smoke_dvc_targets()], snakemade).stdout
    assert "Data and pipelines are up to date." in status, status


def test_every_job_left_a_log_and_training_a_benchmark(snakemade):
    logs = sorted(
        p.relative_to(snakemade / "logs").as_posix() for p in (snakemade / "logs").rglob("*.log")
    )
    assert len([p for p in logs if "/train/" in p]) == 4 and "smoke/report.log" in logs
    assert len(list((snakemade / "logs/smoke/benchmark").rglob("*.tsv"))) == 4


def _edit_code_and_check_status(repo: Path, engine: str) -> None:
    """A code edit re-runs nothing in either engine; `procrustean status` and the audit name it."""
    assert run(["procrustean", "status"], repo).returncode == 0
    mixing = repo / "src/procrustean/methods/mixing.py"
    original = mixing.read_text()
    mixing.write_text(original + "\n# an edit\n")
    try:
        status = run(["procrustean", "status", "--study", "smoke"], repo, check=False)
        print(f"{engine}: {status.stdout}")
        assert status.returncode == 1
        assert "src/procrustean/methods/mixing.py changed: 4 outputs" in status.stdout
        assert "results/smoke/history/synthetic-step-r10/mfw/seed0.json" in status.stdout
        audit = run(["procrustean", "audit", "results/smoke/tables/accuracy.md"], repo)
        assert "made by code that differs from this tree (src/procrustean/methods/mixing.py)" in (
            audit.stdout
        )
    finally:
        mixing.write_text(original)


def test_code_edit_is_flagged_after_snakemake(snakemade):
    _edit_code_and_check_status(snakemade, "snakemake")


def test_dvc_repro_then_snakemake_has_nothing_to_do(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    run(["dvc", "repro", *smoke_dvc_targets()], repo)
    out = run(["snakemake", "-n", "smoke"], repo).stdout
    assert NOTHING in out, out[-2000:]
    _edit_code_and_check_status(repo, "dvc")


def test_audit_passes_then_names_a_changed_checkpoint(snakemade):
    ok = run(["procrustean", "audit", "results/smoke/tables/accuracy.md"], snakemade)
    assert "audit ok" in ok.stdout and "model.pt" in ok.stdout
    ckpt = snakemade / "runs/smoke/synthetic-step-r10/mfw/seed0/model.pt"
    data = bytearray(ckpt.read_bytes())
    backup = bytes(data)
    data[len(data) // 2] ^= 0xFF
    ckpt.unlink()  # a hardlink into DVC's cache: replace the file, not the cached bytes
    ckpt.write_bytes(bytes(data))
    try:
        bad = run(
            ["procrustean", "audit", "results/smoke/tables/accuracy.md"], snakemade, check=False
        )
        assert bad.returncode != 0
        assert "runs/smoke/synthetic-step-r10/mfw/seed0/model.pt" in bad.stderr.splitlines()[-1]
    finally:
        ckpt.unlink()
        ckpt.write_bytes(backup)


def test_paper_files_equal_dvc_outs(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    summary = run(["snakemake", "-n", "--cores", "all", "--summary"], repo).stdout
    snake = {line.split("\t")[0] for line in summary.splitlines()[1:] if line.strip()}
    snake = {p for p in snake if "/paper/" in p}
    code = (
        "from dvc.repo import Repo\n"
        "r = Repo('.')\n"
        "for s in r.index.stages:\n"
        "    if s.name.startswith(('split-paper@', 'train-paper@', 'evaluate-paper@', 'report@paper')):\n"
        "        for o in s.outs: print(o.def_path)\n"
    )
    dvc = set(run(["python", "-c", code], repo).stdout.split())
    assert len(dvc) > 1000
    assert snake == dvc, (sorted(snake - dvc)[:5], sorted(dvc - snake)[:5])


def test_scoped_invalidation_in_both_engines(snakemade):
    """Runs last in this module: it retrains the mfw runs of the shared clone."""
    params_file = snakemade / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    params["methods"]["mfw"]["mixing"] = {**params["methods"]["mfw"]["mixing"], "p_max": 0.25}
    try:
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        edited = yaml.safe_load(params_file.read_text())
        before = yaml.safe_load(original)
        assert [m for m in before["methods"] if before["methods"][m] != edited["methods"][m]] == [
            "mfw"
        ]
        dry = run(["snakemake", "-n", "smoke"], snakemade).stdout
        assert snakemake_jobs(dry) == {"train": 2, "evaluate": 2, "report": 1, "smoke": 1}
        jobs = re.findall(
            r"wildcards: (study=smoke, dataset=\w+, profile=\w+, ratio=\d+, method=(\w+), seed=\d+)",
            dry,
        )
        assert jobs and {m for _, m in jobs} == {"mfw"}
        # DVC decides downstream re-runs from changed outputs, so run it for real, not --dry
        status = run(["dvc", "repro", *smoke_dvc_targets()], snakemade).stdout
        changed = set(re.findall(r"Running stage '([^']+)'", status))
        assert changed == {
            "train-smoke@smoke-smoke-synthetic-step-10-mfw-0",
            "train-smoke@smoke-smoke-synthetic-exp-10-mfw-0",
            "evaluate-smoke@smoke-synthetic-step-10-mfw-0",
            "evaluate-smoke@smoke-synthetic-exp-10-mfw-0",
            "report@smoke",
        }, status
    finally:
        params_file.write_text(original)
