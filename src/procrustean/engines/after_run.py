"""Bookkeeping after a Snakemake run: dvc.lock, and the re-derived numbers against the committed.

Runs in Snakemake's ``onsuccess``: whatever goes wrong here is reported in one line and never
turns a successful run into a failed command.
"""

from __future__ import annotations

import subprocess

from procrustean.checks.compare import compare_study, is_git_repo, studies_written_since
from procrustean.config import DEFAULT_PARAMS, load_params
from procrustean.engines.dvcsync import commit_completed
from procrustean.engines.run_config import write_run_configs
from procrustean.entries import Params
from procrustean.errors import UserError


def _say(line: str) -> None:
    print(f"procrustean: {line}", flush=True)


def record_in_dvc(params: Params, params_path: str, since: float | None = None) -> None:
    """Commit what the run made (outputs written after ``since``, its start) to dvc.lock,
    unless the run used parameter overrides. First the run-config files DVC's train stages
    depend on are brought in line with params.yaml (Snakemake decided what to re-run from the
    same entries). Files a fresh clone checked out are older than the run, so their stages keep
    the entries the committed dvc.lock has."""
    if str(params_path) != str(DEFAULT_PARAMS):
        _say(
            f"dvc: not recording this run in dvc.lock: it ran with --config/--configfile "
            f"overrides ({params_path}), which params.yaml does not hold; 'dvc status' lists "
            "its stages as changed"
        )
        return
    try:
        refreshed = [f for s in params.studies for f in write_run_configs(params, s).written]
        if refreshed:
            _say(f"dvc: {len(refreshed)} key files rewritten from params.yaml and the code")
        if not is_git_repo():
            _say(
                "dvc: dvc.lock not updated: this folder is not a git repository (a tarball); "
                "DVC needs one ('git init' first to use DVC here)"
            )
            return
        _say(commit_completed(params, written_since=since).line())
    except (UserError, OSError, subprocess.SubprocessError) as exc:
        _say(f"dvc: dvc.lock not updated ({exc}); the run itself succeeded")


def report_comparisons(params: Params, since: float) -> None:
    """For each study this run wrote numbers for, the summary ``procrustean compare`` prints:
    byte-identical to the committed, conclusions reproduced (numbers drifted within the stated
    tolerances) or conclusions differ, then the runs that moved and the failing checks. The
    report has been written by now, so the conclusions are judged from its tables."""
    for study in studies_written_since(params, since):
        try:
            for line in compare_study(params, study).lines():
                _say(line)
        except (OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
            _say(f"{study}: not compared with committed results ({exc.__class__.__name__})")


def after_run(params_path: str, since: float) -> None:
    """dvc.lock, then the comparison; each step reports and never raises."""
    try:
        params = load_params(params_path)
    except UserError as exc:
        _say(f"after-run skipped: {exc}")
        return
    record_in_dvc(params, params_path, since)
    report_comparisons(params, since)
