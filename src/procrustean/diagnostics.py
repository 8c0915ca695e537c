"""Per-class evidence per epoch (clean training accuracy, held-out accuracy, feature gradients,
where minor images are predicted) and its summaries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from procrustean.data.augment import BatchAugment

EVAL_BATCH = 512


def stratified_subset(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """A fixed subset with up to ``per_class`` samples of each class (same for every method)."""
    gen = torch.Generator().manual_seed(seed + 4_242)
    picks = []
    for c in range(int(labels.max()) + 1):
        pool = torch.nonzero(labels == c).flatten()
        picks.append(pool[torch.randperm(len(pool), generator=gen)[:per_class]])
    return torch.sort(torch.cat(picks)).values


def heldout_subset(
    all_labels: torch.Tensor, kept: torch.Tensor, per_class: int, seed: int
) -> torch.Tensor:
    """Up to ``per_class`` images of each class from the training partition that the split did
    not keep (sorted indices into the partition): a balanced held-out set that leaves the test
    set untouched. A class with no images left contributes none."""
    if per_class == 0:
        return torch.zeros(0, dtype=torch.int64)
    unused = torch.ones(len(all_labels), dtype=torch.bool)
    unused[kept] = False
    gen = torch.Generator().manual_seed(seed + 9_973)
    picks = []
    for c in range(int(all_labels.max()) + 1):
        pool = torch.nonzero(unused & (all_labels == c)).flatten()
        picks.append(pool[torch.randperm(len(pool), generator=gen)[:per_class]])
    return torch.sort(torch.cat(picks)).values


@torch.no_grad()
def predict(
    model: torch.nn.Module, images: torch.Tensor, augment: BatchAugment, amp: bool = False
) -> torch.Tensor:
    """Logits of uint8 images in eval mode, batched."""
    model.eval()
    outs = []
    for start in range(0, len(images), EVAL_BATCH):
        x = augment.normalize(images[start : start + EVAL_BATCH])
        with torch.autocast(x.device.type, enabled=amp):
            logits, _ = model(x)
        outs.append(logits.float())
    return torch.cat(outs)


def per_class_accuracy_loss(
    logits: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> tuple[list[float], list[float]]:
    """Clean accuracy and mean cross-entropy of each class."""
    labels = labels.to(logits.device)
    correct = (logits.argmax(1) == labels).float()
    loss = F.cross_entropy(logits, labels, reduction="none")
    n = torch.bincount(labels, minlength=num_classes).clamp_min(1).float()
    acc = torch.zeros(num_classes, device=logits.device).index_add_(0, labels, correct) / n
    mean_loss = torch.zeros(num_classes, device=logits.device).index_add_(0, labels, loss) / n
    return acc.tolist(), mean_loss.tolist()


def per_class_accuracy(
    logits: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> list[float | None]:
    """Clean accuracy of each class; None for a class with no samples."""
    labels = labels.to(logits.device)
    correct = (logits.argmax(1) == labels).float()
    n = torch.bincount(labels, minlength=num_classes)
    hits = torch.zeros(num_classes, device=logits.device).index_add_(0, labels, correct)
    acc = (hits / n.clamp_min(1).float()).tolist()
    return [a if k > 0 else None for a, k in zip(acc, n.tolist(), strict=True)]


@dataclass(frozen=True)
class CleanPass:
    """One epoch's pass over the fixed training subset: eval mode, no augmentation, no mixing."""

    acc: list[float]  # clean training accuracy per class
    loss: list[float]  # mean cross-entropy per class
    grad_norm: list[float]  # mean per-sample gradient norm of the method's unweighted loss
    to_major: list[float | None]  # share of the class's images predicted as a major class


def clean_pass(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    augment: BatchAugment,
    per_sample_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    major: list[int],
    amp: bool = False,
) -> CleanPass:
    """Accuracy, loss, feature gradients and minor-to-major predictions of each class on clean
    images. The gradient is of each sample's own unweighted training loss (``per_sample_loss``,
    no class weights, no mixing) at the classifier's input; ``to_major`` is None for the major
    classes themselves."""
    model.eval()
    num_classes = model.num_classes
    labels = labels.to(images.device)
    logits_parts, norm_parts = [], []
    for start in range(0, len(images), EVAL_BATCH):
        x = augment.normalize(images[start : start + EVAL_BATCH])
        y = labels[start : start + EVAL_BATCH]
        with torch.no_grad(), torch.autocast(x.device.type, enabled=amp):
            _, features = model(x)
        features = features.float().requires_grad_(True)
        with torch.enable_grad():
            logits = model.classify(features)
            (grad,) = torch.autograd.grad(per_sample_loss(logits, y).sum(), features)
        logits_parts.append(logits.detach())
        norm_parts.append(grad.norm(dim=1).double())
    logits, norms = torch.cat(logits_parts), torch.cat(norm_parts)
    acc, loss = per_class_accuracy_loss(logits, labels, num_classes)
    n = torch.bincount(labels, minlength=num_classes).clamp_min(1).double()
    grad = torch.zeros(num_classes, dtype=torch.float64, device=logits.device)
    grad = grad.index_add_(0, labels, norms) / n
    is_major = torch.zeros(num_classes, dtype=torch.bool, device=logits.device)
    is_major[major] = True
    hits = is_major[logits.argmax(1)].double()
    share = torch.zeros(num_classes, dtype=torch.float64, device=logits.device)
    share = (share.index_add_(0, labels, hits) / n).tolist()
    to_major = [None if c in major else share[c] for c in range(num_classes)]
    return CleanPass(acc, loss, grad.tolist(), to_major)


class GradientMeter:
    """Mean L2 norm of per-sample gradients at the classifier's input, per class, over an
    epoch. Sums stay on the device; they are read once, at the epoch's end."""

    def __init__(self, num_classes: int, device: torch.device) -> None:
        self.sums = torch.zeros(num_classes, dtype=torch.float64, device=device)
        self.counts = torch.zeros(num_classes, dtype=torch.float64, device=device)

    def add(self, features_grad: torch.Tensor, labels: torch.Tensor) -> None:
        norms = features_grad.detach().float().norm(dim=1).double()
        self.sums.index_add_(0, labels, norms)
        self.counts.index_add_(0, labels, torch.ones_like(norms))

    def means(self) -> list[float]:
        return (self.sums / self.counts.clamp_min(1)).tolist()


def rounded(values: list[float | None], digits: int = 6) -> list[float | None]:
    """Values rounded for compact, stable JSON (None stays None)."""
    return [None if v is None else round(float(v), digits) for v in values]
