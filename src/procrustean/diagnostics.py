"""Per-class evidence per epoch (clean training accuracy, feature gradients) and its summaries."""

from __future__ import annotations

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


class GradientMeter:
    """Mean L2 norm of the loss gradient at the classifier's input, per class, over an epoch."""

    def __init__(self, num_classes: int, device: torch.device) -> None:
        self.sums = torch.zeros(num_classes, dtype=torch.float64, device=device)
        self.counts = torch.zeros(num_classes, dtype=torch.float64, device=device)

    def add(self, features_grad: torch.Tensor, labels: torch.Tensor) -> None:
        norms = features_grad.detach().float().norm(dim=1).double()
        self.sums.index_add_(0, labels, norms)
        self.counts.index_add_(0, labels, torch.ones_like(norms))

    def means(self) -> list[float]:
        return (self.sums / self.counts.clamp_min(1)).tolist()


def rounded(values: list[float], digits: int = 6) -> list[float]:
    """Values rounded for compact, stable JSON."""
    return [round(float(v), digits) for v in values]


def progress_gap(epochs: list[dict], groups: dict[str, list[int]]) -> float | None:
    """Mean major (or many) minus mean minor (or few) training accuracy over the first quarter."""
    top = groups.get("major") or groups.get("many")
    bottom = groups.get("minor") or groups.get("few") or groups.get("medium")
    if not top or not bottom or not epochs:
        return None
    early = epochs[: max(1, len(epochs) // 4)]
    gaps = [
        sum(e["class_acc"][c] for c in top) / len(top)
        - sum(e["class_acc"][c] for c in bottom) / len(bottom)
        for e in early
    ]
    return sum(gaps) / len(gaps)


def gradient_ratio(epochs: list[dict], groups: dict[str, list[int]]) -> float | None:
    """Mean minor (or few) over mean major (or many) feature-gradient norm, over all epochs."""
    top = groups.get("major") or groups.get("many")
    bottom = groups.get("minor") or groups.get("few") or groups.get("medium")
    if not top or not bottom or not epochs:
        return None
    major = sum(e["class_grad_norm"][c] for e in epochs for c in top) / (len(top) * len(epochs))
    minor = sum(e["class_grad_norm"][c] for e in epochs for c in bottom) / (
        len(bottom) * len(epochs)
    )
    return minor / major if major > 0 else None
