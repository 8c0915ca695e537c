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


def deterministic_eager_kernels() -> None:
    """What ``torch.use_deterministic_algorithms(True)`` does for eager kernels, without its
    import of ``torch._inductor`` (about 2 s of every CPU job's start): that import only sets
    the compiler's copy of the flag, and no stage compiles."""
    torch._C._set_deterministic_algorithms(True, warn_only=False)


def configure(device: torch.device, threads: int | None, deterministic: bool = False) -> None:
    """A fixed thread count; deterministic algorithms on the CPU always, on CUDA when asked
    (deterministic cuDNN, no TF32, no autotuning), fast kernels on CUDA otherwise."""
    if threads:
        torch.set_num_threads(threads)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if device.type == "cpu":
        deterministic_eager_kernels()
        return
    fast = not deterministic
    if deterministic:
        # cuBLAS needs a fixed workspace to be deterministic; set before its first use.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = fast
    torch.backends.cuda.matmul.allow_tf32 = fast
    torch.backends.cudnn.allow_tf32 = fast


def describe(device: torch.device) -> str:
    """Human-readable device name for provenance."""
    if device.type == "cuda":
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        where = f" (CUDA_VISIBLE_DEVICES={visible})" if visible is not None else ""
        return f"cuda:{torch.cuda.get_device_name(device)}{where}"
    return f"cpu:{torch.get_num_threads()} threads"
