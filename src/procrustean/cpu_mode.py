"""The portable CPU mode: the same bytes from training and evaluation on any x86-64 server.

torch's CPU kernels pick a code path from the processor they run on: ATen's vectorised kernels
(AVX2, AVX-512), oneDNN's convolutions (AVX2, AVX-512, AMX) and MKL's BLAS each round
differently on each path, so the same run gives other bytes on another processor. The portable
mode pins all three to what every x86-64 server since 2013 has (AVX2, and MKL's conditional
numerical reproducibility in its compatible mode); training and evaluation then give the same
bytes on an AMD EPYC, an Intel Xeon with AMX or an emulated Haswell.

The variables are read when torch first runs a kernel, so ``apply`` runs when procrustean is
imported, before it imports torch. ``PROCRUSTEAN_CPU_MODE=native`` leaves the paths to torch
(faster on some processors, bit-exact only on the machine that ran it). Nothing can pin CUDA
kernels across GPU models or ARM's kernels to x86's: there the mode says so in the record.
"""

from __future__ import annotations

import os
import platform
from functools import cache
from pathlib import Path
from typing import Any

MODE_ENV = "PROCRUSTEAN_CPU_MODE"
PORTABLE = "portable"
NATIVE = "native"
PORTABLE_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "COMPATIBLE,STRICT",
}


def requested_mode() -> str:
    """The mode asked for: ``$PROCRUSTEAN_CPU_MODE`` (portable unless it says native)."""
    return NATIVE if os.environ.get(MODE_ENV, PORTABLE).strip().lower() == NATIVE else PORTABLE


def pinnable() -> bool:
    """Whether this machine's kernels can be pinned to the portable path (x86-64 only)."""
    return platform.machine().lower() in {"x86_64", "amd64"}


def apply() -> str:
    """Set the portable mode's variables in this process's environment (inherited by every
    process it starts) unless native mode is asked for; returns the mode in effect. In native
    mode the pins a portable parent process passed down are removed (a value set by hand to
    something else stays)."""
    if requested_mode() == NATIVE or not pinnable():
        for key, value in PORTABLE_ENV.items():
            if os.environ.get(key) == value:
                del os.environ[key]
        return NATIVE
    os.environ.update(PORTABLE_ENV)
    return PORTABLE


def environment() -> dict[str, str]:
    """The variables a process must carry to run in the mode asked for (empty in native mode),
    for tools that start processes with an environment of their own."""
    return dict(PORTABLE_ENV) if requested_mode() == PORTABLE and pinnable() else {}


@cache
def cpu_model() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def in_effect() -> str:
    """The mode this process runs in: portable only when every variable holds its pinned value."""
    pinned = all(os.environ.get(k) == v for k, v in PORTABLE_ENV.items())
    return PORTABLE if pinned and pinnable() else NATIVE


def describe(device_type: str = "cpu") -> dict[str, Any]:
    """What the provenance records: the mode, the kernel path ATen actually took, the processor,
    and whether a re-derivation on another machine can be expected to give the same bytes."""
    import torch

    mode = in_effect()
    if device_type != "cpu":
        portable_note = "no: CUDA kernels are not pinned; bytes may differ across GPU models"
    elif mode == PORTABLE:
        portable_note = "yes: same bytes on any x86-64 processor with AVX2"
    elif not pinnable():
        portable_note = f"no: no portable kernel path on {platform.machine()}"
    else:
        portable_note = "no: native mode, bit-exact only on this processor"
    return {
        "mode": mode,
        "aten_capability": torch.backends.cpu.get_cpu_capability(),
        "pinned": {k: os.environ.get(k) for k in PORTABLE_ENV},
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "bit_exact_across_machines": portable_note,
    }
