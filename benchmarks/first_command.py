"""Where the README's first command spends its time: one quick training run split into phases
(interpreter and imports, set-up, SGD steps, the per-epoch diagnostics, writing the outputs),
in the portable and in the native CPU mode, one evaluation, and the plan; then the same phases
scaled to the quick study (its runs of 10 epochs and their evaluations, counted from
params.yaml, on 2 cores). Writes results/bench/first_command.{json,md}.

    python -m benchmarks.first_command                      # 3 epochs a run, 3 repeats
    python -m benchmarks.first_command --epochs 1 --repeats 1 --out-dir /tmp/b   # a minute

Each repeat runs portable and native back to back (medians of the repeats; the ratio is paired
within a repeat), so other work on the machine moves both alike. The projection assumes the runs
pack perfectly onto 2 cores; it is a floor, not a measurement of the study.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procrustean.fileio import write_json

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STUDY, DATASET = "quick", "fashion_mnist_2k"
METHODS = ("ce", "mfw")  # the quick study's methods (its runs: these x its seeds)
IMAGES = 10_100  # the quick split's training images (2,000 x 5 + 20 x 5)
PHASES = ("imports", "setup", "sgd", "diagnostics", "outputs")


def child_train(method: str, epochs: int, workdir: Path) -> dict:
    """In a fresh process: one training run of the quick recipe cut to ``epochs``, timed by
    phase (seconds since the interpreter's start for imports)."""
    t0 = time.perf_counter()
    from procrustean.config import load_params
    from procrustean.train import Trainer, TrainJob

    t_import = time.perf_counter()
    params = load_params(str(REPO / "params.yaml"))
    recipe = dataclasses.replace(params.study_recipe(STUDY), epochs=epochs)
    job = TrainJob(
        dataset=params.dataset(DATASET),
        recipe=recipe,
        method=params.method(method),
        seed=0,
        params_file=params.source,
        split_path=str(workdir / "split.json"),
        checkpoint=str(workdir / method / "model.pt"),
        history=str(workdir / method / "history.json"),
        device="cpu",
        threads=1,
    )
    spent = {"diagnostics": 0.0}

    class Timed(Trainer):
        def clean_pass(self):  # noqa: ANN202 - the parent's type
            start = time.perf_counter()
            try:
                return super().clean_pass()
            finally:
                spent["diagnostics"] += time.perf_counter() - start

        def heldout_pass(self):  # noqa: ANN202
            start = time.perf_counter()
            try:
                return super().heldout_pass()
            finally:
                spent["diagnostics"] += time.perf_counter() - start

    trainer = Timed(job)
    t_setup = time.perf_counter()
    epoch_s = []
    train_epoch = trainer.train_epoch

    def timed_epoch() -> dict:
        start = time.perf_counter()
        entry = train_epoch()
        epoch_s.append(time.perf_counter() - start)
        return entry

    trainer.train_epoch = timed_epoch  # type: ignore[method-assign]
    trainer.run()
    t_end = time.perf_counter()
    epochs_total = sum(epoch_s)
    return {
        "imports": t_import - t0,
        "setup": t_setup - t_import,
        "sgd": epochs_total - spent["diagnostics"],
        "diagnostics": spent["diagnostics"],
        "outputs": t_end - t_setup - epochs_total,
        "epochs": epochs,
        "mode": os.environ.get("PROCRUSTEAN_CPU_MODE", "portable"),
    }


def run_child(method: str, epochs: int, workdir: Path, mode: str) -> dict:
    """``child_train`` in a new interpreter; adds its start-up (the wall time it did not see)."""
    env = {**os.environ, "PROCRUSTEAN_CPU_MODE": mode, "PYTHONPATH": str(REPO / "src")}
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.first_command",
            "--child",
            method,
            "--epochs",
            str(epochs),
            "--out-dir",
            str(workdir),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    phases = json.loads(proc.stdout.strip().splitlines()[-1])
    phases["imports"] += wall - sum(phases[p] for p in PHASES)  # the interpreter's own start
    phases["wall"] = wall
    return phases


def timed_cli(args: list[str], mode: str = "portable") -> float:
    """Wall seconds of one ``procrustean`` command run from the repository."""
    env = {**os.environ, "PROCRUSTEAN_CPU_MODE": mode, "PYTHONPATH": str(REPO / "src")}
    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "procrustean"), *args], cwd=REPO, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


def make_split(workdir: Path) -> None:
    """The quick study's step split, written to the scratch folder."""
    timed_cli(
        [
            "split",
            "--study",
            STUDY,
            "--dataset",
            DATASET,
            "--profile",
            "step",
            "--ratio",
            "100",
            "--out",
            str(workdir / "split.json"),
            "--summary",
            str(workdir / "summary.json"),
        ]
    )


def measure(workdir: Path, epochs: int, repeats: int) -> dict:
    """Phases per method and mode (medians), the portable/native ratio, one evaluation and the
    plan's time."""
    make_split(workdir)
    samples: dict[str, list[dict]] = {}
    for _ in range(repeats):
        for method in METHODS:
            for mode in ("portable", "native"):
                samples.setdefault(f"{method}/{mode}", []).append(
                    run_child(method, epochs, workdir, mode)
                )
    phases = {
        key: {p: statistics.median(s[p] for s in runs) for p in (*PHASES, "wall")}
        for key, runs in samples.items()
    }
    ratio = statistics.median(
        (p["sgd"] + p["diagnostics"]) / (n["sgd"] + n["diagnostics"])
        for m in METHODS
        for p, n in zip(samples[f"{m}/portable"], samples[f"{m}/native"], strict=True)
    )
    evaluate = statistics.median(
        timed_cli(
            [
                "evaluate",
                "--dataset",
                DATASET,
                "--split",
                str(workdir / "split.json"),
                "--checkpoint",
                str(workdir / "ce" / "model.pt"),
                "--out",
                str(workdir / "metrics.json"),
                "--threads",
                "1",
            ]
        )
        for _ in range(repeats)
    )
    startup = statistics.median(
        timed_cli(["validate"]) for _ in range(repeats)
    )  # interpreter, procrustean and params: what every job pays before its work
    plan = statistics.median(_wall([str(BIN / "snakemake"), "-n", STUDY]) for _ in range(repeats))
    return {
        "epochs": epochs,
        "repeats": repeats,
        "phases": phases,
        "portable_over_native": ratio,
        "evaluate_s": evaluate,
        "cli_startup_s": startup,
        "snakemake_plan_s": plan,
    }


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def quick_runs() -> int:
    """The quick study's runs (settings x methods x seeds), from params.yaml; its one setting
    is the split measured here."""
    from procrustean.config import load_params, study_settings

    params = load_params(str(REPO / "params.yaml"))
    spec = params.study(STUDY)
    settings = study_settings(params, STUDY)
    if [s.dataset for s in settings] != [DATASET] or set(spec.methods) != set(METHODS):
        raise SystemExit(f"{STUDY} is no longer {DATASET} x {METHODS}; update this benchmark")
    return len(settings) * len(spec.methods) * len(spec.seeds)


def project(result: dict, runs: int, study_epochs: int = 10) -> dict:
    """The quick study's job-seconds by phase, from one measured run per method (portable):
    per-epoch costs scaled to its epochs, ``runs`` runs and as many evaluations; and the
    2-core floor (job-seconds / 2, plus the plan)."""
    per = {m: result["phases"][f"{m}/portable"] for m in METHODS}
    e = result["epochs"]
    each = runs / len(METHODS)
    total = dict.fromkeys(PHASES, 0.0)
    for m in METHODS:
        total["imports"] += each * per[m]["imports"]
        total["setup"] += each * per[m]["setup"]
        total["outputs"] += each * per[m]["outputs"]
        total["sgd"] += each * per[m]["sgd"] / e * study_epochs
        total["diagnostics"] += each * per[m]["diagnostics"] / e * study_epochs
    total["evaluations"] = runs * result["evaluate_s"]
    job_s = sum(total.values())
    sgd_diag = total["sgd"] + total["diagnostics"]
    native_job_s = job_s - (1 - 1 / result["portable_over_native"]) * sgd_diag
    plan_min = result["snakemake_plan_s"] / 60
    return {
        "runs": runs,
        "job_seconds": total,
        "job_seconds_total": job_s,
        "two_core_floor_min": job_s / 2 / 60 + plan_min,
        "native_two_core_floor_min": native_job_s / 2 / 60 + plan_min,
    }


def markdown(result: dict) -> str:
    """The figures as a page."""
    proj = result["projection"]
    shares = proj["job_seconds"]
    total = proj["job_seconds_total"]
    lines = [
        "# Where the first command's time goes",
        "",
        f"Machine: {result['machine']}. Run {result['date']}, load before the run "
        f"{result['load_before']:.2f}. {result['epochs']} epochs a run, medians of "
        f"{result['repeats']} repeats; the quick recipe's data ({DATASET}, step 100, "
        f"{IMAGES:,} images), batch 128, 1 thread.",
        "",
        "| phase (one run, seconds) | " + " | ".join(result["phases"]) + " |",
        "|---|" + "---|" * len(result["phases"]),
    ]
    for p in (*PHASES, "wall"):
        lines.append(
            f"| {p} | " + " | ".join(f"{v[p]:.2f}" for v in result["phases"].values()) + " |"
        )
    lines += [
        "",
        f"Portable / native, SGD and diagnostics (paired median): "
        f"{result['portable_over_native']:.3f}. One evaluation (CLI, wall): "
        f"{result['evaluate_s']:.2f} s; a CLI's start (`procrustean validate`): "
        f"{result['cli_startup_s']:.2f} s; `snakemake -n quick`: {result['snakemake_plan_s']:.2f} s.",
        "",
        f"Scaled to the quick study ({proj['runs']} runs of 10 epochs, {proj['runs']} "
        "evaluations), job-seconds:",
        "",
        "| phase | job-seconds | share |",
        "|---|---|---|",
        *(f"| {k} | {v:.0f} | {v / total:.1%} |" for k, v in shares.items()),
        f"| all | {total:.0f} | 100% |",
        "",
        f"Two-core floor (perfect packing, plus the plan): {proj['two_core_floor_min']:.1f} min "
        f"portable, {proj['native_two_core_floor_min']:.1f} min native. Not measured here: "
        "Snakemake's per-job overhead and its closing bookkeeping (`after-run`: dvc.lock and "
        "the comparison).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-dir", default=str(REPO / "results" / "bench"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_train(args.child, args.epochs, Path(args.out_dir))))
        return
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="first-command-") as tmp:
        result = measure(Path(tmp), args.epochs, args.repeats)
    result |= {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": load,
    }
    result["projection"] = project(result, quick_runs())
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "first_command.json", result)
    (out / "first_command.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
