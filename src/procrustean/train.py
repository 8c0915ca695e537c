"""The training stage: one run from its split to its history, final checkpoint and record.

``Trainer`` puts together the run's parts (procrustean.training): what it feeds on, the
optimisation step and its meters, and the checkpoints that make a resumed run exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from procrustean.data.profiles import group_rule
from procrustean.diagnostics import CleanPass, clean_pass, per_class_accuracy, predict, rounded
from procrustean.entries import Dataset, Method, Recipe
from procrustean.fileio import atomic_group, write_json
from procrustean.methods import build_method
from procrustean.methods.schedules import epoch_order
from procrustean.models.resnet import build_model
from procrustean.observers import EpochClock, Observers, TrainingObserver
from procrustean.provenance import content_identity, now, pin_code, stable_record, write_provenance
from procrustean.runtime import configure, describe, select_device
from procrustean.stage_params import run_params
from procrustean.training.checkpoint import (
    NotResumable,
    Resumable,
    final_checkpoint,
    load_resume,
    save_resume,
    save_torch,
)
from procrustean.training.feed import TrainingData, load_training_data
from procrustean.training.step import EpochMeters, LossLog, Optimisation, sgd_step


@dataclass(kw_only=True)
class TrainJob:
    """Everything one training run reads: resolved params entries, inputs and outputs."""

    dataset: Dataset
    recipe: Recipe
    method: Method
    seed: int
    params_file: str  # the params file the entries came from (recorded in provenance)
    split_path: str
    checkpoint: str
    history: str
    device: str = "auto"
    threads: int | None = None
    resolved: dict = field(init=False)

    def __post_init__(self) -> None:
        self.resolved = run_params(self.dataset, self.recipe, self.method, self.seed)

    @property
    def resume_path(self) -> Path:
        return Path(f"{self.checkpoint}.resume.pt")


def learning_rate(recipe: Recipe, epoch: int) -> float:
    """LDAM-DRW's schedule at 0-based ``epoch``: linear warm-up, then step decays."""
    base, warm = recipe.lr, recipe.warmup_epochs
    if epoch < warm:
        return base * (epoch + 1) / warm
    factor = 1.0
    for start, f in sorted(recipe.lr_decays):
        if epoch >= start:
            factor = f
    return base * factor


class Trainer:
    """One run's state: its data, model, optimiser, method, generators and history."""

    def __init__(self, job: TrainJob, observers: Sequence[TrainingObserver] = ()) -> None:
        self.job, self.recipe = job, job.recipe
        pin_code("train")
        self.device = select_device(job.device)
        configure(
            self.device,
            job.threads or self.recipe.resources.cpus,
            deterministic=self.recipe.deterministic,
        )
        self.data: TrainingData = load_training_data(
            job.dataset, self.recipe, job.split_path, self.device
        )
        data = self.data
        torch.manual_seed(job.seed)
        self.method = build_method(
            job.method,
            data.counts,
            job.seed,
            self.recipe.epochs,
            self.recipe.drw_epoch,
            self.device,
        )
        self.model_config = {
            "name": self.recipe.model,
            "num_classes": data.num_classes,
            "in_channels": data.in_channels,
            "normed": self.method.normed_classifier,
        }
        self.opt = self._optimisation()
        self.parts = Resumable(
            model=self.opt.model,
            optimizer=self.opt.optimizer,
            scaler=self.opt.scaler,
            gen_order=torch.Generator().manual_seed(job.seed * 2 + 1),
            gen_aug=torch.Generator().manual_seed(job.seed * 2 + 2),
            mixing=self.method.mixing,
        )
        self.history: list[dict] = []
        self.epoch = 0
        self.stable = stable_record(job.resolved, {job.split_path: data.split_sha}, seed=job.seed)
        self.identity = {
            "split_sha256": data.split_sha,
            "params_sha256": self.stable["params_sha256"],
        }
        self.progress = Observers(observers)
        self.clock = EpochClock()
        self.epoch_speed = (0.0, 0.0)  # the last epoch's images per second and seconds

    def _optimisation(self) -> Optimisation:
        """The model (channels-last if the recipe says so), SGD and the loss scaler."""
        model = build_model(**self.model_config).to(self.device)
        if self.recipe.channels_last:
            model = model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=self.recipe.lr,
            momentum=self.recipe.momentum,
            weight_decay=self.recipe.weight_decay,
        )
        amp = self.recipe.amp and self.device.type == "cuda"
        return Optimisation(model, optimizer, torch.amp.GradScaler("cuda", enabled=amp), amp)

    @property
    def model(self) -> torch.nn.Module:
        return self.opt.model

    @property
    def labels(self) -> torch.Tensor:
        """The split's labels on the device."""
        return self.data.labels

    # -- checkpoints -------------------------------------------------------------------------

    def try_resume(self) -> bool:
        """Continue from the resume checkpoint when it belongs to this run."""
        path = self.job.resume_path
        if not path.is_file():
            return False
        try:
            self.epoch, self.history = load_resume(path, self.identity, self.parts, self.device)
        except NotResumable as why:
            self.progress.line(str(why))
            return False
        self.progress.line(f"resumed from {path} at epoch {self.epoch}")
        return True

    def final_checkpoint(self) -> dict:
        """The model and what it was made from (no optimiser, no times: same inputs, same bytes)."""
        return final_checkpoint(
            self.identity,
            self.epoch,
            self.model,
            {
                "model_config": self.model_config,
                "normalization": self.data.norm,
                "class_counts": self.data.counts,
                "profile": self.data.split["profile"],
                "provenance": content_identity(self.stable),
            },
        )

    # -- training ----------------------------------------------------------------------------

    def train_epoch(self) -> dict:
        """One pass over the split; returns the epoch's history entry."""
        data, e, batch = self.data, self.epoch, self.recipe.batch_size
        lr = learning_rate(self.recipe, e)
        for group in self.opt.optimizer.param_groups:
            group["lr"] = lr
        weights = self.method.weighting(e)
        order = epoch_order(data.labels_cpu, data.counts, self.method.sampler, self.parts.gen_order)
        order_dev = order.to(self.device)  # one copy per epoch, none per step
        meters = EpochMeters(data.num_classes, self.device)
        losses = LossLog(self.recipe.name, e, lr, self.progress)
        steps = math.ceil(len(order) / batch)
        self.model.train()
        self.progress.start_epoch(e, self.recipe.epochs, steps)
        self.clock.start()
        images = 0
        for step, start in enumerate(range(0, len(order), batch)):
            n = min(batch, len(order) - start)
            if n < 2:  # batch norm needs two samples
                continue
            idx = order_dev[start : start + batch]
            x = data.augment(data.images[idx], self.parts.gen_aug)
            loss = sgd_step(self.opt, self.method, x, data.labels[idx], e, weights, meters)
            losses.add(step, loss)
            images += n
            self.progress.step(n)
        loss_sum = losses.drain()
        clean = self.clean_pass()
        heldout = self.heldout_pass()
        self.epoch_speed = self.clock.stop(images)  # with the diagnostics, as the ETA needs
        self.method.mixing.end_epoch(clean.acc)
        self.epoch += 1
        return {
            "epoch": self.epoch,
            "lr": lr,
            "train_loss": round(loss_sum / steps, 6),
            "class_acc": rounded(clean.acc),
            "class_loss": rounded(clean.loss),
            "heldout_acc": rounded(heldout),
            "class_grad_norm": rounded(meters.grads.means(), 9),
            "class_grad_norm_weighted": rounded(meters.grads_weighted.means(), 9),
            "class_grad_norm_clean": rounded(clean.grad_norm, 9),
            "minor_to_major": rounded(clean.to_major),
            "weakened_fraction": rounded(meters.weakened_fraction()),
        }

    def clean_pass(self) -> CleanPass:
        """Accuracy, loss, unweighted-loss feature gradients and minor-to-major predictions per
        class on the fixed training subset, no augmentation or mixing."""
        data = self.data
        idx = data.diag_idx.to(self.device)
        return clean_pass(
            self.model,
            data.images[idx],
            data.labels[idx],
            data.augment,
            self.method.loss.per_sample,
            data.major,
            self.opt.amp,
        )

    def heldout_pass(self) -> list[float | None]:
        """Per-class accuracy on the held-out images (None where a class has none left)."""
        data = self.data
        if len(data.heldout_labels) == 0:
            return [None] * data.num_classes
        logits = predict(self.model, data.heldout_images, data.augment, self.opt.amp)
        return per_class_accuracy(logits, data.heldout_labels, data.num_classes)

    def run(self) -> None:
        """Train to the recipe's last epoch, resuming if possible, then write the outputs."""
        started = now()
        self.try_resume()
        epochs = self.recipe.epochs
        try:
            while self.epoch < epochs:
                entry = self.train_epoch()
                self.history.append(entry)
                save_resume(
                    self.job.resume_path, self.identity, self.parts, self.epoch, self.history
                )
                self.progress.end_epoch(entry, self.data.groups, *self.epoch_speed)
        finally:
            self.progress.close()
        with atomic_group():
            write_json(self.job.history, self.history_record())
            save_torch(self.job.checkpoint, self.final_checkpoint())
            write_provenance(
                "train",
                [self.job.history, self.job.checkpoint],
                {**self.stable, "timing": self.clock.summary()},
                started,
                self.job.params_file,
                describe(self.device),
            )
        self.job.resume_path.unlink(missing_ok=True)

    def history_record(self) -> dict:
        """The run's per-epoch evidence with what is needed to read it."""
        data, split = self.data, self.data.split
        return {
            "dataset": self.job.dataset.name,
            "method": self.job.method.name,
            "seed": self.job.seed,
            "profile": split["profile"],
            "ratio": split["ratio"],
            "class_counts": data.counts,
            "groups": data.groups,
            "group_rule": group_rule(data.counts, split["profile"]),
            "diagnostic_subset": {
                "per_class": self.recipe.diagnostic_per_class,
                "class_counts": torch.bincount(
                    data.labels_cpu[data.diag_idx], minlength=data.num_classes
                ).tolist(),
            },
            "heldout_subset": {
                "per_class": self.recipe.heldout_per_class,
                "class_counts": torch.bincount(
                    data.heldout_labels, minlength=data.num_classes
                ).tolist(),
                "source": "training-partition images the split did not keep",
            },
            "major_classes": data.major,
            "grad_norm_rule": (
                "class_grad_norm: mean L2 norm of each sample's gradient of its own unweighted "
                "loss at the classifier's input, at the step's (mixed) features; "
                "class_grad_norm_weighted: of the step's class-weighted batch-mean loss; "
                "class_grad_norm_clean: of the unweighted loss on the clean diagnostic pass "
                "(eval mode, no augmentation, no mixing)"
            ),
            "minor_to_major_rule": (
                "minor_to_major: share of each non-major class's diagnostic images (clean pass) "
                "predicted as one of major_classes; None for the major classes"
            ),
            "epochs": self.history,
        }


def train(job: TrainJob, observers: Sequence[TrainingObserver] = ()) -> Trainer:
    """Run one training job end to end, telling ``observers`` how it goes."""
    trainer = Trainer(job, observers)
    trainer.run()
    return trainer
