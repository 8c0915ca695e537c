"""GPU check: the paper recipe (ResNet-32, batch 128, SGD) on CIFAR-sized synthetic data.

Runs `procrustean`'s training engine for a few epochs on CUDA in fp32 and with mixed precision,
for `ce` and `mfw`, beside a bare PyTorch loop on pre-made GPU tensors, and writes img/s,
the GPU's name and the paper study's estimated GPU-hours to a JSON file.

    python benchmarks/gpu_paper_recipe.py --out results/bench/gpu.json [--epochs 4]

Needs only torch, numpy, pyyaml and tqdm (no jsonschema), so it runs on a bare GPU image
with ``PYTHONPATH=src``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from procrustean.data.imbalance import class_counts
from procrustean.data.split import make_split
from procrustean.fileio import write_json
from procrustean.models import build_model
from procrustean.progress import Progress
from procrustean.train import Trainer, TrainJob

PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
RECIPE = {**PARAMS["recipes"]["paper"], "epochs": 4}
DATASET = {
    **PARAMS["datasets"]["synthetic"],
    "max_per_class": 5000,
    "test_per_class": 100,
    "image_size": 32,
    "channels": 3,
    "crop_padding": 4,
}
METHODS = {m: PARAMS["methods"][m] for m in ("ce", "mfw")}
# The paper study: (dataset, profile, ratio) -> training images per epoch; 16 methods x 3 seeds.
PAPER_SETTINGS = [
    (c, n, p, r) for c, n in ((10, 5000), (100, 500)) for p in ("exp", "step") for r in (100, 10)
]


def engine_rate(workdir: Path, method: str, amp: bool, epochs: int) -> float:
    """Median img/s of the engine's epochs after the first (warm-up)."""
    job = TrainJob(
        dataset="synthetic",
        dataset_cfg=DATASET,
        recipe="paper",
        recipe_cfg={**RECIPE, "epochs": epochs, "amp": amp},
        method=method,
        method_cfg=METHODS[method],
        seed=0,
        split_path=str(workdir / "split.json"),
        checkpoint=str(workdir / f"{method}-{amp}.pt"),
        history=str(workdir / f"{method}-{amp}.json"),
        device="cuda",
    )
    progress = Progress(sys.stderr, bar=False)
    Trainer(job, progress).run()
    return statistics.median(progress.epoch_rates[1:])


def bare_rate(amp: bool, steps: int = 200) -> float:
    """A bare loop on pre-made GPU tensors: same model, batch and optimiser, nothing else."""
    model = build_model("resnet32", 10, 3).cuda().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    x = torch.randn(128, 3, 32, 32, device="cuda").contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,), device="cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    rates = []
    for rep in range(4):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps // 4):
            with torch.autocast("cuda", enabled=amp):
                loss = torch.nn.functional.cross_entropy(model(x)[0].float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        torch.cuda.synchronize()
        if rep:
            rates.append(128 * (steps // 4) / (time.perf_counter() - t0))
    return statistics.median(rates)


def paper_images() -> int:
    """Training images the paper study processes: settings x 200 epochs x 16 methods x 3 seeds."""
    per_epoch = sum(sum(class_counts(c, n, p, r)) for c, n, p, r in PAPER_SETTINGS)
    return per_epoch * 200 * 16 * 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_paper_recipe: no CUDA device here")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        split = make_split("synthetic", DATASET, "exp", 100, 0.5)  # CIFAR-10-LT sized: 12,406
        write_json(workdir / "split.json", split)
        result = {
            "gpu": torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "images_per_epoch": split["num_train"],
            "epochs": args.epochs,
            "img_per_s": {},
        }
        for amp in (False, True):
            tag = "amp" if amp else "fp32"
            result["img_per_s"][f"bare_{tag}"] = round(bare_rate(amp), 1)
            for method in METHODS:
                result["img_per_s"][f"{method}_{tag}"] = round(
                    engine_rate(workdir, method, amp, args.epochs), 1
                )
            print(json.dumps(result), flush=True)
    best = max(("ce_fp32", "ce_amp"), key=lambda k: result["img_per_s"][k])
    images = paper_images()
    result["paper_study"] = {
        "training_images": images,
        "rate_used": best,
        "gpu_hours": round(images / result["img_per_s"][best] / 3600, 1),
        "note": "estimate: the faster measured ce img/s x the paper grid's "
        "training images; evaluation and start-up excluded",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
