"""The training engine: loop, per-epoch diagnostics, atomic checkpoints and exact resume.

The training step never waits for the device: losses, gradient norms and counters stay on it
and are read every ``SYNC_EVERY`` steps (the finiteness check, the progress line) and at the
epoch's end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from procrustean.data.augment import BatchAugment, channel_stats
from procrustean.data.imbalance import class_groups, group_rule, major_classes
from procrustean.data.sources import load_source
from procrustean.data.split import read_split, split_tensors
from procrustean.diagnostics import (
    CleanPass,
    GradientMeter,
    clean_pass,
    heldout_subset,
    per_class_accuracy,
    predict,
    rounded,
    stratified_subset,
)
from procrustean.entries import Dataset, Method, Recipe
from procrustean.errors import UserError
from procrustean.fileio import atomic_group, save_torch, sha256_file, write_json
from procrustean.methods import build_method
from procrustean.methods.losses import mixed_unweighted_sum, mixed_weighted_loss
from procrustean.methods.schedules import epoch_order
from procrustean.models import build_model
from procrustean.observers import EpochClock, Observers, TrainingObserver
from procrustean.provenance import (
    content_identity,
    now,
    pin_code,
    stable_record,
    write_provenance,
)
from procrustean.runtime import configure, describe, select_device
from procrustean.stage_params import run_params

CHECKPOINT_FORMAT = 1
SYNC_EVERY = 50  # steps between reads of the device's losses (finiteness check, progress)


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


def _check_sizes(job: TrainJob, n: int) -> None:
    if job.recipe.batch_size > n:
        raise UserError(
            f"recipes.{job.recipe.name}.batch_size is {job.recipe.batch_size} but the split has only "
            f"{n} training images; lower batch_size below {n}"
        )


class Trainer:
    """One run's state: model, optimiser, method, generators and history."""

    def __init__(self, job: TrainJob, observers: Sequence[TrainingObserver] = ()) -> None:
        self.job, self.recipe = job, job.recipe
        pin_code("train")
        self.device = select_device(job.device)
        configure(
            self.device,
            job.threads or self.recipe.resources.cpus,
            deterministic=self.recipe.deterministic,
        )
        self.split = read_split(job.split_path, job.dataset.name)
        self.split_sha = sha256_file(job.split_path)
        raw = load_source(job.dataset)
        images, labels = split_tensors(self.split, raw)
        kept = torch.tensor(self.split["indices"], dtype=torch.int64)
        held = heldout_subset(
            raw.train_labels, kept, self.recipe.heldout_per_class, job.dataset.seed
        )
        self.heldout_images = raw.train_images[held].to(self.device)
        self.heldout_labels = raw.train_labels[held]
        _check_sizes(job, len(labels))
        self.counts = self.split["class_counts"]
        self.num_classes = len(self.counts)
        profile, fraction = self.split["profile"], self.split["minor_fraction"]
        order = self.split.get("class_order")  # absent: label order
        self.groups = class_groups(self.counts, profile, fraction, order)
        self.major = major_classes(self.counts, profile, fraction, order)
        self.images = images.to(self.device)
        self.labels_cpu = labels
        self.labels = labels.to(self.device)
        mean, std = channel_stats(images)
        self.norm = {"mean": mean, "std": std}
        cl = self.recipe.channels_last
        self.augment = BatchAugment(
            mean,
            std,
            job.dataset.crop_padding,
            job.dataset.flip,
            self.device,
            cl,
        )
        diag_n = self.recipe.diagnostic_per_class
        self.diag_idx = stratified_subset(labels, diag_n, job.dataset.seed)
        self.amp = self.recipe.amp and self.device.type == "cuda"

        torch.manual_seed(job.seed)
        epochs = self.recipe.epochs
        self.method = build_method(
            job.method, self.counts, job.seed, epochs, self.recipe.drw_epoch, self.device
        )
        self.model_config = {
            "name": self.recipe.model,
            "num_classes": self.num_classes,
            "in_channels": int(images.shape[1]),
            "normed": self.method.normed_classifier,
        }
        self.model = build_model(**self.model_config).to(self.device)
        if cl:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=self.recipe.lr,
            momentum=self.recipe.momentum,
            weight_decay=self.recipe.weight_decay,
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.gen_order = torch.Generator().manual_seed(job.seed * 2 + 1)
        self.gen_aug = torch.Generator().manual_seed(job.seed * 2 + 2)
        self.history: list[dict] = []
        self.epoch = 0
        self.stable = stable_record(job.resolved, {job.split_path: self.split_sha}, seed=job.seed)
        self.progress = Observers(observers)
        self.clock = EpochClock()
        self.epoch_speed = (0.0, 0.0)  # the last epoch's images per second and seconds

    # -- checkpoints -------------------------------------------------------------------------

    def _identity(self) -> dict:
        return {"split_sha256": self.split_sha, "params_sha256": self.stable["params_sha256"]}

    def save_resume(self) -> None:
        """Everything needed to continue exactly, written atomically."""
        save_torch(
            self.job.resume_path,
            {
                "format": CHECKPOINT_FORMAT,
                **self._identity(),
                "epoch": self.epoch,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(),
                "rng": {
                    "order": self.gen_order.get_state(),
                    "aug": self.gen_aug.get_state(),
                    "torch": torch.get_rng_state(),
                },
                "mixing": self.method.mixing.state_dict(),
                "history": self.history,
            },
        )

    def try_resume(self) -> bool:
        """Continue from the resume checkpoint when it belongs to this run."""
        path = self.job.resume_path
        if not path.is_file():
            return False
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged resume file is discarded, not trusted
            self.progress.line(
                f"ignoring unreadable resume checkpoint {path} ({exc.__class__.__name__})"
            )
            return False
        if {k: state.get(k) for k in self._identity()} != self._identity():
            self.progress.line(
                f"ignoring resume checkpoint {path}: made with another split or params"
            )
            return False
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.gen_order.set_state(state["rng"]["order"])
        self.gen_aug.set_state(state["rng"]["aug"])
        torch.set_rng_state(state["rng"]["torch"])
        self.method.mixing.load_state_dict(state["mixing"])
        self.history, self.epoch = state["history"], state["epoch"]
        self.progress.line(f"resumed from {path} at epoch {self.epoch}")
        return True

    def final_checkpoint(self) -> dict:
        """The model and what it was made from (no optimiser, no times: same inputs, same bytes)."""
        return {
            "format": CHECKPOINT_FORMAT,
            **self._identity(),
            "epoch": self.epoch,
            "model": {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()},
            "model_config": self.model_config,
            "normalization": self.norm,
            "class_counts": self.counts,
            "profile": self.split["profile"],
            "provenance": content_identity(self.stable),
        }

    # -- training ----------------------------------------------------------------------------

    def train_epoch(self) -> dict:
        """One pass over the split; returns the epoch's history entry."""
        e, batch = self.epoch, self.recipe.batch_size
        lr = learning_rate(self.recipe, e)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        weights = self.method.weighting(e)
        order = epoch_order(self.labels_cpu, self.counts, self.method.sampler, self.gen_order)
        order_dev = order.to(self.device)  # one copy per epoch, none per step
        grads = GradientMeter(self.num_classes, self.device)  # unweighted per-sample loss
        grads_w = GradientMeter(self.num_classes, self.device)  # the step's weighted batch loss
        weakened = torch.zeros(self.num_classes, device=self.device)
        seen = torch.zeros(self.num_classes, device=self.device)
        losses = _LossLog(self, e, lr)
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
            x = self.augment(self.images[idx], self.gen_aug)
            y = self.labels[idx]
            plan = self.method.mixing.plan(y, e)
            with torch.autocast(self.device.type, enabled=self.amp):
                logits, features = self.model(x, plan.mixer, plan.layer)
            mixed = plan.mixes_labels
            loss = mixed_weighted_loss(
                self.method.loss, logits, y, plan.y_b, plan.lam_y, weights, mixed
            )
            unweighted = mixed_unweighted_sum(
                self.method.loss, logits, y, plan.y_b, plan.lam_y, mixed
            )
            (per_sample_grad,) = torch.autograd.grad(unweighted, features, retain_graph=True)
            features.retain_grad()  # after the call above, so .grad holds the step's loss only
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            grads.add(per_sample_grad, y)
            grads_w.add(features.grad / self.scaler.get_scale() if self.amp else features.grad, y)
            seen.index_add_(0, y, torch.ones_like(y, dtype=seen.dtype))
            if plan.weakened is not None:
                weakened.index_add_(0, y, plan.weakened.to(seen.dtype))
            losses.add(step, loss.detach())
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
            "class_grad_norm": rounded(grads.means(), 9),
            "class_grad_norm_weighted": rounded(grads_w.means(), 9),
            "class_grad_norm_clean": rounded(clean.grad_norm, 9),
            "minor_to_major": rounded(clean.to_major),
            "weakened_fraction": rounded((weakened / seen.clamp_min(1)).tolist()),
        }

    def clean_pass(self) -> CleanPass:
        """Accuracy, loss, unweighted-loss feature gradients and minor-to-major predictions per
        class on the fixed training subset, no augmentation or mixing."""
        idx = self.diag_idx.to(self.device)
        return clean_pass(
            self.model,
            self.images[idx],
            self.labels[idx],
            self.augment,
            self.method.loss.per_sample,
            self.major,
            self.amp,
        )

    def heldout_pass(self) -> list[float | None]:
        """Per-class accuracy on the held-out images (None where a class has none left)."""
        if len(self.heldout_labels) == 0:
            return [None] * self.num_classes
        logits = predict(self.model, self.heldout_images, self.augment, self.amp)
        return per_class_accuracy(logits, self.heldout_labels, self.num_classes)

    def run(self) -> None:
        """Train to the recipe's last epoch, resuming if possible, then write the outputs."""
        started = now()
        self.try_resume()
        epochs = self.recipe.epochs
        try:
            while self.epoch < epochs:
                entry = self.train_epoch()
                self.history.append(entry)
                self.save_resume()
                self.progress.end_epoch(entry, self.groups, *self.epoch_speed)
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
        return {
            "dataset": self.job.dataset.name,
            "method": self.job.method.name,
            "seed": self.job.seed,
            "profile": self.split["profile"],
            "ratio": self.split["ratio"],
            "class_counts": self.counts,
            "groups": self.groups,
            "group_rule": group_rule(self.counts, self.split["profile"]),
            "diagnostic_subset": {
                "per_class": self.recipe.diagnostic_per_class,
                "class_counts": torch.bincount(
                    self.labels_cpu[self.diag_idx], minlength=self.num_classes
                ).tolist(),
            },
            "heldout_subset": {
                "per_class": self.recipe.heldout_per_class,
                "class_counts": torch.bincount(
                    self.heldout_labels, minlength=self.num_classes
                ).tolist(),
                "source": "training-partition images the split did not keep",
            },
            "major_classes": self.major,
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


class _LossLog:
    """The epoch's step losses, kept on the device and read every ``SYNC_EVERY`` steps: the
    finiteness check and the progress line without a host sync per step."""

    def __init__(self, trainer: Trainer, epoch: int, lr: float) -> None:
        self.trainer, self.epoch, self.lr = trainer, epoch, lr
        self.pending: list[tuple[int, torch.Tensor]] = []
        self.total = 0.0

    def add(self, step: int, loss: torch.Tensor) -> None:
        self.pending.append((step, loss))
        if len(self.pending) >= SYNC_EVERY:
            self.drain()

    def drain(self) -> float:
        """Read the pending losses (one transfer), check them, return the running sum."""
        if self.pending:
            values = torch.stack([v for _, v in self.pending]).tolist()
            for (step, _), value in zip(self.pending, values, strict=True):
                if not math.isfinite(value):
                    raise UserError(
                        f"non-finite training loss ({value}) at epoch {self.epoch + 1}, step "
                        f"{step + 1} (lr {self.lr:g}); lower "
                        f"recipes.{self.trainer.job.recipe.name}.lr or check the data"
                    )
                self.total += value
            self.trainer.progress.loss(values[-1])
            self.pending = []
        return self.total


def train(job: TrainJob, observers: Sequence[TrainingObserver] = ()) -> Trainer:
    """Run one training job end to end, telling ``observers`` how it goes."""
    trainer = Trainer(job, observers)
    trainer.run()
    return trainer
