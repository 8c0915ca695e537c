"""Evaluation on the balanced test set: top-1 of the final model, per class, per group, confusion."""

from __future__ import annotations

from pathlib import Path

import torch

from procrustean.data.augment import BatchAugment
from procrustean.data.profiles import class_groups, group_rule
from procrustean.data.sources import load_source
from procrustean.data.split import read_split
from procrustean.diagnostics import predict, rounded
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.fileio import atomic_group, sha256_file, write_json
from procrustean.models.resnet import build_model
from procrustean.provenance import now, pin_code, stable_record, write_provenance
from procrustean.runtime import configure, describe, select_device
from procrustean.stage_params import evaluate_params


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> dict:
    """Load a final checkpoint with ``weights_only=True``; refuse anything else."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found; run 'procrustean train' for it first")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling errors come in many types
        raise UserError(
            f"{path}: refused to load ({exc.__class__.__name__}): not a procrustean checkpoint, "
            "corrupt, or holding objects beyond tensors; delete it and re-run training"
        ) from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "model_config" not in ckpt:
        raise UserError(f"{path}: not a final procrustean checkpoint; re-run training")
    return ckpt


def evaluate(
    params: Params,
    dataset: str,
    split_path: str,
    checkpoint_path: str,
    out: str,
    device: str = "auto",
    threads: int | None = None,
) -> dict:
    """Evaluate a checkpoint on the dataset's test set and write the metrics JSON."""
    pin_code("evaluate")
    dataset_cfg = params.dataset(dataset)
    started = now()
    dev = select_device(device)
    configure(dev, threads)
    split = read_split(split_path, dataset)
    split_sha = sha256_file(split_path)
    ckpt = load_checkpoint(checkpoint_path, dev)
    if ckpt.get("split_sha256") != split_sha:
        raise UserError(
            f"{checkpoint_path}: made on a split with sha256 {str(ckpt.get('split_sha256'))[:12]}..., "
            f"not {split_path} ({split_sha[:12]}...); evaluate it with its own split or retrain"
        )
    raw = load_source(dataset_cfg)
    model = build_model(**ckpt["model_config"]).to(dev)
    model.load_state_dict(ckpt["model"])
    norm = ckpt["normalization"]
    augment = BatchAugment(norm["mean"], norm["std"], 0, False, dev)
    logits = predict(model, raw.test_images, augment)
    metrics = metrics_from_predictions(logits.argmax(1).cpu(), raw.test_labels, split)
    inputs = {split_path: split_sha, checkpoint_path: sha256_file(checkpoint_path)}
    resolved = evaluate_params(dataset_cfg)
    stable = stable_record(resolved, inputs, seed=ckpt["provenance"].get("seed"))
    with atomic_group():
        write_json(out, metrics)
        write_provenance("evaluate", [out], stable, started, params.source, describe(dev))
    return metrics


def metrics_from_predictions(pred: torch.Tensor, labels: torch.Tensor, split: dict) -> dict:
    """Top-1, per-class and per-group accuracy (%) and the confusion matrix."""
    counts = split["class_counts"]
    c = len(counts)
    confusion = torch.zeros(c, c, dtype=torch.int64)
    confusion.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    per_class = (confusion.diag().double() / confusion.sum(1).clamp_min(1)).mul(100).tolist()
    groups = class_groups(
        counts, split["profile"], split["minor_fraction"], split.get("class_order")
    )
    return {
        "dataset": split["dataset"],
        "profile": split["profile"],
        "ratio": split["ratio"],
        "num_test": int(len(labels)),
        "top1": round(float((pred == labels).double().mean() * 100), 4),
        "per_class": rounded(per_class, 4),
        "groups": {
            g: (round(sum(per_class[k] for k in cs) / len(cs), 4) if cs else None)
            for g, cs in groups.items()
        },
        "group_classes": groups,
        "group_rule": group_rule(counts, split["profile"]),
        "class_counts": counts,
        "confusion": confusion.tolist(),
    }
