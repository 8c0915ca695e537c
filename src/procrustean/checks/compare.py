"""Re-derived numbers against the committed ones: byte-identical, or how far off, and whether
the study's conclusions hold.

Outcomes (and exit codes of ``procrustean compare`` / ``verify``):

* byte-identical (0): every run's metrics and history bytes equal the committed ones;
* conclusions reproduced (3): bytes differ, but every claim keeps its verdict, every re-derived
  paired mean lies inside its committed 95% interval and every run's top-1 moved by at most
  2 committed sd_seed (procrustean.checks.conclusions has the rules);
* conclusions differ (1): a check failed (or, for verify, a run is missing here);
* bytes differ but the work folder has no fresh report tables (1): conclusions not judged.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procrustean.checks.conclusions import JUDGED, RULES, Conclusions, judge, table_path
from procrustean.config import Run, study_runs
from procrustean.entries import Params
from procrustean.paths import history_path, metrics_path

# Where a tree without git (a `git archive` tarball) keeps the results as they arrived: copied
# when a Snakemake run starts, so that its closing comparison has a baseline.
BASELINE_DIR = Path(".snakemake/procrustean/baseline")
BASELINE_PARTS = ("metrics", "history", "tables")


def is_git_repo(repo: str | Path = ".") -> bool:
    """Whether ``repo`` is inside a git work tree."""
    proc = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"], cwd=repo, capture_output=True, text=True
    )
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def snapshot_baseline(params: Params, root: str | Path = ".") -> int:
    """Outside git, copy every study's metrics, histories and tables as they are now (before a
    run re-derives them) under BASELINE_DIR, replacing an older copy; returns the file count."""
    if is_git_repo(root):
        return 0
    base = Path(root, BASELINE_DIR)
    shutil.rmtree(base, ignore_errors=True)
    copied = 0
    for study in params.studies:
        for part in BASELINE_PARTS:
            folder = Path(root, "results", study, part)
            if folder.is_dir():
                shutil.copytree(folder, base / "results" / study / part)
                copied += sum(1 for f in folder.rglob("*") if f.is_file())
    return copied


def baseline_blobs(paths: list[str], repo: str | Path = ".") -> dict:
    """The bytes of ``paths`` in the baseline copy (None where it has none)."""
    base = Path(repo, BASELINE_DIR)
    return {p: (base / p).read_bytes() if (base / p).is_file() else None for p in paths}


def committed_blobs(paths: list[str], repo: str | Path = ".", rev: str = "HEAD") -> dict:
    """The bytes of ``paths`` as committed at ``rev`` (None where not committed); outside git
    (a tarball), as they arrived (the baseline copied when the last Snakemake run started)."""
    if not is_git_repo(repo):
        return baseline_blobs(paths, repo)
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


IDENTICAL = "byte-identical"
REPRODUCED = "conclusions reproduced"
DIFFER = "conclusions differ"
NOT_JUDGED = "bytes differ, conclusions not judged"
EXIT_CODES = {IDENTICAL: 0, REPRODUCED: 3, DIFFER: 1, NOT_JUDGED: 1}


def worst_exit(codes: list[int]) -> int:
    """The exit status of several studies: 1 over 3 over 0."""
    return 1 if 1 in codes else 3 if 3 in codes else 0


@dataclass
class RunComparison:
    """One run's metrics and history against their committed versions."""

    run: Run
    status: str  # identical | differs | not committed | missing here
    detail: str = ""
    top1: tuple[float, float] | None = None  # (committed, re-derived) where the bytes differ


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@dataclass
class StudyComparison:
    """A study's runs against the committed ones, and whether its conclusions hold."""

    study: str
    runs: list[RunComparison] = field(default_factory=list)
    conclusions: Conclusions | None = None
    missing_fails: bool = False  # verify: a run missing here makes the conclusions differ

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.runs)

    @property
    def outcome(self) -> str:
        """IDENTICAL, REPRODUCED, DIFFER or NOT_JUDGED (see the module's rules)."""
        c = self.conclusions
        if (self.missing_fails and self.count("missing here")) or (c and c.judged and c.failures):
            return DIFFER
        if not self.count("differs"):
            return IDENTICAL
        if c is None or not c.judged:
            return NOT_JUDGED
        return DIFFER if c.outside else REPRODUCED

    @property
    def exit_code(self) -> int:
        """0 byte-identical, 3 conclusions reproduced, 1 conclusions differ (or not judged)."""
        return EXIT_CODES[self.outcome]

    @property
    def compared(self) -> int:
        """Runs both committed and made here."""
        return len(self.runs) - self.count("not committed") - self.count("missing here")

    def _bytes(self, full: bool = False) -> str:
        """'3 of 4 runs byte-identical; 1 differs' (``full``: today's wording)."""
        n, same, compared = len(self.runs), self.count("identical"), self.compared
        if compared == 0:
            text = f"no committed results to compare with ({n} runs)"
        else:
            text = f"{same} of {compared} runs byte-identical"
            text += " to the committed results (metrics and history)" if full else ""
        statuses = ("differs", "not committed", "missing here")
        extra = [f"{k} {s}" for s in statuses if (k := self.count(s))]
        return text + ("; " + ", ".join(extra) if extra else "")

    def _head(self) -> str:
        outcome, c = self.outcome, self.conclusions
        if outcome in (IDENTICAL, NOT_JUDGED):
            return f"{self.study}: {self._bytes(full=True)}"
        if outcome == REPRODUCED:
            assert c is not None
            checked = (
                f"{_plural(c.claims, 'claim')}, {_plural(c.paired, 'paired mean')}, "
                f"{_plural(len(c.drifts), 'moved run')} checked"
            )
            return f"{self.study}: {REPRODUCED} ({checked}); {self._bytes()}"
        what = []
        if c is not None:
            what += [
                _plural(len(c.failed_claims), "claim"),
                _plural(len(c.failed_paired), "paired mean"),
                _plural(len(c.outside), "run's top-1", "runs' top-1"),
            ]
            what = [w for w in what if not w.startswith("0 ")]
        if self.missing_fails and (k := self.count("missing here")):
            what.append(f"{_plural(k, 'run')} missing here")
        return f"{self.study}: {DIFFER} ({', '.join(what)}); {self._bytes()}"

    def lines(self) -> list[str]:
        """The summary line; the rules and why the conclusions were not judged, where they
        matter; one line per run that differs or is missing here (runs new since the commit
        are only counted, and none is listed where no run could be compared); the failing
        checks."""
        c, outcome = self.conclusions, self.outcome
        out = [self._head()]
        if c and c.judged and outcome != IDENTICAL:
            out.append(f"  {RULES}")
        if outcome == NOT_JUDGED:
            why = c.why_not if c else "no report tables to judge them"
            out.append(f"  conclusions not judged: {why}; the verdict is the byte comparison's")
        drift = {d.run: d for d in c.drifts} if c else {}
        for r in self.runs if self.compared else []:  # none compared: the counts say it all
            if r.status in ("identical", "not committed"):
                continue
            where = f"  {r.run.setting.name} {r.run.method} seed {r.run.seed}: "
            if r.run in drift:
                out.append(where + drift[r.run].text() + (f"; {r.detail}" if r.detail else ""))
            else:
                out.append(where + r.status + (f" ({r.detail})" if r.detail else ""))
        if c:
            out += [f"  failed: {f}" for f in c.failures]
            if c.judged and c.exact and outcome != IDENTICAL:
                out.append(
                    f"  note: {_plural(c.exact, 'paired mean')} with n < 2 (no interval) "
                    "compared exactly"
                )
        return out


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
    detail = (
        f"max |diff| metrics {max_abs_diff(new_m, old_m):.3g}, "
        f"history {max_abs_diff(new_h, old_h):.3g}"
    )
    top1 = (_top1(old_m), _top1(new_m))
    return RunComparison(run, "differs", detail, top1)


def _top1(metrics: Any) -> float:
    value = metrics.get("top1") if isinstance(metrics, dict) else None
    return float(value) if isinstance(value, int | float) else math.nan


def _mtime_ns(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.is_file() else None


def study_conclusions(
    study: str, runs: list[RunComparison], workdir: str | Path, repo: str | Path, rev: str
) -> Conclusions:
    """Read the committed and re-derived report tables and judge the study's conclusions."""
    names = [*JUDGED, "runs"]
    paths = {name: table_path(study, name) for name in names}
    at_rev = committed_blobs(list(paths.values()), repo, rev)
    committed = {name: at_rev[path] for name, path in paths.items()}
    here = {
        name: (Path(workdir, p).read_bytes() if Path(workdir, p).is_file() else None)
        for name, p in paths.items()
    }
    moved = [r for r in runs if r.status == "differs"]
    run_files = [
        Path(workdir, p)
        for r in moved
        for p in (metrics_path(study, r.run), history_path(study, r.run))
    ]
    newest = max((t for f in run_files if (t := _mtime_ns(f)) is not None), default=None)
    oldest_table = min(
        (t for n in JUDGED if (t := _mtime_ns(Path(workdir, paths[n]))) is not None), default=None
    )
    stale = newest is not None and oldest_table is not None and newest > oldest_table
    tops = [(r.run, *r.top1) for r in moved if r.top1 is not None]
    return judge(study, tops, committed, here, rev, stale)


def compare_study(
    params: dict,
    study: str,
    workdir: str | Path = ".",
    repo: str | Path = ".",
    rev: str = "HEAD",
    missing_fails: bool = False,
) -> StudyComparison:
    """Compare a study's metrics and history files under ``workdir`` with ``rev`` in ``repo``
    and judge its conclusions from the report tables there. ``missing_fails``: a run missing
    under ``workdir`` makes the conclusions differ (verify re-derived every run)."""
    params.study(study)
    runs = study_runs(params, study)
    paths = [p for r in runs for p in (metrics_path(study, r), history_path(study, r))]
    committed = committed_blobs(paths, repo, rev)
    here = {
        p: (Path(workdir, p).read_bytes() if Path(workdir, p).is_file() else None) for p in paths
    }
    results = [_compare_run(r, study, here, committed) for r in runs]
    conclusions = study_conclusions(study, results, workdir, repo, rev)
    return StudyComparison(study, results, conclusions, missing_fails)


def studies_written_since(params: Params, since: float) -> list[str]:
    """Studies with a metrics or history file written after ``since`` (a Unix time)."""
    out = []
    for study in params.studies:
        for run in study_runs(params, study):
            paths = (Path(metrics_path(study, run)), Path(history_path(study, run)))
            if any(p.is_file() and p.stat().st_mtime > since for p in paths):
                out.append(study)
                break
    return out
