"""``procrustean status``: its compute summary from the provenance records, and its output
through a pipe that closes early."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from procrustean.checks.freshness import Stage, Verdict
from procrustean.checks.status import StudyStatus
from tests.helpers import BIN, cli_env, write_params


def _stage(tmp_path: Path, kind: str, name: str, span: tuple[str, str] | None) -> Verdict:
    out = tmp_path / f"{name}.json"
    stage = Stage(kind, "s", name, (), (str(out),), "key", {})
    if span:
        Path(stage.record).write_text(json.dumps({"start": span[0], "end": span[1]}))
    return Verdict(stage)


def test_job_hours_per_kind_and_busy_time_counts_overlaps_once(tmp_path):
    day = "2026-12-01T"
    verdicts = [
        _stage(tmp_path, "train", "a", (f"{day}10:00:00+00:00", f"{day}10:10:00+00:00")),
        _stage(tmp_path, "train", "b", (f"{day}10:05:00+00:00", f"{day}10:20:00+00:00")),
        _stage(tmp_path, "evaluate", "c", (f"{day}12:00:00+00:00", f"{day}12:01:00+00:00")),
        _stage(tmp_path, "train", "d", None),  # not run yet
    ]
    lines = StudyStatus("s", verdicts).compute_lines()
    assert lines[0] == "compute s (from 3 of 4 records):"
    assert lines[1] == "  train: 2 jobs, 0.42 job-hours (median 750 s)"
    assert lines[2] == "  evaluate: 1 job, 0.02 job-hours (median 60 s)"
    # 10:00-10:20 (two overlapping jobs) and 12:00-12:01; the gap between them does not count
    assert lines[3] == "  busy wall time 21 min, 2026-12-01 10:00 to 2026-12-01 12:01 UTC"


def test_a_study_without_records_says_so(tmp_path):
    lines = StudyStatus("s", [_stage(tmp_path, "train", "a", None)]).compute_lines()
    assert lines == ["compute s: no provenance record yet"]


def test_a_reader_that_stops_early_ends_status_quietly(tmp_path, params):
    """`procrustean status --all | head -1`: no traceback and no error line, exit 141 (SIGPIPE's
    status in the shell), like other Unix tools."""
    params["studies"]["smoke"]["seeds"] = list(range(2000))  # 8,000 absent stages: > 64 KB
    write_params(tmp_path, params)
    proc = subprocess.Popen(
        [str(BIN / "procrustean"), "status", "--all", "--study", "smoke"],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().startswith("status smoke: ")
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141, err
    assert err == ""
