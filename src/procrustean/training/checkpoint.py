"""A run's checkpoints: the resume checkpoint (everything needed to continue exactly, rewritten
after every epoch) and the final one (the model and what it was made from, no optimiser and no
times, so the same inputs give the same bytes). Both carry the run's identity (the split's and
the params' sha256) and a resume checkpoint of another identity is never trusted."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from procrustean.fileio import atomic_path

CHECKPOINT_FORMAT = 1


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` atomically (through a buffer: the archive must not name the temporary file)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


class NotResumable(Exception):
    """A resume checkpoint that exists but cannot be used (the message says why)."""


@dataclass(frozen=True)
class Resumable:
    """The objects whose state a resume checkpoint holds."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    gen_order: torch.Generator
    gen_aug: torch.Generator
    mixing: Any  # the method's mixing policy (state_dict / load_state_dict)


def save_resume(
    path: Path, identity: dict, parts: Resumable, epoch: int, history: list[dict]
) -> None:
    """Write the resume checkpoint atomically."""
    save_torch(
        path,
        {
            "format": CHECKPOINT_FORMAT,
            **identity,
            "epoch": epoch,
            "model": parts.model.state_dict(),
            "optimizer": parts.optimizer.state_dict(),
            "scaler": parts.scaler.state_dict(),
            "rng": {
                "order": parts.gen_order.get_state(),
                "aug": parts.gen_aug.get_state(),
                "torch": torch.get_rng_state(),
            },
            "mixing": parts.mixing.state_dict(),
            "history": history,
        },
    )


def load_resume(
    path: Path, identity: dict, parts: Resumable, device: torch.device
) -> tuple[int, list[dict]]:
    """Restore ``parts`` from the resume checkpoint at ``path``; return its epoch and history.
    Raises NotResumable when the file is unreadable or belongs to another split or params."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged resume file is discarded, not trusted
        raise NotResumable(
            f"ignoring unreadable resume checkpoint {path} ({exc.__class__.__name__})"
        ) from exc
    if {k: state.get(k) for k in identity} != identity:
        raise NotResumable(f"ignoring resume checkpoint {path}: made with another split or params")
    parts.model.load_state_dict(state["model"])
    parts.optimizer.load_state_dict(state["optimizer"])
    parts.scaler.load_state_dict(state["scaler"])
    parts.gen_order.set_state(state["rng"]["order"])
    parts.gen_aug.set_state(state["rng"]["aug"])
    torch.set_rng_state(state["rng"]["torch"])
    parts.mixing.load_state_dict(state["mixing"])
    return state["epoch"], state["history"]


def final_checkpoint(
    identity: dict, epoch: int, model: torch.nn.Module, described: dict[str, Any]
) -> dict:
    """The final checkpoint's content: format, identity, epoch, the model's tensors on the CPU,
    then ``described`` (model config, normalisation, class counts, profile, provenance)."""
    return {
        "format": CHECKPOINT_FORMAT,
        **identity,
        "epoch": epoch,
        "model": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        **described,
    }
