"""The benchmark harness at tiny sizes: its JSON and Markdown are well-formed (not its speed)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, cli_env

pytestmark = pytest.mark.slow


def _tiny_bench(out: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--tiny", "--out-dir", str(out), *extra],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_tiny_benchmark_writes_well_formed_results(tmp_path):
    _tiny_bench(tmp_path)
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["mode"] == "tiny"
    for key in ("bare", "peer", "ce", "mfw", "mixup", "ldam"):
        assert result["throughput"]["img_per_s"][key] > 0
    assert set(result["verdicts"]) == {
        "engine_vs_bare",
        "engine_vs_peer",
        "overhead_mfw",
        "overhead_mixup",
        "overhead_ldam",
        "overhead_diagnostics_paper_epoch",
        "snakemake_dry_run",
        "snakemake_dry_run_without_slurm",
        "dvc_status",
        "dvc_repro_noop",
        "audit_table",
    }
    for v in result["verdicts"].values():
        assert isinstance(v["met"], bool) and v["target"][:2] in (">=", "<=")
    pipeline = result["pipeline"]
    assert pipeline["study"] == "smoke" and pipeline["stages"] == 12  # run-config@smoke too
    assert "audit ok" in pipeline["audit_table"]["last_line"]
    assert pipeline["commit_named"]["stages"] == 4  # smoke's evaluations
    assert pipeline["commit_named"]["one_write"] > 0
    assert result["memory"]["train_peak_rss_mb"] > 50
    md = (tmp_path / "bench.md").read_text()
    assert md.startswith("# Benchmarks (tiny)")
    assert md.count("\n| ") >= 12  # header + one row per figure
    assert pipeline["slurm"] in md and "without_slurm" in md
    again = _tiny_bench(tmp_path, "--only", "pipeline")
    redone = json.loads((tmp_path / "bench.json").read_text())
    assert redone["only"] == "pipeline" and "throughput ..." not in again.stderr
    assert redone["throughput"] == result["throughput"] and redone["memory"] == result["memory"]
    assert redone["pipeline"]["date"] and redone["pipeline"]["stages"] == 12
    assert "Only the pipeline part ran then" in (tmp_path / "bench.md").read_text()


def test_gpu_script_runs_every_code_path_on_the_cpu(tmp_path):
    """The one-command GPU check (one run, K runs sharing a device, the deterministic switch,
    the paper grid's GPU-hours) at seconds size on the CPU: ready for a lent GPU."""
    out = tmp_path / "gpu.json"
    proc = subprocess.run(
        [
            sys.executable,
            "benchmarks/gpu_paper_recipe.py",
            "--device",
            "cpu",
            "--tiny",
            "--k",
            "1,2",
            "--out",
            str(out),
        ],  # fmt: skip
        cwd=REPO,
        env={**cli_env(), "PYTHONPATH": f"{REPO / 'src'}:{REPO}"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    rates = result["img_per_s"]
    for key in ("bare_fp32", "ce_fp32", "mfw_fp32", "ce_amp", "ce_fp32_deterministic"):
        assert rates[key] > 0, key
    assert set(result["shared_gpu"]) == {"1", "2"} and min(result["shared_gpu"].values()) > 0
    study = result["paper_study"]
    assert study["training_images"] == 1_620_067_200
    assert study["best_runs_per_gpu"] in (1, 2) and study["gpu_hours_at_best_k"] > 0


def test_bookkeeping_benchmark_asks_each_question_with_nothing_to_do(tmp_path):
    """The stand-ins carry the records their stages would write, so every engine finds nothing
    to do at both scales; the table names each question and scale."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bookkeeping", "--tiny", "--repeats", "1",
         "--out-dir", str(tmp_path)],
        cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "bookkeeping.json").read_text())
    assert [p["study"] for p in result["scales"]] == ["smoke", "smoke_x2"]
    small, large = result["scales"]
    assert large["stages"] > small["stages"] > 10
    for part in result["scales"]:
        last = {k: v["last_line"] for k, v in part["figures"].items()}
        assert last["snakemake_dry_run"].startswith("Nothing to be done"), last
        assert last["dvc_status"] == last["dvc_repro_noop"] == "Data and pipelines are up to date."
        assert "stale: 0;" in last["procrustean_status"], last
    table = (tmp_path / "bookkeeping.md").read_text()
    assert "| `procrustean status --study S` |" in table and "smoke_x2 (" in table


def test_first_command_breakdown_accounts_for_each_run(tmp_path):
    """One epoch a run: no phase is negative (the diagnostics are inside the epochs, the
    epochs inside the run), SGD outweighs the diagnostics, and the projection's job-seconds
    are the sum of its parts."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.first_command",
            "--epochs",
            "1",
            "--repeats",
            "1",
            "--out-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "first_command.json").read_text())
    assert set(result["phases"]) == {"ce/portable", "ce/native", "mfw/portable", "mfw/native"}
    for run in result["phases"].values():
        phases = [run[p] for p in ("imports", "setup", "sgd", "diagnostics", "outputs")]
        assert min(phases) >= 0 and run["sgd"] > run["diagnostics"] > 0
    proj = result["projection"]
    assert sum(proj["job_seconds"].values()) == pytest.approx(proj["job_seconds_total"])
    assert proj["two_core_floor_min"] > 0 and result["portable_over_native"] > 0
    assert (tmp_path / "first_command.md").read_text().startswith("# Where the first command")
    assert result["projection"]["runs"] == 4  # the quick study: ce and mfw x 2 seeds


def test_newcomer_benchmark_runs_the_readmes_first_command_from_a_tarball(tmp_path):
    """The benchmark reads the README's first command into its phases (set-up, Snakemake) and
    runs them in a tree unpacked from `git archive` of HEAD: here with a phase that only lists
    the tree, so the test is quick; the tarball holds the README and no .git."""
    from benchmarks import newcomer

    assert newcomer.first_command() == [
        "bash scripts/setup.sh",
        ".venv/bin/snakemake --cores all quick",
    ]
    run = newcomer.measure("archive", ["test -f README.md && test ! -e .git && echo tree ok"])
    assert run["phases"][0]["rc"] == 0 and run["phases"][0]["tail"] == ["tree ok"]
    failed = newcomer.measure("archive", ["exit 3", "echo never"])
    assert [p["rc"] for p in failed["phases"]] == [3]  # a failed phase stops the rest
