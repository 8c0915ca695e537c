"""Training throughput of the engine against a bare loop and the peer codebases' data pipeline."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torchvision.transforms as T
import yaml
from PIL import Image

from procrustean import cpu_mode
from procrustean.config import resolve_entry
from procrustean.data.split import make_split
from procrustean.fileio import write_json
from procrustean.models.resnet import build_model
from procrustean.train import Trainer, TrainJob
from procrustean.training import step as step_module
from procrustean.ui.progress import Progress

REPO = Path(__file__).resolve().parents[1]
METHOD_NAMES = ("ce", "mfw", "mixup", "ldam")  # ce, then the methods whose overhead is measured
SYNCED = ("ce_sync_every_step", "mfw_sync_every_step")  # the engine before its syncs were removed
METHODS = {
    m: yaml.safe_load((REPO / "params.yaml").read_text())["methods"][m] for m in METHOD_NAMES
}


def dataset_cfg(per_class: int) -> dict:
    return {
        "source": "synthetic",
        "num_classes": 10,
        "max_per_class": per_class,
        "test_per_class": 10,
        "image_size": 32,
        "channels": 3,
        "seed": 0,
        "crop_padding": 4,
        "flip": True,
    }


def recipe(batch: int, model: str) -> dict:
    return {
        "model": model,
        "epochs": 1,
        "batch_size": batch,
        "lr": 0.1,
        "momentum": 0.9,
        "weight_decay": 2e-4,
        "warmup_epochs": 0,
        "lr_decays": [],
        "drw_epoch": 0,
        "channels_last": True,
        "diagnostic_per_class": 100,
    }


class EngineBench:
    """One Trainer per method on a CIFAR-sized synthetic split; times its epochs."""

    def __init__(self, workdir: Path, per_class: int, batch: int, model: str, threads: int) -> None:
        self.workdir, self.batch, self.model, self.threads = workdir, batch, model, threads
        self.cfg = resolve_entry("dataset", dataset_cfg(per_class), "synthetic")
        split = make_split(self.cfg, "exp", 1, 0.5)  # balanced: every step full
        write_json(workdir / "split.json", split)
        self.trainers: dict[str, Trainer] = {}

    def trainer(self, method: str) -> Trainer:
        if method not in self.trainers:
            job = TrainJob(
                dataset=self.cfg,
                recipe=resolve_entry("recipe", recipe(self.batch, self.model), "bench"),
                method=resolve_entry("method", METHODS[method], method),
                seed=0,
                params_file="(benchmark)",
                split_path=str(self.workdir / "split.json"),
                checkpoint=str(self.workdir / f"{method}.pt"),
                history=str(self.workdir / f"{method}.json"),
                device="cpu",
                threads=self.threads,
            )
            self.trainers[method] = Trainer(job, [Progress(sys.stderr, bar=False)])
        return self.trainers[method]

    def epoch(self, method: str, sync_every: int | None = None) -> dict:
        """img/s of one training epoch and the seconds of its clean diagnostic pass.

        ``sync_every=1`` reads the loss from the device after every step, as the engine did
        before its host syncs were removed (the "before" of that change)."""
        tr = self.trainer(method)
        tr.epoch = 0
        n = len(tr.data.labels)
        saved = step_module.SYNC_EVERY
        step_module.SYNC_EVERY = sync_every or saved
        try:
            t0 = time.perf_counter()
            tr.train_epoch()
            total = time.perf_counter() - t0
        finally:
            step_module.SYNC_EVERY = saved
        t1 = time.perf_counter()
        tr.clean_pass()
        clean = time.perf_counter() - t1
        return {"img_per_s": n / (total - clean), "clean_pass_s": clean, "epoch_s": total}


def step_diagnostics_fraction(model_name: str, batch: int, steps: int, repeats: int) -> float:
    """Extra time of the engine's per-step diagnostics (each sample's gradient of its own
    unweighted loss at the classifier's input, and the per-class norm sums), as a fraction of
    a plain training step: median over interleaved repeats of (with / without) - 1."""
    from procrustean.diagnostics import GradientMeter
    from procrustean.methods.losses import Loss, mixed_unweighted_sum, mixed_weighted_loss

    model = build_model(model_name, 10, 3).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    loss_fn, ones = Loss({}, [1] * 10, torch.device("cpu")), torch.ones(10)
    lam = torch.ones(batch)

    def run(diagnose: bool) -> float:
        meter = GradientMeter(10, torch.device("cpu"))
        t0 = time.perf_counter()
        for _ in range(steps):
            logits, feats = model(x)
            loss = mixed_weighted_loss(loss_fn, logits, y, y, lam, ones, False)
            if diagnose:
                unweighted = mixed_unweighted_sum(loss_fn, logits, y, y, lam, False)
                (g,) = torch.autograd.grad(unweighted, feats, retain_graph=True)
                meter.add(g, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    run(True)
    ratios = [run(True) / run(False) for _ in range(repeats)]
    return statistics.median(ratios) - 1


def bare_loop(images: int, batch: int, model_name: str, reps_steps: int) -> float:
    """A bare PyTorch loop on pre-made tensors: same model, batch, optimiser; nothing else."""
    model = build_model(model_name, 10, 3).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    model.train()
    t0 = time.perf_counter()
    for _ in range(reps_steps):
        loss = torch.nn.functional.cross_entropy(model(x)[0], y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return batch * reps_steps / (time.perf_counter() - t0)


class PeerPipeline:
    """LDAM-DRW's pipeline: per-image PIL transforms through a DataLoader, NCHW tensors."""

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, batch: int, model_name: str
    ) -> None:
        self.pils = [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in images]
        self.labels = labels.tolist()
        self.transform = T.Compose(
            [
                T.RandomCrop(32, padding=4),
                T.RandomHorizontalFlip(),
                T.ToTensor(),
                T.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
            ]
        )
        self.batch = batch
        self.model = build_model(model_name, 10, 3)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)

    def __len__(self) -> int:
        return len(self.pils)

    def __getitem__(self, i: int):
        return self.transform(self.pils[i]), self.labels[i]

    def epoch(self) -> float:
        loader = torch.utils.data.DataLoader(
            self, batch_size=self.batch, shuffle=True, num_workers=0
        )
        self.model.train()
        t0 = time.perf_counter()
        n = 0
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(self.model(x)[0], y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            n += len(y)
        return n / (time.perf_counter() - t0)


def measure(
    workdir: Path, per_class: int, batch: int, model: str, repeats: int, threads: int
) -> dict:
    """Interleaved repeats of every variant; medians and ratios to their baselines."""
    torch.set_num_threads(threads)
    bench = EngineBench(workdir, per_class, batch, model, threads)
    tr = bench.trainer("ce")
    images = tr.data.images.cpu()
    peer = PeerPipeline(images, tr.data.labels_cpu, batch, model)
    steps = max(1, len(images) // batch)
    samples: dict[str, list[float]] = {
        k: [] for k in ["bare", "peer", *METHODS, *SYNCED, "clean_pass_fraction", "clean_pass_s"]
    }
    bare_loop(len(images), batch, model, 1)  # warm-up: first-call costs are not throughput
    peer.epoch()
    for method in METHODS:
        bench.epoch(method)
    for _ in range(repeats):
        samples["bare"].append(bare_loop(len(images), batch, model, steps))
        samples["peer"].append(peer.epoch())
        for method in METHODS:
            r = bench.epoch(method)
            samples[method].append(r["img_per_s"])
            if method in ("ce", "mfw"):
                samples[f"{method}_sync_every_step"].append(
                    bench.epoch(method, sync_every=1)["img_per_s"]
                )
            if method == "ce":
                samples["clean_pass_fraction"].append(r["clean_pass_s"] / r["epoch_s"])
                samples["clean_pass_s"].append(r["clean_pass_s"])
    med = {k: statistics.median(v) for k, v in samples.items()}
    step_fraction = step_diagnostics_fraction(model, batch, max(2, steps // 4), repeats)

    def paired(a: str, b: str) -> float:
        """Median over repeats of a/b measured in the same repeat (robust to drift)."""
        return statistics.median(x / y for x, y in zip(samples[a], samples[b], strict=True))

    return {
        "config": {
            "model": model,
            "batch": batch,
            "images_per_epoch": len(images),
            "repeats": repeats,
            "threads": threads,
            "input": "32x32x3",
            "channels_last": True,
            "peer": "torchvision per-image transforms, DataLoader num_workers=0, NCHW",
        },
        "img_per_s": {k: round(med[k], 1) for k in ["bare", "peer", *METHODS, *SYNCED]},
        "samples": {k: [round(x, 2) for x in v] for k, v in samples.items()},
        "ratios": {
            "engine_vs_bare": round(paired("ce", "bare"), 3),
            "engine_vs_peer": round(paired("ce", "peer"), 3),
            **{f"overhead_{m}": round(paired("ce", m) - 1, 3) for m in METHODS if m != "ce"},
            "engine_vs_bare_sync_every_step": round(paired("ce_sync_every_step", "bare"), 3),
            "mfw_vs_ce": round(paired("mfw", "ce"), 3),
            "mfw_vs_ce_sync_every_step": round(
                paired("mfw_sync_every_step", "ce_sync_every_step"), 3
            ),
            "overhead_diagnostics": round(med["clean_pass_fraction"], 3),
        },
        "diagnostics": {
            "clean_pass_s": round(med["clean_pass_s"], 4),
            "clean_images": int(len(tr.data.diag_idx)),
            "step_fraction": round(step_fraction, 4),
            "note": "per epoch: the clean per-class pass on a fixed training subset and the "
            "held-out pass (timed as the clean pass per image, for CIFAR-10-LT's held-out "
            "count); per step: the unweighted per-sample gradient and its norm sums "
            "(step_fraction, measured with and without). overhead_diagnostics_paper_epoch "
            "sets both against one CIFAR-10-LT (12,406 images) epoch at the engine's rate",
        },
    }


# One process per measurement: the mode's variables are read when torch first runs a kernel, so
# a mode cannot be switched inside a process. procrustean is imported first, as in the CLI.
CPU_MODE_CHILD = """
import json, sys, time
import procrustean
from procrustean import cpu_mode
import torch
from procrustean.models.resnet import build_model

model_name, batch, steps, warmup, threads = sys.argv[1], *map(int, sys.argv[2:6])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = build_model(model_name, 10, 3).to(memory_format=torch.channels_last)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (batch,))
model.train()

def step():
    loss = torch.nn.functional.cross_entropy(model(x)[0], y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()

for _ in range(warmup):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
elapsed = time.perf_counter() - t0
print(json.dumps({"img_per_s": batch * steps / elapsed, "mode": cpu_mode.in_effect(),
                  "aten_capability": torch.backends.cpu.get_cpu_capability()}))
"""


def _cpu_mode_env(mode: str) -> dict[str, str]:
    """This environment without the mode's switch and variables (this process, having imported
    procrustean, holds the pins, and a native child would inherit them), then the switch."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != cpu_mode.MODE_ENV and k not in cpu_mode.PORTABLE_ENV
    }
    env[cpu_mode.MODE_ENV] = mode
    return env


def cpu_mode_step_rate(mode: str, model: str, batch: int, steps: int, threads: int) -> dict:
    """img/s of SGD steps on fixed 32x32x3 inputs in a fresh process in ``mode``."""
    proc = subprocess.run(
        [sys.executable, "-c", CPU_MODE_CHILD, model, str(batch), str(steps), "2", str(threads)],
        env=_cpu_mode_env(mode),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} throughput child failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["mode"] != mode:
        raise RuntimeError(f"asked for the {mode} CPU mode, the child ran in {out['mode']}")
    return out


def portable_vs_native(model: str, batch: int, steps: int, repeats: int, threads: int) -> dict:
    """Training throughput in the portable CPU mode against the native one: each measurement in
    its own process, interleaved (the first mode alternates), medians and their ratio."""
    samples: dict[str, list[float]] = {cpu_mode.PORTABLE: [], cpu_mode.NATIVE: []}
    capability: dict[str, str] = {}
    for rep in range(repeats):
        order = (cpu_mode.PORTABLE, cpu_mode.NATIVE)
        for mode in order if rep % 2 == 0 else order[::-1]:
            out = cpu_mode_step_rate(mode, model, batch, steps, threads)
            samples[mode].append(out["img_per_s"])
            capability[mode] = out["aten_capability"]
    med = {k: statistics.median(v) for k, v in samples.items()}
    paired = statistics.median(
        p / n for p, n in zip(samples["portable"], samples["native"], strict=True)
    )
    return {
        "config": {
            "model": model,
            "batch": batch,
            "input": "32x32x3",
            "threads": threads,
            "channels_last": True,
            "steps": steps,
            "warmup_steps": 2,
            "repeats": repeats,
            "step": "SGD (momentum 0.9, weight decay 2e-4) on cross-entropy, fixed inputs",
            "order": "interleaved, each measurement in its own process, first mode alternating",
        },
        "img_per_s": {k: round(v, 1) for k, v in med.items()},
        "samples": {k: [round(x, 2) for x in v] for k, v in samples.items()},
        "portable_vs_native": round(paired, 3),
        "portable_vs_native_of_medians": round(med["portable"] / med["native"], 3),
        "aten_capability": capability,
        "pinned": dict(cpu_mode.PORTABLE_ENV),
        "cpu_model": cpu_mode.cpu_model(),
    }
