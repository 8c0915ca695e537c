"""Device choice, determinism and thread settings shared by training and evaluation."""

from __future__ import annotations

import os

import torch

from procrustean.errors import UserError


def select_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(
            f"--device {name}: no CUDA device is visible here; use --device cpu or auto"
        )
    if name != "cpu" and not name.startswith("cuda"):
        raise UserError(f"--device {name}: use auto, cpu or cuda[:N]")
    return torch.device(name)


def configure(device: torch.device, threads: int | None) -> None:
    """Deterministic algorithms on the CPU, a fixed thread count, fast kernels on CUDA."""
    if threads:
        torch.set_num_threads(threads)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def describe(device: torch.device) -> str:
    """Human-readable device name for provenance."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{torch.get_num_threads()} threads"
