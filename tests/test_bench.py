"""The benchmark harness at tiny sizes: its JSON and Markdown are well-formed (not its speed)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, cli_env

pytestmark = pytest.mark.slow


def test_tiny_benchmark_writes_well_formed_results(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--tiny", "--out-dir", str(tmp_path)],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
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
        "dvc_status",
        "dvc_repro_noop",
        "audit_table",
    }
    for v in result["verdicts"].values():
        assert isinstance(v["met"], bool) and v["target"][:2] in (">=", "<=")
    pipeline = result["pipeline"]
    assert pipeline["study"] == "smoke" and pipeline["stages"] == 11
    assert "audit ok" in pipeline["audit_table"]["last_line"]
    assert result["memory"]["train_peak_rss_mb"] > 50
    md = (tmp_path / "bench.md").read_text()
    assert md.startswith("# Benchmarks (tiny)")
    assert md.count("\n| ") >= 11  # header + one row per figure
