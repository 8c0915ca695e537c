"""Re-derived numbers against the committed ones: byte-identical, or how far off."""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procrustean.config import Run, lookup, study_runs
from procrustean.paths import history_path, metrics_path


def committed_blobs(paths: list[str], repo: str | Path = ".", rev: str = "HEAD") -> dict:
    """The bytes of ``paths`` as committed at ``rev`` (None where not committed)."""
    request = "".join(f"{rev}:{p}\n" for p in paths).encode()
    proc = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=repo, input=request, capture_output=True, check=True
    )
    out, pos, blobs = proc.stdout, 0, {}
    for path in paths:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            blobs[path] = out[pos : pos + size]
            pos += size + 1
        else:
            blobs[path] = None
    return blobs


def _numbers(obj: Any) -> list[float]:
    if isinstance(obj, bool):
        return [float(obj)]
    if isinstance(obj, int | float):
        return [float(obj)]
    if isinstance(obj, dict):
        return [x for k in sorted(obj) for x in _numbers(obj[k])]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    return []


def max_abs_diff(a: Any, b: Any) -> float:
    """Largest absolute difference between the numbers of two JSON documents of one shape
    (infinite when their shapes differ)."""
    xs, ys = _numbers(a), _numbers(b)
    if len(xs) != len(ys):
        return math.inf
    return max((abs(x - y) for x, y in zip(xs, ys, strict=True)), default=0.0)


@dataclass
class RunComparison:
    """One run's metrics and history against their committed versions."""

    run: Run
    status: str  # identical | differs | not committed | missing here
    detail: str = ""


@dataclass
class StudyComparison:
    study: str
    runs: list[RunComparison] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.runs)

    def lines(self) -> list[str]:
        """A summary line, then one line per run that is not byte-identical."""
        n, same = len(self.runs), self.count("identical")
        compared = n - self.count("not committed") - self.count("missing here")
        if compared == 0:
            head = f"{self.study}: no committed results to compare with ({n} runs)"
        else:
            head = f"{self.study}: {same} of {compared} runs byte-identical to the committed"
            head += " results (metrics and history)"
        extra = []
        for status in ("differs", "not committed", "missing here"):
            if k := self.count(status):
                extra.append(f"{k} {status}")
        if extra:
            head += "; " + ", ".join(extra)
        body = [
            f"  {r.run.setting.name} {r.run.method} seed {r.run.seed}: {r.status}"
            + (f" ({r.detail})" if r.detail else "")
            for r in self.runs
            if r.status != "identical"
        ]
        return [head, *body]


def _compare_run(run: Run, study: str, here: dict, committed: dict) -> RunComparison:
    mpath, hpath = metrics_path(study, run), history_path(study, run)
    if here[mpath] is None or here[hpath] is None:
        return RunComparison(run, "missing here")
    if committed[mpath] is None or committed[hpath] is None:
        return RunComparison(run, "not committed")
    if here[mpath] == committed[mpath] and here[hpath] == committed[hpath]:
        return RunComparison(run, "identical")
    new_m, old_m = json.loads(here[mpath]), json.loads(committed[mpath])
    new_h, old_h = json.loads(here[hpath]), json.loads(committed[hpath])
    top1 = new_m.get("top1", math.nan) - old_m.get("top1", math.nan)
    detail = (
        f"top-1 {old_m.get('top1')} -> {new_m.get('top1')} ({top1:+.2f} points); "
        f"metrics max |diff| {max_abs_diff(new_m, old_m):.3g}, "
        f"history max |diff| {max_abs_diff(new_h, old_h):.3g}"
    )
    return RunComparison(run, "differs", detail)


def compare_study(
    params: dict, study: str, workdir: str | Path = ".", repo: str | Path = ".", rev: str = "HEAD"
) -> StudyComparison:
    """Compare a study's metrics and history files under ``workdir`` with ``rev`` in ``repo``."""
    lookup(params, "studies", study)
    runs = study_runs(params, study)
    paths = [p for r in runs for p in (metrics_path(study, r), history_path(study, r))]
    committed = committed_blobs(paths, repo, rev)
    here = {
        p: (Path(workdir, p).read_bytes() if Path(workdir, p).is_file() else None) for p in paths
    }
    return StudyComparison(study, [_compare_run(r, study, here, committed) for r in runs])


def studies_written_since(params: dict, since: float) -> list[str]:
    """Studies with a metrics or history file written after ``since`` (a Unix time)."""
    out = []
    for study in params["studies"]:
        for run in study_runs(params, study):
            paths = (Path(metrics_path(study, run)), Path(history_path(study, run)))
            if any(p.is_file() and p.stat().st_mtime > since for p in paths):
                out.append(study)
                break
    return out
