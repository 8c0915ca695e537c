"""Run the benchmark suite and write results/bench/bench.json and bench.md.

    python -m benchmarks.run                 # full (about 10 minutes on 2 cores)
    python -m benchmarks.run --tiny --out-dir /tmp/b   # seconds; what the test suite runs
    python -m benchmarks.run --only portable  # re-measure one part (pipeline, portable) alone

Every speed figure is a median of interleaved repeats, set against its baseline from the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from benchmarks import memory, pipeline, throughput
from procrustean.fileio import write_json
from procrustean.paths import PUBLISHED

REPO = Path(__file__).resolve().parents[1]
TARGETS = {  # figure -> (target, comparison) from issue 7
    "engine_vs_bare": (0.9, ">="),
    "engine_vs_peer": (1.25, ">="),
    "overhead_mfw": (0.05, "<="),
    "overhead_mixup": (0.05, "<="),
    "overhead_ldam": (0.05, "<="),
    "overhead_diagnostics_paper_epoch": (0.05, "<="),
    "snakemake_dry_run": (10.0, "<="),
    "snakemake_dry_run_without_slurm": (10.0, "<="),
    "dvc_status": (10.0, "<="),
    "dvc_repro_noop": (10.0, "<="),
    "audit_table": (10.0, "<="),
}
PIPELINE_FIGURES = (
    "snakemake_dry_run",
    "snakemake_dry_run_without_slurm",
    "dvc_status",
    "dvc_repro_noop",
    "audit_table",
)
SIZES = {
    "full": {
        "per_class": 128,
        "batch": 128,
        "model": "resnet32",
        "repeats": 5,
        "study": "paper",
        "pipeline_repeats": 2,
        "train_dataset": "fashion_mnist_2k",
        "train_study": "quick",
        "portable_model": "resnet32",
        "portable_batch": 128,
        "portable_steps": 16,
        "portable_repeats": 5,
    },
    "tiny": {
        "per_class": 20,
        "batch": 16,
        "model": "resnet8",
        "repeats": 1,
        "study": "smoke",
        "pipeline_repeats": 1,
        "train_dataset": "synthetic",
        "train_study": "smoke",
        "portable_model": "resnet8",
        "portable_batch": 16,
        "portable_steps": 3,
        "portable_repeats": 1,
    },
}
PAPER_EPOCH_IMAGES = 12406  # CIFAR-10-LT, ratio 100: the smallest paper epoch (worst case)


def paper_pass_images() -> tuple[int, int]:
    """Images in one CIFAR-10-LT epoch's clean and held-out passes under the paper recipe."""
    from procrustean.config import load_params
    from procrustean.data.profiles import class_counts

    recipe = load_params(REPO / "params.yaml").recipe("paper")
    counts = class_counts(10, 5000, "exp", 100)
    clean = sum(min(recipe.diagnostic_per_class, n) for n in counts)
    heldout = sum(min(recipe.heldout_per_class, 5000 - n) for n in counts)
    return clean, heldout


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def memory_part(size: dict, workdir: Path) -> dict:
    """Peak RSS of one training epoch (the study's recipe) and of the report stage."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    study = size["train_study"]
    recipe = params["studies"][study]["recipe"]
    # One epoch; DRW from it, since validation refuses a DRW study whose re-weighting never starts
    params["recipes"][recipe].update(epochs=1, drw_epoch=0)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    exe = str(pipeline.BIN / "procrustean")
    split = [
        exe,
        "split",
        "--study",
        study,
        "--dataset",
        size["train_dataset"],
        "--profile",
        "step",
        "--ratio",
        "100",
        "--out",
        "split.json",
        "--summary",
        "summary.json",
    ]
    memory.peak_rss_mb(split, workdir)
    train = [
        exe,
        "train",
        "--study",
        study,
        "--dataset",
        size["train_dataset"],
        "--method",
        "mfw",
        "--seed",
        "0",
        "--split",
        "split.json",
        "--checkpoint",
        "m.pt",
        "--history",
        "h.json",
        "--device",
        "cpu",
    ]
    out = {
        "train_peak_rss_mb": memory.peak_rss_mb(train, workdir),
        "train_config": f"{recipe} recipe, {size['train_dataset']} step r100, mfw, 1 epoch",
    }
    report_study = (
        "quick"
        if (REPO / "results/quick/metrics").exists()
        and (REPO / "runs/quick").exists()
        and size is SIZES["full"]
        else None
    )
    if report_study:
        clone = workdir / "report"
        clone.mkdir()
        shutil.copy(REPO / "params.yaml", clone / "params.yaml")
        (clone / Path(PUBLISHED).parent).mkdir(parents=True)
        shutil.copy(REPO / PUBLISHED, clone / PUBLISHED)
        shutil.copytree(REPO / "results" / report_study, clone / "results" / report_study)
        (clone / "runs").mkdir()  # the report checks the checkpoints it summarises are there
        (clone / "runs" / report_study).symlink_to(REPO / "runs" / report_study)
        out["report_peak_rss_mb"] = memory.peak_rss_mb(
            [exe, "report", "--study", report_study], clone
        )
        out["report_config"] = f"{report_study} study"
    return out


def verdicts(figures: dict) -> dict:
    out = {}
    for key, (target, op) in TARGETS.items():
        value = figures.get(key)
        if value is None:
            continue
        ok = value >= target if op == ">=" else value <= target
        out[key] = {"value": value, "target": f"{op} {target}", "met": ok}
    return out


def _part_dates(result: dict) -> str:
    """Says when each part was measured, where a part was re-measured alone (--only)."""
    only = result.get("only")
    if not only:
        return ""
    dates = [
        ("throughput and memory are", result["throughput"]["date"]),
        ("pipeline is", result["pipeline"]["date"]),
    ]
    if result.get("portable"):
        dates.append(("portable is", result["portable"]["date"]))
    others = [f"{what} from the run of {date}" for what, date in dates if not what.startswith(only)]
    return f" Only the {only} part ran then; " + ", ".join(others) + "."


def markdown(result: dict) -> str:
    lines = [
        f"# Benchmarks ({result['mode']})",
        "",
        f"Machine: {result['machine']['processor']}, {result['machine']['cpus']} threads, "
        f"{result['machine']['platform']}; torch {result['machine']['torch']}. "
        f"Run {result['date']}, {result['wall_s']:.0f} s. Medians of interleaved repeats."
        + _part_dates(result),
        "",
        "| figure | value | target | met |",
        "|---|---|---|---|",
    ]
    for key, v in result["verdicts"].items():
        lines.append(f"| {key} | {v['value']} | {v['target']} | {'yes' if v['met'] else 'NO'} |")
    tp = result["throughput"]
    r, d = tp["ratios"], tp["diagnostics"]
    lines += [
        "",
        f"Throughput ({tp['config']['model']}, batch {tp['config']['batch']}, 32x32x3, "
        f"{tp['config']['threads']} threads), img/s: "
        + ", ".join(f"{k} {v}" for k, v in tp["img_per_s"].items()),
        "",
        "Host syncs, same run (paired medians): engine vs bare loop "
        f"{r['engine_vs_bare']} now, {r['engine_vs_bare_sync_every_step']} reading the loss "
        f"every step (before); mfw vs ce {r['mfw_vs_ce']} now, "
        f"{r['mfw_vs_ce_sync_every_step']} before. Diagnostics: clean pass "
        f"{d['clean_pass_s']} s for {d['clean_images']} images, per-step gradient "
        f"{d['step_fraction']:+.1%} of a step.",
        "",
    ]
    pc = result.get("portable")
    if pc:
        c = pc["config"]
        pins = ", ".join(f"{k}={v}" for k, v in pc["pinned"].items())
        lines += [
            f"Portable CPU mode ({pins}) against native: {c['model']}, batch {c['batch']}, "
            f"{c['input']}, {c['threads']} thread, {c['steps']} SGD steps a process, "
            f"{c['repeats']} interleaved repeats of each, img/s (medians): portable "
            f"{pc['img_per_s']['portable']}, native {pc['img_per_s']['native']}; portable/native "
            f"{pc['portable_vs_native']} (paired median). ATen's path: portable "
            f"{pc['aten_capability']['portable']}, native {pc['aten_capability']['native']} "
            f"({pc['cpu_model']}).",
            "",
        ]
    pl = result["pipeline"]
    lines += [
        f"Pipeline at {pl['study']} scale ({pl['stages']} stages, {pl['files']} files): "
        f"`procrustean dvc-commit` {pl['dvc_commit_s']} s (once), "
        + ", ".join(f"{k} {pl[k]['median_s']} s" for k in PIPELINE_FIGURES)
        + ".",
        "",
        f"Re-committing {pl['commit_named']['stages']} stages named one by one (a study "
        f"stopped part-way): `dvc commit -f` {pl['commit_named']['dvc_command']} s, "
        f"`procrustean dvc-commit`'s one write of dvc.lock {pl['commit_named']['one_write']} s "
        f"(paired median ratio {pl['commit_named']['dvc_command_over_one_write']}x).",
        "",
        f"SLURM on this machine: {pl['slurm']} (snakemake_dry_run). "
        "snakemake_dry_run_without_slurm runs with SLURM's commands removed from PATH, as on a "
        "machine without SLURM. Commands: `snakemake -n <study>`, "
        "`dvc status --with-deps report@<study>`, `dvc repro report@<study>` (nothing to do), "
        "`procrustean audit results/<study>/tables/accuracy.md`.",
        "",
    ]
    mem = result["memory"]
    lines += ["Peak RSS: " + ", ".join(f"{k} {v}" for k, v in mem.items()), ""]
    return "\n".join(lines) + "\n"


def diagnostics_overhead(tp: dict) -> float:
    """Held-out and clean passes plus the per-step gradient, as a fraction of one CIFAR-10-LT
    epoch under the paper recipe, at the measured ce rate."""
    diag = tp["diagnostics"]
    paper_epoch_s = PAPER_EPOCH_IMAGES / tp["img_per_s"]["ce"]
    passes_s = diag["clean_pass_s"] / diag["clean_images"] * sum(paper_pass_images())
    return round(passes_s / paper_epoch_s + diag["step_fraction"], 4)


def assemble(
    mode: str, wall_s: float, tp: dict, pl: dict, mem: dict, portable: dict | None = None
) -> dict:
    """The result record: parts, figures and verdicts."""
    figures = {
        **tp["ratios"],
        "overhead_diagnostics_paper_epoch": diagnostics_overhead(tp),
        **{k: pl[k]["median_s"] for k in PIPELINE_FIGURES},
    }
    if portable:
        figures["portable_vs_native"] = portable["portable_vs_native"]
    return {
        "mode": mode,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wall_s": round(wall_s, 1),
        "machine": machine(),
        "throughput": tp,
        "pipeline": pl,
        "memory": mem,
        "portable": portable,
        "figures": figures,
        "verdicts": verdicts(figures),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="seconds-sized run (for tests)")
    parser.add_argument("--out-dir", default=str(REPO / "results" / "bench"))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--only",
        choices=["pipeline", "portable"],
        help="re-measure only this part and keep the others from the existing bench.json "
        "(each part records its own date)",
    )
    args = parser.parse_args()
    mode = "tiny" if args.tiny else "full"
    size = SIZES[mode]
    out = Path(args.out_dir)
    start = time.perf_counter()
    previous = json.loads((out / "bench.json").read_text()) if args.only else None
    if previous is not None and previous["mode"] != mode:
        sys.exit(f"{out / 'bench.json'} is a {previous['mode']} run; --only needs a {mode} one")
    measured = {args.only} if args.only else {"throughput", "portable", "pipeline", "memory"}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for sub in ("tp", "pl", "mem"):
            (tmpdir / sub).mkdir()
        if "throughput" in measured:
            print("throughput ...", file=sys.stderr, flush=True)
            tp = throughput.measure(
                tmpdir / "tp",
                size["per_class"],
                size["batch"],
                size["model"],
                size["repeats"],
                args.threads,
            )
            tp["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        else:
            tp = previous["throughput"]
            tp.setdefault("date", previous["date"])
        if "portable" in measured:
            print("portable vs native CPU mode ...", file=sys.stderr, flush=True)
            portable = throughput.portable_vs_native(
                size["portable_model"],
                size["portable_batch"],
                size["portable_steps"],
                size["portable_repeats"],
                threads=1,
            )
            portable["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        else:
            portable = previous.get("portable")
        if "pipeline" in measured:
            print("pipeline ...", file=sys.stderr, flush=True)
            pl = pipeline.measure(REPO, tmpdir / "pl", size["pipeline_repeats"], size["study"])
            pl["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        else:
            pl = previous["pipeline"]
            pl.setdefault("date", previous["date"])
        if "memory" in measured:
            print("memory ...", file=sys.stderr, flush=True)
            try:
                mem = memory_part(size, tmpdir / "mem")
            except RuntimeError as exc:  # keep the timed parts; say which figure is missing
                mem = {"error": str(exc)[-300:]}
        else:
            mem = previous["memory"]
    wall_s = time.perf_counter() - start
    result = assemble(mode, wall_s, tp, pl, mem, portable)
    if args.only:
        result["only"] = args.only
    write_json(out / "bench.json", result)
    (out / "bench.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
