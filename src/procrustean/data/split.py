"""Split files: which original training images an imbalanced setting keeps, and why."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from procrustean.data.imbalance import SELECTIONS
from procrustean.data.profiles import class_counts
from procrustean.data.sources import RawData, load_source
from procrustean.entries import Dataset, Params
from procrustean.errors import UserError
from procrustean.fileio import atomic_group, read_json, write_json
from procrustean.provenance import now, pin_code, stable_record, write_provenance
from procrustean.stage_params import split_params

SPLIT_FORMAT = 1


def content_digest(images: torch.Tensor, labels: torch.Tensor) -> str:
    """sha256 of a dataset's decoded train images and labels (identifies generated data too)."""
    digest = hashlib.sha256()
    digest.update(images.contiguous().numpy().tobytes())
    digest.update(labels.contiguous().numpy().tobytes())
    return digest.hexdigest()


def make_split(
    cfg: Dataset, profile: str, ratio: int, minor_fraction: float, raw: RawData | None = None
) -> dict:
    """Build the split record for one setting (deterministic in its inputs)."""
    raw = raw or load_source(cfg)
    order = cfg.class_order
    counts = class_counts(cfg.num_classes, cfg.max_per_class, profile, ratio, minor_fraction, order)
    indices = SELECTIONS[cfg.selection](raw.train_labels, counts, cfg.seed)
    split = {
        "format": SPLIT_FORMAT,
        "dataset": cfg.name,
        "dataset_params": cfg.content(),
        "profile": profile,
        "ratio": ratio,
        "minor_fraction": minor_fraction,
        "class_counts": counts,
        "num_train": len(indices),
        "indices": indices.tolist(),
        "source_files": {Path(p).name: sha for p, sha in sorted(raw.files.items())},
        "content_sha256": content_digest(raw.train_images, raw.train_labels),
    }
    if order is not None:  # absent in label order, so those splits keep their bytes
        split["class_order"] = list(order)
    return split


def summarize(split: dict) -> dict:
    """The small human-readable summary written beside a split."""
    counts = split["class_counts"]
    summary = {
        "dataset": split["dataset"],
        "profile": split["profile"],
        "ratio": split["ratio"],
        "minor_fraction": split["minor_fraction"],
        "class_counts": counts,
        "num_train": sum(counts),
        "realized_ratio": max(counts) / min(counts),
    }
    if "class_order" in split:
        summary["class_order"] = split["class_order"]
    return summary


def read_split(path: str | Path, dataset: str | None = None) -> dict:
    """Load a split file, checking its format and (optionally) which dataset made it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: split file not found; run 'procrustean split' for it first")
    try:
        split = read_json(path)
    except ValueError as exc:
        raise UserError(
            f"{path}: not a valid split file ({exc}); delete it and re-run the split"
        ) from exc
    if not isinstance(split, dict) or split.get("format") != SPLIT_FORMAT:
        raise UserError(
            f"{path}: not a procrustean split file (format {SPLIT_FORMAT}); re-run the split"
        )
    if dataset is not None and split["dataset"] != dataset:
        raise UserError(
            f"{path}: split was made from dataset '{split['dataset']}', not '{dataset}'; "
            f"pass the split of '{dataset}' or re-run 'procrustean split' for it"
        )
    return split


def split_tensors(split: dict, raw: RawData) -> tuple[torch.Tensor, torch.Tensor]:
    """The kept training images and labels, after checking the data still matches the split."""
    digest = content_digest(raw.train_images, raw.train_labels)
    if digest != split["content_sha256"]:
        raise UserError(
            f"the {split['dataset']} data on this machine differs from the data the split was made "
            "from (content sha256 mismatch); restore the original files or re-run the split"
        )
    idx = torch.tensor(split["indices"], dtype=torch.int64)
    return raw.train_images[idx], raw.train_labels[idx]


def parse_ratio(value: str | int | float) -> int:
    """An imbalance ratio from the command line: an integer >= 1."""
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise UserError(
            f"--ratio: '{value}' is not a number; give the imbalance ratio n_max/n_min, "
            "e.g. --ratio 100"
        ) from None
    if not ratio >= 1 or ratio != int(ratio):
        raise UserError(f"--ratio: {value} must be a whole number >= 1 (n_max/n_min), e.g. 100")
    return int(ratio)


def run_split(
    params: Params, study: str, dataset: str, profile: str, ratio: int, out: str, summary: str
) -> dict:
    """``procrustean split``: write the split file, its summary and provenance."""
    pin_code("split")
    started = now()
    entry, cfg = params.study(study), params.dataset(dataset)
    raw = load_source(cfg)
    split = make_split(cfg, profile, ratio, entry.minor_fraction, raw=raw)
    with atomic_group():
        write_json(out, split)
        write_json(summary, summarize(split))
        stable = stable_record(split_params(cfg, entry, profile, ratio), dict(raw.files), cfg.seed)
        write_provenance("split", [out, summary], stable, started, params.source)
    return split
