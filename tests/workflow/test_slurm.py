"""The SLURM profile against a real single-node SLURM cluster on localhost.

Skipped only where SLURM cannot be installed or started (not root, no slurm-wlm); never in CI,
where .ci/run installs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from procrustean import cpu_mode
from tests.helpers import IN_CI, REPO
from tests.helpers.clones import fresh_clone, run

pytestmark = [pytest.mark.slow, pytest.mark.slurm]
LOCALHOST_OVERRIDES = [
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--default-resources",
    "slurm_partition=main",
]
COMPARED = (
    "data/splits",
    "runs",
    "results/smoke/metrics",
    "results/smoke/history",
    "results/smoke/splits",
    "results/smoke/tables",
)


@pytest.fixture(scope="module")
def cluster():
    """Start SLURM on localhost for this module, stop it afterwards."""
    if os.geteuid() != 0 or not shutil.which("slurmctld"):
        if IN_CI:
            pytest.fail("CI must run the SLURM tests: .ci/run installs slurm-wlm and runs as root")
        pytest.skip("needs root and Debian's slurm-wlm (bash scripts/setup.sh --slurm)")
    start = subprocess.run(
        ["bash", str(REPO / "scripts/slurm-localhost.sh"), "start"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert start.returncode == 0, start.stdout + start.stderr
    yield
    subprocess.run(
        ["bash", str(REPO / "scripts/slurm-localhost.sh"), "stop"], capture_output=True, timeout=60
    )


def _outputs(repo: Path) -> dict[str, bytes]:
    files = {}
    for sub in COMPARED:
        for p in sorted((repo / sub).rglob("*")):
            if p.is_file() and not p.name.endswith(".prov.json") and p.name != ".gitignore":
                files[p.relative_to(repo).as_posix()] = p.read_bytes()
    return files


@pytest.mark.ci
def test_smoke_study_on_slurm_matches_local_run(cluster, tmp_path):
    started = time.monotonic()
    slurm = fresh_clone(tmp_path / "slurm")
    out = run(
        ["snakemake", "--profile", "workflow/profiles/slurm", "smoke", *LOCALHOST_OVERRIDES], slurm
    )
    wall = time.monotonic() - started
    # this run's records (the clone also holds the other studies' committed ones)
    copies = sorted((slurm / "results/smoke/splits").glob("*.prov.json"))
    for copy in copies:  # each split's record, copied beside its committed summary
        assert copy.read_bytes() == (slurm / "data/splits/smoke" / copy.name).read_bytes()
    assert len(copies) == 2
    records = [
        json.loads(p.read_text())
        for p in (slurm / "results/smoke").rglob("*.prov.json")
        if p not in copies
    ]
    records += [json.loads(p.read_text()) for p in (slurm / "data").rglob("*.prov.json")]
    stages = {r["stage"] for r in records}
    assert stages == {"split", "train", "evaluate", "report"}
    job_ids = sorted(int(r["slurm_job_id"]) for r in records if r["slurm_job_id"])
    assert len(job_ids) == len(records) == 11, records  # every job ran inside SLURM
    assert len(set(job_ids)) == 11
    assert (
        out.stdout.count("submitted with SLURM jobid")
        + out.stderr.count("submitted with SLURM jobid")
        >= 11
    )
    assert len(list((slurm / "logs/slurm").rglob("*.log"))) == 11
    # the portable CPU mode reached the jobs SLURM ran (procrustean.cpu_mode)
    kernel_stages = [r for r in records if r["stage"] in ("train", "evaluate")]
    assert {r["stage"] for r in kernel_stages} == {"train", "evaluate"}
    for r in kernel_stages:
        assert r["slurm_job_id"] and r["cpu"]["mode"] == "portable", (r["stage"], r["cpu"])
        assert r["cpu"]["pinned"] == cpu_mode.PORTABLE_ENV, (r["stage"], r["cpu"])
    print(f"SLURM job ids {job_ids}; smoke study on SLURM took {wall:.0f} s")

    local = fresh_clone(tmp_path / "local")
    run(["snakemake", "--cores", "2", "smoke"], local)
    a, b = _outputs(slurm), _outputs(local)
    assert a.keys() == b.keys() and len(a) > 20
    different = [k for k in a if a[k] != b[k]]
    assert not different, different


def test_scancel_mid_training_is_retried_and_resumes(cluster, tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["recipes"]["smoke"]["epochs"] = 5
    params["datasets"]["synthetic"]["max_per_class"] = 800  # seconds per epoch
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "longer"],
        cwd=repo,
        check=True,
    )
    target = "runs/smoke/synthetic-step-r10/ce/seed0/model.pt"
    reference = fresh_clone(tmp_path / "reference")
    (reference / "params.yaml").write_text((repo / "params.yaml").read_text())
    run(["snakemake", "--cores", "1", target], reference)

    from tests.helpers import BIN, cli_env

    proc = subprocess.Popen(
        [
            str(BIN / "snakemake"),
            "--profile",
            "workflow/profiles/slurm",
            target,
            *LOCALHOST_OVERRIDES,
        ],
        cwd=repo,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    resume = repo / (target + ".resume.pt")
    deadline = time.monotonic() + 300
    while not resume.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert resume.exists(), "training never wrote its first epoch checkpoint"
    jobs = subprocess.run(["squeue", "-h", "-o", "%i %j %k"], capture_output=True, text=True).stdout
    train_jobs = [line.split()[0] for line in jobs.splitlines() if "rule_train" in line]
    assert len(train_jobs) == 1, jobs
    subprocess.run(["scancel", train_jobs[0]], check=True)
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-3000:]
    log = (repo / "logs/smoke/train/synthetic-step-r10/ce/seed0.log").read_text()
    assert "resumed from" in log, log
    assert (repo / target).read_bytes() == (reference / target).read_bytes()
    record = json.loads(
        (repo / "results/smoke/history/synthetic-step-r10/ce/seed0.json.prov.json").read_text()
    )
    assert record["slurm_job_id"] not in (None, train_jobs[0])  # finished by the retry


def test_paper_dry_run_gives_every_training_job_a_gpu(cluster):
    out = run(["snakemake", "--profile", "workflow/profiles/slurm", "-n", "--cores", "all"], REPO)
    text = out.stdout + out.stderr
    blocks = text.split("\nrule ")
    train = [b for b in blocks if b.startswith("train:")]
    assert len(train) == 384  # 8 settings x 16 methods x 3 seeds
    assert all(re.search(r"resources: .*\bgpu=1\b", b) for b in train)
    assert all(re.search(r"resources: .*\bruntime=240\b", b) for b in train)
