"""Per-epoch scalars as TensorBoard event files, for watching a run while it trains.

``tensorboard --logdir logs/<study>/tensorboard`` shows every run of a study; the files live in
logs/ (not results/ or runs/), so they are never part of an output's content.
"""

from __future__ import annotations

from pathlib import Path


class ScalarLog:
    """A training observer writing one point per epoch per scalar; does nothing when ``logdir``
    is None."""

    def __init__(self, logdir: str | Path | None) -> None:
        self.writer = None
        if logdir is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(logdir))

    def line(self, text: str) -> None:
        pass

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        pass

    def step(self, images: int) -> None:
        pass

    def loss(self, value: float) -> None:
        pass

    def end_epoch(
        self, entry: dict, groups: dict[str, list[int]], img_per_s: float, seconds: float
    ) -> None:
        """The epoch's loss, learning rate and per-group accuracy, gradient and weakening."""
        if self.writer is None:
            return
        step, add = entry["epoch"], self.writer.add_scalar
        add("train/loss", entry["train_loss"], step)
        add("train/lr", entry["lr"], step)
        add("train/images_per_s", img_per_s, step)
        acc = entry["class_acc"]
        add("clean_train_accuracy/all", sum(acc) / len(acc), step)
        for name, classes in groups.items():
            if not classes:
                continue
            for tag, key in (
                ("clean_train_accuracy", "class_acc"),
                ("feature_gradient_norm", "class_grad_norm"),
                ("weakened_fraction", "weakened_fraction"),
            ):
                add(f"{tag}/{name}", sum(entry[key][c] for c in classes) / len(classes), step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
