"""The README's first command as a newcomer runs it: in a fresh `git clone` of HEAD and from a
`git archive` tarball of HEAD, set-up and Snakemake timed apart, their closing lines kept.
Writes results/bench/newcomer.{json,md}; the README quotes its figures.

    python -m benchmarks.newcomer                    # both sources (about 15 minutes, 2 cores)
    python -m benchmarks.newcomer --source archive   # one

Run it on an idle machine from a committed tree (the clone and the tarball are of HEAD). The
set-up's time depends on where pip finds the packages: the page says where (its configuration)
and how full its cache was.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procrustean.fileio import write_json

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("clone", "archive")
TAIL = 3  # closing lines kept per phase


def first_command(readme: Path = REPO / "README.md") -> list[str]:
    """The README's first command (the first line of its first bash block), cut at `&&` into
    its phases, without the trailing comment."""
    match = re.search(r"```bash\n(.+?)\n", readme.read_text())
    if match is None:
        raise SystemExit(f"{readme}: no ```bash block")
    command = match.group(1).split("  #")[0].strip()
    return [part.strip() for part in command.split("&&")]


def make_tree(source: str, dest: Path) -> None:
    """A fresh tree of HEAD: a git clone, or a git archive tarball unpacked."""
    if source == "clone":
        subprocess.run(["git", "clone", "-q", str(REPO), str(dest)], check=True)
        return
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", "HEAD"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def run_phase(command: str, cwd: Path) -> dict:
    """One phase in ``cwd``: wall seconds, exit status and its closing lines."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=_clean_env()
    )
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    said = [line for line in lines if line.startswith("procrustean:")]  # after-run's lines
    return {
        "command": command,
        "seconds": time.perf_counter() - start,
        "rc": proc.returncode,
        "tail": said + [line for line in lines[-TAIL:] if line not in said],
    }


def _clean_env() -> dict[str, str]:
    """This process's environment without the venv or PYTHONPATH it may run under."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    return env


def measure(source: str, phases: list[str]) -> dict:
    """The first command's phases, in order, in a fresh tree from ``source``."""
    root = Path(tempfile.mkdtemp(prefix=f"newcomer-{source}-"))
    try:
        make_tree(source, root / "tree")
        done = []
        for command in phases:
            done.append(run_phase(command, root / "tree"))
            if done[-1]["rc"] != 0:
                break
        return {"source": source, "phases": done, "seconds": sum(p["seconds"] for p in done)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _pip_sources() -> str:
    """Where pip finds packages here (its configuration), and its cache's size."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    )
    found = [
        line.split("=", 1)[1].strip("'")
        for line in proc.stdout.splitlines()
        if re.search(r"(find-links|index-url)=", line)
    ]
    cache = Path.home() / ".cache" / "pip"
    mb = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 1e6
    return f"pip reads {', '.join(dict.fromkeys(found)) or 'PyPI'}; its cache held {mb:.0f} MB"


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def markdown(result: dict) -> str:
    """The figures as a page."""
    lines = [
        "# The README's first command, as a newcomer runs it",
        "",
        f"Machine: {result['machine']}. Run {result['date']} from {result['commit'][:7]}; load "
        f"before the run {result['load_before']:.2f}; {result['pip']} before the first source.",
        "",
        f"Command: `{' && '.join(result['command'])}`",
        "",
        "| source | "
        + " | ".join(f"phase {i + 1}" for i in range(len(result["command"])))
        + " | all | exit |",
        "|---|" + "---|" * (len(result["command"]) + 2),
    ]
    for run in result["runs"]:
        cells = [_minutes(p["seconds"]) for p in run["phases"]]
        cells += ["-"] * (len(result["command"]) - len(cells))
        rc = run["phases"][-1]["rc"]
        lines.append(
            f"| {run['source']} | " + " | ".join(cells) + f" | {_minutes(run['seconds'])} | {rc} |"
        )
    for run in result["runs"]:
        lines += ["", f"Closing lines ({run['source']}):", "", "```"]
        lines += run["phases"][-1]["tail"]
        lines += ["```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=SOURCES, action="append")
    parser.add_argument("--out-dir", default=str(REPO / "results" / "bench"))
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit,
        "load_before": os.getloadavg()[0],
        "pip": _pip_sources(),
        "command": first_command(),
    }
    result["runs"] = []
    for source in args.source or SOURCES:
        run = measure(source, result["command"])
        result["runs"].append(run)
        print(f"newcomer {source}: {_minutes(run['seconds'])}, exit {run['phases'][-1]['rc']}")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "newcomer.json", result)
    (out / "newcomer.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
