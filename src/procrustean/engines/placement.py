"""GPU placement for local runs: each training process takes one slot (a GPU, or a share of one
when ``runs_per_gpu`` > 1) by locking a slot file, and sees only that GPU.

Snakemake's local executor starts jobs without telling them which GPU to use, so every job
would land on ``cuda:0``. A slot is an exclusive ``flock`` on ``<lock dir>/gpu<i>-slot<k>.lock``,
held for the life of the process and dropped by the kernel when it exits, however it exits.
Slots are tried across GPUs first (gpu0-slot0, gpu1-slot0, ..., gpu0-slot1, ...), so runs
spread out before they share. Nothing is placed where a scheduler already did it (SLURM), where
the user pinned one device (``CUDA_VISIBLE_DEVICES`` with one entry, ``--device cuda:N``), or
where no GPU is present.

``PROCRUSTEAN_GPUS`` lists the GPU indices to place on (e.g. ``0,1,2,3``): it overrides
detection, and lets the placement be exercised without GPUs.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

GPUS_ENV = "PROCRUSTEAN_GPUS"
LOCK_DIR_ENV = "PROCRUSTEAN_GPU_LOCK_DIR"
POLL_SECONDS = 2.0


@dataclass
class Slot:
    """A held slot: the physical GPU index, the slot on it, and the open locked file."""

    gpu: str
    index: int
    handle: IO[str]

    def describe(self) -> str:
        return f"GPU {self.gpu}, slot {self.index}"


def visible_gpus(environ: dict[str, str] | None = None) -> list[str]:
    """The GPUs this process may place on: ``PROCRUSTEAN_GPUS``, else ``CUDA_VISIBLE_DEVICES``,
    else the NVIDIA driver's device list (no CUDA initialisation)."""
    env = os.environ if environ is None else environ
    for key in (GPUS_ENV, "CUDA_VISIBLE_DEVICES"):
        if env.get(key) is not None:
            return [g.strip() for g in env[key].split(",") if g.strip() and g.strip() != "-1"]
    driver = Path("/proc/driver/nvidia/gpus")
    return [str(i) for i in range(len(list(driver.iterdir())))] if driver.is_dir() else []


def should_place(device: str, environ: dict[str, str] | None = None) -> bool:
    """Whether this run picks its own GPU: device auto/cuda, no scheduler, no pinned device."""
    env = os.environ if environ is None else environ
    if device not in ("auto", "cuda") or env.get("SLURM_JOB_ID"):
        return False
    return len(visible_gpus(env)) > 1 or (GPUS_ENV in env and len(visible_gpus(env)) >= 1)


def slot_order(gpus: list[str], runs_per_gpu: int) -> list[tuple[str, int]]:
    """Slots in the order they are tried: every GPU's first slot, then every second slot, ..."""
    return [(g, k) for k in range(runs_per_gpu) for g in gpus]


def lock_dir(environ: dict[str, str] | None = None) -> Path:
    """Where slot files live: machine-wide by default, so two clones share the GPUs fairly."""
    env = os.environ if environ is None else environ
    default = Path(tempfile.gettempdir()) / f"procrustean-gpu-slots-{os.getuid()}"
    path = Path(env.get(LOCK_DIR_ENV) or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def try_acquire(gpus: list[str], runs_per_gpu: int, folder: Path) -> Slot | None:
    """The first free slot, locked; None when every slot is taken."""
    for gpu, k in slot_order(gpus, runs_per_gpu):
        handle = open(folder / f"gpu{gpu}-slot{k}.lock", "a+")  # noqa: SIM115 - held open
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return Slot(gpu, k, handle)
    return None


def acquire(
    runs_per_gpu: int,
    say=print,
    environ: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Slot | None:
    """Take a slot (waiting while all are busy), restrict this process to its GPU through
    ``CUDA_VISIBLE_DEVICES`` and return it; None when nothing is to be placed."""
    env = os.environ if environ is None else environ
    gpus = visible_gpus(env)
    folder = lock_dir(env)
    waited, started = False, time.monotonic()
    while True:
        slot = try_acquire(gpus, runs_per_gpu, folder)
        if slot is not None:
            break
        if timeout is not None and time.monotonic() - started > timeout:
            return None
        if not waited:
            say(
                f"placement: all {len(gpus) * runs_per_gpu} GPU slots are busy "
                f"({len(gpus)} GPUs x runs_per_gpu {runs_per_gpu}); waiting for one"
            )
            waited = True
        time.sleep(POLL_SECONDS)
    os.environ["CUDA_VISIBLE_DEVICES"] = slot.gpu
    say(f"placement: {slot.describe()} (CUDA_VISIBLE_DEVICES={slot.gpu})")
    return slot
