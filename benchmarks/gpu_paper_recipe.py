"""GPU check: the paper recipe (ResNet-32, batch 128, SGD) on CIFAR-10-LT-sized synthetic data.

One command measures what a GPU night of the paper grid depends on, and writes it as JSON:

- one run's img/s: the training engine for ``ce`` and ``mfw`` (fp32 and mixed precision)
  beside a bare eager PyTorch loop on pre-made GPU tensors;
- K runs sharing one GPU (separate processes, as GPU placement starts them with
  ``recipes.<name>.resources.runs_per_gpu`` = K): their aggregate img/s for each K;
- the deterministic switch (``recipes.<name>.deterministic``): ``ce`` img/s with it on;
- the paper grid's estimated GPU-hours at one run per GPU and at the best K.

    python benchmarks/gpu_paper_recipe.py --out results/bench/gpu.json

``--device cpu --tiny`` runs every code path in seconds without a GPU (the test suite does).
Needs only torch, numpy, pyyaml and tqdm, so it runs on a bare GPU image with
``PYTHONPATH=src``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from procrustean.config import resolve_entry
from procrustean.data.profiles import class_counts
from procrustean.data.split import make_split
from procrustean.entries import Dataset
from procrustean.fileio import write_json
from procrustean.models.resnet import build_model
from procrustean.train import Trainer, TrainJob
from procrustean.ui.progress import Progress

PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
DATASET = {
    **PARAMS["datasets"]["synthetic"],
    "max_per_class": 5000,
    "test_per_class": 100,
    "image_size": 32,
    "channels": 3,
    "crop_padding": 4,
}
METHODS = {m: PARAMS["methods"][m] for m in ("ce", "mfw")}
# The paper study: (classes, n_max, profile, ratio) -> training images per epoch.
PAPER_SETTINGS = [
    (c, n, p, r) for c, n in ((10, 5000), (100, 500)) for p in ("exp", "step") for r in (100, 10)
]
SIZES = {
    "full": {"max_per_class": 5000, "model": "resnet32", "epochs": 4, "bare_steps": 200},
    "tiny": {"max_per_class": 200, "model": "resnet8", "epochs": 2, "bare_steps": 8},
}


def recipe(size: dict, **changes) -> dict:
    return {
        **PARAMS["recipes"]["paper"],
        "model": size["model"],
        "epochs": size["epochs"],
        "heldout_per_class": 0 if size is SIZES["tiny"] else 100,
        **changes,
    }


def dataset(size: dict) -> Dataset:
    """The synthetic dataset at the size's images per class, resolved."""
    return resolve_entry(
        "dataset", {**DATASET, "max_per_class": size["max_per_class"]}, "synthetic"
    )


def engine_rate(
    workdir: Path, device: str, size: dict, method: str, tag: str, **recipe_changes
) -> float:
    """Median img/s of the engine's epochs after the first (warm-up)."""
    job = TrainJob(
        dataset=dataset(size),
        recipe=resolve_entry("recipe", recipe(size, **recipe_changes), "paper"),
        method=resolve_entry("method", METHODS[method], method),
        seed=0,
        params_file="(benchmark)",
        split_path=str(workdir / "split.json"),
        checkpoint=str(workdir / f"{method}-{tag}.pt"),
        history=str(workdir / f"{method}-{tag}.json"),
        device=device,
        threads=None if device == "cuda" else 1,
    )
    trainer = Trainer(job, [Progress(sys.stderr, bar=False)])
    trainer.run()
    return statistics.median(trainer.clock.rates[1:] or trainer.clock.rates)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def bare_rate(device: str, size: dict, amp: bool) -> float:
    """A bare eager loop on pre-made tensors: same model, batch and optimiser, nothing else."""
    model = build_model(size["model"], 10, 3).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    x = torch.randn(128, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,), device=device)
    scaler = torch.amp.GradScaler(device, enabled=amp and device == "cuda")
    rates, steps = [], max(1, size["bare_steps"] // 4)
    for rep in range(4):
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            with torch.autocast(device, enabled=amp and device == "cuda"):
                loss = torch.nn.functional.cross_entropy(model(x)[0].float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        _sync(device)
        if rep:
            rates.append(128 * steps / (time.perf_counter() - t0))
    return statistics.median(rates)


def _shared_worker(args: tuple) -> float:
    workdir, device, size, index, barrier = args
    barrier.wait()  # every run starts together, so their epochs overlap
    return engine_rate(Path(workdir), device, size, "ce", f"k{index}")


def shared_rate(workdir: Path, device: str, size: dict, k: int) -> float:
    """Aggregate img/s of ``k`` concurrent training processes on one device."""
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(k)
        with ctx.Pool(k) as pool:
            rates = pool.map(
                _shared_worker, [(str(workdir), device, size, i, barrier) for i in range(k)]
            )
    return sum(rates)


def paper_images() -> int:
    """Training images the paper study processes: settings x 200 epochs x 16 methods x 3 seeds."""
    per_epoch = sum(sum(class_counts(c, n, p, r)) for c, n, p, r in PAPER_SETTINGS)
    return per_epoch * 200 * 16 * 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--tiny", action="store_true", help="seconds-sized (code paths only)")
    parser.add_argument("--k", default="1,2,4,8", help="runs per GPU to measure, comma-separated")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_paper_recipe: no CUDA device here (use --device cpu --tiny to try it)")
    size = SIZES["tiny" if args.tiny else "full"]
    ks = sorted({int(k) for k in args.k.split(",")})
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    result: dict = {"device": name, "torch": torch.__version__, "size": size, "img_per_s": {}}
    rates = result["img_per_s"]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        split = make_split(dataset(size), "exp", 100, 0.5)
        write_json(workdir / "split.json", split)
        result["images_per_epoch"] = split["num_train"]
        for amp in (False, True):
            tag = "amp" if amp else "fp32"
            rates[f"bare_{tag}"] = round(bare_rate(args.device, size, amp), 1)
            for method in METHODS:
                rates[f"{method}_{tag}"] = round(
                    engine_rate(workdir, args.device, size, method, tag, amp=amp), 1
                )
            print(json.dumps(result), flush=True)
        rates["ce_fp32_deterministic"] = round(
            engine_rate(workdir, args.device, size, "ce", "det", deterministic=True), 1
        )
        result["shared_gpu"] = {
            str(k): round(shared_rate(workdir, args.device, size, k), 1) for k in ks
        }
        print(json.dumps(result), flush=True)
    one = max(rates["ce_fp32"], rates["ce_amp"])
    best_k = max(result["shared_gpu"], key=lambda k: result["shared_gpu"][k])
    images = paper_images()
    result["ratios"] = {
        "engine_vs_bare_fp32": round(rates["ce_fp32"] / rates["bare_fp32"], 3),
        "mfw_vs_ce_fp32": round(rates["mfw_fp32"] / rates["ce_fp32"], 3),
        "deterministic_cost": round(1 - rates["ce_fp32_deterministic"] / rates["ce_fp32"], 3),
        "best_k_vs_one_run": round(result["shared_gpu"][best_k] / result["shared_gpu"]["1"], 2)
        if "1" in result["shared_gpu"]
        else None,
    }
    result["paper_study"] = {
        "training_images": images,
        "gpu_hours_one_run_per_gpu": round(images / one / 3600, 1),
        "best_runs_per_gpu": int(best_k),
        "gpu_hours_at_best_k": round(images / result["shared_gpu"][best_k] / 3600, 1),
        "note": "estimate: training images of the paper grid / measured img/s (one run: the "
        "faster of fp32 and amp ce; shared: K fp32 ce runs in aggregate); evaluation and "
        "start-up excluded",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
