"""A user's own analysis, from the docs alone (docs/analyses.md): in a fresh clone, one new file
under analyses/ on the committed quick study, `procrustean dvc-yaml`, then either engine judges
it; nothing else in the repository changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers.clones import fresh_clone, run

pytestmark = pytest.mark.slow

ANALYSIS = {
    "question": "Does mfw improve top-1 over ce in the quick study, and the minor group?",
    "rules": "revised",
    "studies": ["quick"],
    "families": [
        {
            "name": "mine",
            "tests": [
                {"study": "quick", "method": "mfw", "base": "ce", "measure": m, "side": "greater"}
                for m in ("top1", "group_minor")
            ],
        }
    ],
}
ALLOWED = ("analyses/mine.yaml", "dvc.yaml", "dvc.lock", "results/mine/")


def _changed(repo: Path) -> list[str]:
    """Every path git sees changed or new in the clone."""
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line[3:] for line in out.splitlines()]


@pytest.mark.ci
def test_a_users_analysis_is_judged_by_snakemake_and_by_dvc(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    (repo / "analyses/mine.yaml").write_text(yaml.safe_dump(ANALYSIS, sort_keys=False))
    run(["procrustean", "dvc-yaml"], repo)  # the one generated file that names the stages
    diff = subprocess.run(
        ["git", "diff", "-U0", "dvc.yaml"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed and all(ln.startswith("+") for ln in changed), diff  # judge-mine added only
    assert "+  judge-mine:" in changed

    made = run(["dvc", "repro", "--allow-missing", "judge-mine"], repo)  # a new stage: it runs
    table = repo / "results/mine/verdicts.md"
    assert table.is_file(), made.stdout[-2000:] + made.stderr[-2000:]
    first = table.read_text()
    assert "MFW improves top-1 (mfw vs ce)" in first
    assert "MFW improves minor group's accuracy (mfw vs ce)" in first
    snakemake = ["snakemake", "--cores", "1", "judge_mine", "--config", "allow_missing=true"]
    again = run(snakemake, repo)
    assert "Nothing to be done" in again.stdout + again.stderr  # current by content

    for path in (repo / "results/mine").iterdir():
        path.unlink()
    run(snakemake, repo)
    assert table.read_text() == first  # the same judging through Snakemake
    status = run(["procrustean", "status", "--allow-missing"], repo, check=False).stdout
    assert "status quick: all 10 stages up to date" in status, status
    assert "status judge-mine: up to date (allow-missing)" in status, status

    changed = _changed(repo)
    assert changed and all(p.startswith(ALLOWED) for p in changed), changed
