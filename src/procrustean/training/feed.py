"""What a training run feeds on: the split's images and labels on the device, the fixed
diagnostic subset, the held-out images, the class groups and the batch augmentation."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from procrustean.data.augment import BatchAugment, channel_stats
from procrustean.data.profiles import class_groups, major_classes
from procrustean.data.sources import load_source
from procrustean.data.split import read_split, split_tensors
from procrustean.diagnostics import heldout_subset, stratified_subset
from procrustean.entries import Dataset, Recipe
from procrustean.errors import UserError
from procrustean.fileio import sha256_file


@dataclass(frozen=True)
class TrainingData:
    """A run's data, read once: the split (and its sha256), its tensors, the subsets the
    diagnostics read, and how the classes group."""

    split: dict
    split_sha: str
    images: torch.Tensor  # on the device
    labels: torch.Tensor  # on the device
    labels_cpu: torch.Tensor
    heldout_images: torch.Tensor  # on the device
    heldout_labels: torch.Tensor
    diag_idx: torch.Tensor  # the fixed diagnostic subset (indices into images)
    groups: dict[str, list[int]]
    major: list[int]
    norm: dict[str, list[float]]
    augment: BatchAugment

    @property
    def counts(self) -> list[int]:
        return self.split["class_counts"]

    @property
    def num_classes(self) -> int:
        return len(self.counts)

    @property
    def in_channels(self) -> int:
        return int(self.images.shape[1])


def check_batch_size(recipe: Recipe, n: int) -> None:
    """A batch cannot be larger than the split."""
    if recipe.batch_size > n:
        raise UserError(
            f"recipes.{recipe.name}.batch_size is {recipe.batch_size} but the split has only "
            f"{n} training images; lower batch_size below {n}"
        )


def load_training_data(
    dataset: Dataset, recipe: Recipe, split_path: str, device: torch.device
) -> TrainingData:
    """Read the split and its source images, and put what the run reads on ``device``."""
    split = read_split(split_path, dataset.name)
    split_sha = sha256_file(split_path)
    raw = load_source(dataset)
    images, labels = split_tensors(split, raw)
    kept = torch.tensor(split["indices"], dtype=torch.int64)
    held = heldout_subset(raw.train_labels, kept, recipe.heldout_per_class, dataset.seed)
    heldout_images = raw.train_images[held].to(device)
    check_batch_size(recipe, len(labels))
    counts = split["class_counts"]
    profile, fraction = split["profile"], split["minor_fraction"]
    order = split.get("class_order")  # absent: label order
    mean, std = channel_stats(images)
    augment = BatchAugment(
        mean, std, dataset.crop_padding, dataset.flip, device, recipe.channels_last
    )
    return TrainingData(
        split=split,
        split_sha=split_sha,
        images=images.to(device),
        labels=labels.to(device),
        labels_cpu=labels,
        heldout_images=heldout_images,
        heldout_labels=raw.train_labels[held],
        diag_idx=stratified_subset(labels, recipe.diagnostic_per_class, dataset.seed),
        groups=class_groups(counts, profile, fraction, order),
        major=major_classes(counts, profile, fraction, order),
        norm={"mean": mean, "std": std},
        augment=augment,
    )
