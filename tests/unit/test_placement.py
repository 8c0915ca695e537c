"""GPU placement for local runs, exercised with simulated devices (no CUDA needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from procrustean.engines.placement import (
    GPUS_ENV,
    LOCK_DIR_ENV,
    should_place,
    slot_order,
    visible_gpus,
)
from tests.helpers import BIN, cli_env, write_params

HOLDER = """
import os, sys, time
from pathlib import Path
from procrustean.engines.placement import acquire
slot = acquire(int(sys.argv[1]), say=lambda t: None, timeout=float(sys.argv[2]))
print("none" if slot is None else f"{slot.gpu} {slot.index} {os.environ['CUDA_VISIBLE_DEVICES']}",
      flush=True)
release = Path(sys.argv[3])
while slot is not None and not release.exists():
    time.sleep(0.05)
"""


def test_slots_spread_over_gpus_before_sharing():
    assert slot_order(["0", "1", "2"], 2) == [
        ("0", 0), ("1", 0), ("2", 0), ("0", 1), ("1", 1), ("2", 1),
    ]  # fmt: skip


def test_when_a_run_places_itself():
    sim = {GPUS_ENV: "0,1,2,3"}
    assert should_place("auto", sim) and should_place("cuda", sim)
    assert not should_place("cpu", sim)
    assert not should_place("cuda:2", sim)  # the user pinned a device
    assert not should_place("auto", {**sim, "SLURM_JOB_ID": "7"})  # the scheduler placed it
    assert not should_place("auto", {"CUDA_VISIBLE_DEVICES": "3"})  # one device: nothing to do
    assert should_place("auto", {"CUDA_VISIBLE_DEVICES": "2,5"})
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2,5"}) == ["2", "5"]
    assert visible_gpus({GPUS_ENV: "1, 3", "CUDA_VISIBLE_DEVICES": "0"}) == ["1", "3"]


def _holder(tmp_path: Path, env: dict, release: Path, timeout: float = 30) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, "2", str(timeout), str(release)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_concurrent_runs_get_their_own_slots(tmp_path):
    """3 simulated GPUs x 2 runs per GPU: six concurrent runs take six different slots, two per
    GPU; a seventh finds none free; when a run exits its slot is taken again."""
    env = {**cli_env(), GPUS_ENV: "0,1,2", LOCK_DIR_ENV: str(tmp_path / "locks")}
    release = tmp_path / "release"
    holders = [_holder(tmp_path, env, release) for _ in range(6)]
    try:
        got = [p.stdout.readline().split() for p in holders]
        print("\n".join(f"job {i}: GPU {g[0]} slot {g[1]} CUDA_VISIBLE_DEVICES={g[2]}"
                        for i, g in enumerate(got)))  # fmt: skip
        assert sorted((g[0], int(g[1])) for g in got) == sorted(slot_order(["0", "1", "2"], 2))
        assert all(g[0] == g[2] for g in got)  # each run sees only its own GPU
        late = _holder(tmp_path, env, release, timeout=1)
        assert late.stdout.readline().strip() == "none"
        late.wait(10)
        holders[4].kill()  # a crash frees the slot: the kernel drops the lock
        holders[4].wait(10)
        again = _holder(tmp_path, env, release)
        holders.append(again)
        assert again.stdout.readline().split()[:2] == got[4][:2]
    finally:
        release.touch()
        for p in holders:
            p.wait(10)


@pytest.mark.heavy
def test_train_places_itself_and_says_where(workdir, params, tmp_path):  # noqa: F811
    params["recipes"]["smoke"]["epochs"] = 1
    params["recipes"]["smoke"]["resources"] = {"runs_per_gpu": 2}
    write_params(workdir, params)
    env = {**cli_env(), GPUS_ENV: "0,1", LOCK_DIR_ENV: str(tmp_path / "locks")}
    cmd = [str(BIN / "procrustean"), "train", "--study", "smoke", "--dataset", "synthetic",
           "--method", "ce", "--seed", "0", "--split", "split.json"]  # fmt: skip
    procs = [
        subprocess.Popen(
            [*cmd, "--checkpoint", f"r{i}/model.pt", "--history", f"r{i}/h.json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-300:] for o in outs]
    lines = [next(ln for ln in err.splitlines() if ln.startswith("placement:")) for _, err in outs]
    assert all("CUDA_VISIBLE_DEVICES=" in ln for ln in lines)
    assert all(" on GPU " in out for out, _ in outs)
