"""Bookkeeping under the content rule at paper scale and at ten times it: stand-in outputs for
every stage of a study (no training), then the four questions a user asks with nothing to do,
timed. Writes results/bench/bookkeeping.{json,md}.

    python -m benchmarks.bookkeeping                 # paper (~780 stages) and paper x 10 (~7,700)
    python -m benchmarks.bookkeeping --tiny --out-dir /tmp/b   # the smoke study, seconds

The x10 study is generated: the paper study with ten times its seeds, written into the scratch
copy's params.yaml (and its dvc.yaml regenerated), never into the repository's.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.pipeline import BIN, copy_repo, timed
from procrustean.checks.freshness import study_stages
from procrustean.config import load_params
from procrustean.engines.run_config import write_run_configs
from procrustean.fileio import write_json
from procrustean.provenance import hash_inputs, stable_record, write_provenance

REPO = Path(__file__).resolve().parents[1]
TARGET_S = {1: 5.0, 10: 10.0}  # the targets: paper scale, ten times it
QUESTIONS = {  # figure -> command (the study filled in)
    "snakemake_dry_run": ["snakemake", "-n", "{study}"],
    "dvc_status": ["dvc", "status", "--with-deps", "report@{study}"],
    "procrustean_status": ["procrustean", "status", "--study", "{study}"],
    "dvc_repro_noop": ["dvc", "repro", "report@{study}"],
}


def scaled_study(clone: Path, study: str, scale: int) -> str:
    """Add ``study`` with ``scale`` times its seeds to the clone's params.yaml, regenerate its
    dvc.yaml and commit; return the new study's name (``study`` itself when ``scale`` is 1)."""
    if scale == 1:
        return study
    path = clone / "params.yaml"
    params = yaml.safe_load(path.read_text())
    name = f"{study}_x{scale}"
    spec = dict(params["studies"][study])
    spec["seeds"] = list(range(len(spec["seeds"]) * scale))
    spec["description"] = f"{study} with {scale} times its seeds (bookkeeping benchmark)"
    params["studies"][name] = spec
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (
        [str(BIN / "procrustean"), "dvc-yaml"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", name],
    ):
        subprocess.run(cmd, cwd=clone, check=True, capture_output=True)
    return name


def _stand_in(path: str) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        write_json(out, {"stand_in": True})
    else:
        out.write_bytes(os.urandom(256))


DECISION = re.compile(r"^(Nothing to be done|total\s+\d+)")  # Snakemake's answer among its lines


def decision(lines: list[str]) -> str:
    """Snakemake's answer among its output lines ("Nothing to be done ..." or its job total),
    rather than its last line (a closing profile or metadata note)."""
    decided = [ln.strip() for ln in lines if DECISION.match(ln.strip())]
    return decided[-1] if decided else "no decision line"


def current_stand_ins(clone: Path, study: str) -> int:
    """Every output of ``study`` as a small stand-in with the record its stage would write
    (its real params, inputs and code), in run order: the content rule finds them all current,
    so each question below has nothing to do. Returns the number of files written."""
    here = Path.cwd()
    os.chdir(clone)
    try:
        params = load_params("params.yaml")
        files = len(write_run_configs(params, study).written)
        for stage in study_stages(params, study).values():
            for out in stage.outputs:
                _stand_in(out)
            stable = stable_record(stage.params, hash_inputs(list(stage.inputs)))
            write_provenance(stage.kind, list(stage.outputs), stable, "stand-in", "params.yaml")
            if stage.committed_record != stage.record:  # a split's copy beside its summary
                shutil.copyfile(stage.record, stage.committed_record)
            files += len(stage.outputs) + 1 + (stage.committed_record != stage.record)
        return files
    finally:
        os.chdir(here)


def measure(workdir: Path, study: str, scale: int, repeats: int) -> dict:
    """Stand-ins for the (scaled) study in a scratch copy, recorded by DVC, then each question
    timed ``repeats`` times (medians)."""
    clone = copy_repo(REPO, workdir / f"x{scale}")
    name = scaled_study(clone, study, scale)
    t0 = time.perf_counter()
    n_files = current_stand_ins(clone, name)
    generate_s = time.perf_counter() - t0
    commit = timed([str(BIN / "procrustean"), "dvc-commit"], clone, 1)
    params = load_params(clone / "params.yaml")
    stages = len(study_stages(params, name)) + 1  # and its run-config
    figures = {
        key: timed(
            [str(BIN / cmd[0]), *(c.format(study=name) for c in cmd[1:])],
            clone,
            repeats,
            pick=decision if cmd[0] == "snakemake" else None,
        )
        for key, cmd in QUESTIONS.items()
    }
    return {
        "study": name,
        "scale": scale,
        "stages": stages,
        "files": n_files,
        "generate_s": round(generate_s, 2),
        "dvc_commit_s": commit["median_s"],
        "target_s": TARGET_S.get(scale),
        "figures": figures,
    }


def markdown(result: dict) -> str:
    """The table: one row per question, one column per scale, target met or not."""
    parts = result["scales"]
    head = " | ".join(f"{p['study']} ({p['stages']} stages), s" for p in parts)
    lines = [
        "# Bookkeeping with nothing to do",
        "",
        f"Machine: {result['machine']}, {os.cpu_count()} CPUs, load average "
        f"{result['load_before']} before, {result['load_after']} after. "
        f"Run {result['date']}, {result['wall_s']} s. Medians of "
        f"{result['repeats']} runs each; stand-in outputs (no training), recorded by "
        "`procrustean dvc-commit` first. Target: at most "
        + ", ".join(f"{p['target_s']} s at {p['study']}" for p in parts if p["target_s"])
        + ".",
        "",
        f"| question | {head} |",
        "|---|" + "---|" * len(parts),
    ]
    for key, cmd in QUESTIONS.items():
        cells = []
        for p in parts:
            s = p["figures"][key]["median_s"]
            met = (
                "" if p["target_s"] is None else (" (met)" if s <= p["target_s"] else " (NOT met)")
            )
            cells.append(f"{s}{met}")
        shown = " ".join(cmd).format(study="S")
        lines.append(f"| `{shown}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Set-up, once per scale: "
        + "; ".join(
            f"{p['study']}: {p['files']} stand-in files in {p['generate_s']} s, "
            f"`procrustean dvc-commit` {p['dvc_commit_s']} s"
            for p in parts
        )
        + ".",
        "",
        "What each said: "
        + "; ".join(
            f'{p["study"]} {k}: "{p["figures"][k]["last_line"]}"' for p in parts for k in QUESTIONS
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="the smoke study at x1 and x2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-dir", default=str(REPO / "results" / "bench"))
    args = parser.parse_args()
    study, scales = ("smoke", (1, 2)) if args.tiny else ("paper", (1, 10))
    start, load = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        parts = [measure(Path(tmp), study, s, args.repeats) for s in scales]
    result = {
        "machine": f"{platform.machine()}, {platform.platform()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wall_s": round(time.perf_counter() - start),
        "repeats": args.repeats,
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "scales": parts,
    }
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "bookkeeping.json", result)
    (out / "bookkeeping.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
