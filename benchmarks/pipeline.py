"""Pipeline overhead at paper scale: stand-in outputs for the whole paper grid, then time the
engines' bookkeeping (no training)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from procrustean.checks.freshness import stage_name, study_stages
from procrustean.config import load_params, study_runs, study_settings
from procrustean.engines.run_config import write_run_configs
from procrustean.fileio import write_json
from procrustean.paths import (
    history_path,
    metrics_path,
    model_path,
    report_outputs,
    split_path,
    split_summary_path,
)
from procrustean.provenance import hash_inputs, stable_record, write_provenance

BIN = Path(sys.executable).parent
COMMIT_NAMED = 20  # stages re-committed by name, one target each


def copy_repo(repo: Path, dest: Path) -> Path:
    """The working tree as git sees it (tracked and untracked, not ignored), without results."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, files):
        src, dst = repo / rel, dest / rel
        if rel.startswith("results/") or rel == "dvc.lock":
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(src.readlink())
        elif src.is_file():
            shutil.copy2(src, dst)
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"],
    ):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True)
    return dest


def stand_ins(repo: Path, study: str = "paper", history_epochs: int = 200) -> int:
    """Write every output of ``study`` (small but well-formed), with provenance, in DAG order."""
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        params = load_params("params.yaml")
        files = 0
        for s in study_settings(params, study):
            out, summary = split_path(study, s), split_summary_path(study, s)
            write_json(out, {"format": 1, "dataset": s.dataset, "stand_in": True})
            write_json(summary, {"dataset": s.dataset, "stand_in": True})
            write_provenance(
                "split", [out, summary], stable_record({}, {}), "stand-in", "params.yaml"
            )
            files += 3
        files += len(write_run_configs(params, study).written)
        classes = 10
        for r in study_runs(params, study):
            split, hist, model, metrics = (
                split_path(study, r.setting),
                history_path(study, r),
                model_path(study, r),
                metrics_path(study, r),
            )
            epochs = [
                {"epoch": e + 1, "class_acc": [0.5] * classes, "class_grad_norm": [0.1] * classes}
                for e in range(history_epochs)
            ]
            write_json(hist, {"stand_in": True, "epochs": epochs})
            Path(model).parent.mkdir(parents=True, exist_ok=True)
            Path(model).write_bytes(os.urandom(4096))
            write_provenance(
                "train",
                [hist, model],
                stable_record({}, hash_inputs([split])),
                "stand-in",
                "params.yaml",
            )
            write_json(metrics, {"top1": 50.0, "stand_in": True})
            write_provenance(
                "evaluate",
                [metrics],
                stable_record({}, hash_inputs([split, model])),
                "stand-in",
                "params.yaml",
            )
            files += 5
        outputs = report_outputs(study)
        for out in outputs:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text("stand-in\n")
        inputs = [metrics_path(study, r) for r in study_runs(params, study)]
        inputs += [history_path(study, r) for r in study_runs(params, study)]
        write_provenance(
            "report", outputs, stable_record({}, hash_inputs(inputs)), "stand-in", "params.yaml"
        )
        return files + len(outputs) + 1
    finally:
        os.chdir(cwd)


SLURM_COMMANDS = frozenset(
    [
        "sacct",
        "sacctmgr",
        "salloc",
        "sattach",
        "sbatch",
        "sbcast",
        "scancel",
        "scontrol",
        "scrontab",
        "sdiag",
        "sh5util",
        "sinfo",
        "sprio",
        "squeue",
        "sreport",
        "srun",
        "sshare",
        "sstat",
        "strigger",
        "sview",
    ]
)


def path_without_slurm(folder: Path) -> str:
    """A PATH with every command of this PATH except SLURM's client commands (symlinks in
    ``folder``): how Snakemake starts on a machine without SLURM installed."""
    folder.mkdir(parents=True, exist_ok=True)
    for d in [str(BIN), *os.environ.get("PATH", "").split(os.pathsep)]:
        if not d or not Path(d).is_dir():
            continue
        for exe in Path(d).iterdir():
            link = folder / exe.name
            if exe.name in SLURM_COMMANDS or link.exists() or link.is_symlink():
                continue
            if exe.is_file() and os.access(exe, os.X_OK):
                link.symlink_to(exe)
    return str(folder)


def slurm_state() -> str:
    """Whether SLURM's commands are here and its controller answers."""
    if shutil.which("sinfo") is None:
        return "not installed"
    try:
        up = subprocess.run(["sinfo", "-h"], capture_output=True, timeout=15).returncode == 0
    except subprocess.TimeoutExpired:
        up = False
    return "installed, controller running" if up else "installed, controller not running"


def timed(
    cmd: list[str],
    cwd: Path,
    repeats: int,
    path: str | None = None,
    pick: Callable[[list[str]], str] | None = None,
) -> dict:
    """Median wall time of a command over ``repeats`` runs, and its last output line (or the
    line ``pick`` chooses from its output lines)."""
    env = dict(os.environ, PATH=path or f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    times, last = [], ""
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
        out = (proc.stdout + proc.stderr).strip().splitlines()
        last = pick(out) if pick else (out[-1] if out else "")
    return {
        "median_s": round(statistics.median(times), 2),
        "samples_s": [round(t, 2) for t in times],
        "last_line": last[:200],
    }


def commit_named(clone: Path, names: list[str], repeats: int) -> dict:
    """Re-committing stages named one by one, as after a study stopped part-way: DVC's command
    (``dvc commit -f NAMES``, which rewrites dvc.lock per name) against ``procrustean
    dvc-commit``'s one write, interleaved, both called from this process."""
    from procrustean.engines.dvcsync import cli_commit, commit_stages

    times: dict[str, list[float]] = {"dvc_command": [], "one_write": []}
    here = Path.cwd()
    os.chdir(clone)
    try:
        for _ in range(repeats):
            for key, commit in (("dvc_command", cli_commit), ("one_write", commit_stages)):
                t0 = time.perf_counter()
                error = commit(names)
                times[key].append(time.perf_counter() - t0)
                if error:
                    raise RuntimeError(f"{key}: {error}")
    finally:
        os.chdir(here)
    medians = {k: round(statistics.median(v), 2) for k, v in times.items()}
    pairs = zip(times["dvc_command"], times["one_write"], strict=True)
    ratio = statistics.median([a / b for a, b in pairs])
    return {"stages": len(names), **medians, "dvc_command_over_one_write": round(ratio, 2)}


def measure(repo: Path, workdir: Path, repeats: int, study: str = "paper") -> dict:
    """Stand-ins for the study, then the bookkeeping commands, timed."""
    clone = copy_repo(repo, workdir / "repo")
    t0 = time.perf_counter()
    n_files = stand_ins(clone, study)
    generate_s = time.perf_counter() - t0
    commit = timed([str(BIN / "procrustean"), "dvc-commit"], clone, 1)
    no_slurm = path_without_slurm(workdir / "bin-without-slurm")
    # What a user types: the study's Snakemake target; DVC's report stage of the study with
    # everything upstream of it (its whole grid).
    dry_run = [str(BIN / "snakemake"), "-n", study]
    results = {
        "slurm": slurm_state(),
        "snakemake_dry_run": timed(dry_run, clone, repeats),
        "snakemake_dry_run_without_slurm": timed(dry_run, clone, repeats, path=no_slurm),
        "dvc_status": timed(
            [str(BIN / "dvc"), "status", "--with-deps", f"report@{study}"], clone, repeats
        ),
        "dvc_repro_noop": timed([str(BIN / "dvc"), "repro", f"report@{study}"], clone, repeats),
        "audit_table": timed(
            [str(BIN / "procrustean"), "audit", f"results/{study}/tables/accuracy.md"],
            clone,
            repeats,
        ),
    }
    params = load_params(clone / "params.yaml")
    # the study's stages as stage_files names them (no other study's, no analysis's judge stage)
    one = [stage_name("run-config", study), *study_stages(params, study)]
    named = [n for n in one if n.startswith(f"evaluate-{study}@")][:COMMIT_NAMED]
    results["commit_named"] = commit_named(clone, named, repeats)
    stages = len(one)
    return {
        "study": study,
        "stages": stages,
        "files": n_files,
        "generate_s": round(generate_s, 2),
        "dvc_commit_s": commit["median_s"],
        **results,
    }
