"""``procrustean status``: every output that is out of date, why, and what brings it up to date.

The answer is procrustean.checks.freshness's content rule, the one Snakemake and DVC apply: an output
is current when its provenance record names the params, inputs and code this tree would use
and the output still has the bytes it records. Reasons: absent (output or record missing),
output (its bytes differ from its record), params, input (a file it read changed, is absent, or
is itself out of date) and code. Each stage falls in one of three groups: stale (its record
exists and something it names changed), absent but recorded (git holds its record and every
output but the splits and checkpoints DVC caches: current with ``--allow-missing``), absent and
never recorded.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from procrustean.analyses import names
from procrustean.checks.code_lineage import LINEAGE_FILE
from procrustean.checks.freshness import CATEGORIES, Freshness, Verdict, stage_name
from procrustean.entries import Params
from procrustean.fileio import read_json
from procrustean.verdict_files import judge_name

RUN_FILE = re.compile(  # a run's metrics or history file, or its provenance record
    r"results/(?P<study>[^/]+)/(?:metrics|history)/(?P<run>[^/]+/[^/]+/seed\d+\.json)(?:\.prov\.json)?"
)
DEVICE_KINDS = ("train", "evaluate")  # the stages that run the model on a device
METRICS_FILE = re.compile(r"results/[^/]+/metrics/(?P<setting>[^/]+)/[^/]+/seed(?P<seed>\d+)\.json")


@dataclass
class StudyStatus:
    """One study's stages, judged strictly (``verdicts``) and by allow-missing (``allowing``):
    the second tells "absent but recorded" (git holds the stage's record and every output but
    DVC-cached ones) from "absent and never recorded" and from stale."""

    study: str
    verdicts: list[Verdict] = field(default_factory=list)
    allowing: list[Verdict] = field(default_factory=list)
    allow_missing: bool = False
    rerun: set[str] = field(default_factory=set)  # allow-missing: current, yet re-made (needed)

    @property
    def stale(self) -> list[Verdict]:
        """What the chosen mode re-runs or re-makes."""
        if self.allow_missing:
            return [v for v in self.allowing if not v.current or v.stage.name in self.rerun]
        return [v for v in self.verdicts if not v.current]

    def groups(self) -> dict[str, list[Verdict]]:
        """stale (recorded, and something changed), absent but recorded (current with
        --allow-missing), absent and never recorded."""
        out: dict[str, list[Verdict]] = {"stale": [], "recorded": [], "never": []}
        for strict, allowing in zip(self.verdicts, self.allowing, strict=True):
            if not allowing.recorded:
                out["never"].append(allowing)
            elif not allowing.current:
                out["stale"].append(allowing)
            elif not strict.current:
                out["recorded"].append(allowing)
        return out

    def lines(self, limit: int = 8) -> list[str]:
        n, stale = len(self.verdicts), self.stale
        groups = self.groups()
        mode = " (allow-missing)" if self.allow_missing else ""
        if not stale:
            out = [f"status {self.study}: all {n} stages up to date{mode}"]
        else:
            counts = {c: sum(c in v.categories() for v in stale) for c in CATEGORIES}
            why = ", ".join(f"{k} {c}" for c, k in counts.items() if k)
            why = why or "absent files a stage that runs needs"
            out = [f"status {self.study}: {len(stale)} of {n} stages out of date{mode} ({why})"]
        via = Counter(v.via for v in self.allowing if v.via)
        for ids, k in sorted(via.items()):
            out.append(
                f"  {k} stage{'' if k == 1 else 's'} current through accepted code changes "
                f"({LINEAGE_FILE}: {ids})"
            )
        recorded = groups["recorded"]
        out.append(
            f"  stale: {len(groups['stale'])}; absent but recorded: {len(recorded)}"
            f"{' (current with --allow-missing)' if not self.allow_missing else ''}; "
            f"absent and never recorded: {len(groups['never'])}"
        )
        shown = 0
        for v in groups["stale"]:
            if shown < limit:
                out.append(f"  stale {v.stage.outputs[0]}: {v.text()}")
            shown += 1
        for v in recorded:
            if not self.allow_missing:
                if shown < limit:
                    out.append(f"  absent {v.stage.outputs[0]}: {_absent_text(v)}")
                shown += 1
            elif v.stage.name in self.rerun:
                if shown < limit:
                    out.append(
                        f"  re-made {v.stage.outputs[0]}: recorded, but a stage that runs reads "
                        f"its absent {', '.join(v.absent)}"
                    )
                shown += 1
        for v in groups["never"]:
            if shown < limit:
                out.append(f"  never recorded {v.stage.outputs[0]}: {v.text()}")
            shown += 1
        if not self.allow_missing and recorded:
            kinds = Counter(v.stage.kind for v in recorded)
            out.append(
                "  absent but recorded: "
                + ", ".join(f"{kind} {k}" for kind, k in kinds.items())
                + " (git holds their records; splits and checkpoints are in DVC's cache)"
            )
        if shown > limit:
            out.append(f"  ... and {shown - limit} more (procrustean status --all)")
        if stale:
            flag = " --config allow_missing=true" if self.allow_missing else ""
            dvc = " --allow-missing" if self.allow_missing else ""
            out.append(
                f"  bring up to date: snakemake --cores all {self.study}{flag}  (or: dvc repro"
                f"{dvc} {stage_name('report', self.study)})"
            )
        return out

    def runs_left(
        self, shard: tuple[int, int] = (1, 1), uncommitted: frozenset[str] = frozenset()
    ) -> list[list[str]]:
        """The metrics files still to make (out of date in the chosen mode) or to commit (a
        run's metrics or history in ``uncommitted``), one list per setting and seed: the methods
        a paired test compares, made and committed together. Seed by seed across the settings,
        so that a study stopped part-way holds every setting at about the same number of seeds.
        ``shard`` (i, n) keeps the i-th of every n of the study's settings and seeds, counted
        over all of them, done or not, so that copies started at different times never take
        the same pair (``_shard_of``)."""
        index, count = shard
        shards = _shard_of({k for v in self.allowing if (k := _pair_key(v)) is not None}, count)
        mine = {key for key, k in shards.items() if k == index - 1}
        stale = {v.stage.name for v in self.stale}
        unsaved = {RUN_FILE.sub(r"results/\g<study>/metrics/\g<run>", f) for f in uncommitted}
        pairs: dict[tuple[int, str], list[str]] = {}
        for v in self.allowing:
            key, target = _pair_key(v), v.stage.outputs[0]
            if key in mine and (v.stage.name in stale or target in unsaved):
                pairs.setdefault(key, []).append(target)
        return [sorted(pairs[key]) for key in sorted(pairs)]

    def compute_lines(self) -> list[str]:
        """The compute the study's provenance records report: job time per kind of stage and
        the busy wall time (the union of the jobs' start-end intervals, so pauses between
        sessions do not count and jobs that ran side by side count once)."""
        spans = [(v.stage.kind, _interval(v.stage.record)) for v in self.verdicts]
        found = [(kind, span) for kind, span in spans if span]
        if not found:
            return [f"compute {self.study}: no provenance record yet"]
        out = [f"compute {self.study} (from {len(found)} of {len(self.verdicts)} records):"]
        for kind in dict.fromkeys(k for k, _ in found):
            seconds = [(end - start).total_seconds() for k, (start, end) in found if k == kind]
            out.append(
                f"  {kind}: {len(seconds)} job{'' if len(seconds) == 1 else 's'}, {sum(seconds) / 3600:.2f} job-hours "
                f"(median {statistics.median(seconds):.0f} s)"
            )
            out += self.resumed_lines(kind)
        intervals = [span for _, span in found]
        out.append(
            f"  busy wall time {_union_seconds(intervals) / 60:.0f} min, "
            f"{min(a for a, _ in intervals):%Y-%m-%d %H:%M} "
            f"to {max(b for _, b in intervals):%Y-%m-%d %H:%M} UTC"
        )
        return out + self.where_lines()

    def resumed_lines(self, kind: str) -> list[str]:
        """Runs of ``kind`` resumed from a checkpoint: their record times only the last segment
        (its start, end and epochs timed), so the job-hours above under-count them. Names how
        many epochs each timed and the kind's job-hours with each scaled to all its epochs (by
        its own segment's pace, or the median pace of the fully timed runs where it timed none)."""
        segments = []  # (seconds recorded, epochs timed, epochs in all)
        for v in self.verdicts:
            if v.stage.kind != kind or (span := _interval(v.stage.record)) is None:
                continue
            timed, total = _epochs(v.stage.record)
            segments.append(((span[1] - span[0]).total_seconds(), timed, total))
        resumed = [s for s in segments if _resumed(*s[1:])]
        if not resumed:
            return []
        paces = [sec / timed for sec, timed, total in segments if timed and timed == total]
        pace = statistics.median(paces) if paces else None

        def scaled(sec: float, timed: int | None, total: int | None) -> float:
            if not _resumed(timed, total):
                return sec
            if timed:
                return sec * total / timed
            return total * pace if pace is not None else sec

        hours = sum(scaled(*s) for s in segments) / 3600
        counts = sorted(Counter((timed, total) for _, timed, total in resumed).items())
        shares = ", ".join(f"{t} of {n}" + (f" (x{k})" if k > 1 else "") for (t, n), k in counts)
        return [
            f"    resumed from a checkpoint: {len(resumed)} (a record times only its last "
            f"segment; epochs timed: {shares}); {kind} job-hours with these scaled to all "
            f"their epochs: about {hours:.2f}"
        ]

    def where_lines(self) -> list[str]:
        """Where the study's runs were made: per kind of stage that runs the model, how many
        records name each device, CPU mode and platform, and whether runs whose bytes differ
        by where they ran are pooled (``_pooled``: a verdict over both must say so)."""
        out = []
        for kind in DEVICE_KINDS:
            places = Counter(
                place
                for v in self.verdicts
                if v.stage.kind == kind and (place := _place(v.stage.record)) is not None
            )
            if not places:
                continue
            text = "; ".join(f"{k} on {place}" for place, k in sorted(places.items()))
            out.append(f"  where {kind} ran: {text}{_pooled(set(places))}")
        return out


def _pair_key(v: Verdict) -> tuple[int, str] | None:
    """An evaluation's seed and setting; None for other stages."""
    match = METRICS_FILE.fullmatch(v.stage.outputs[0])
    if v.stage.kind != "evaluate" or match is None:
        return None
    return int(match["seed"]), match["setting"]


def _shard_of(keys: set[tuple[int, str]], count: int) -> dict[tuple[int, str], int]:
    """Each setting and seed's shard (0..count-1): its place in seed-by-seed order, modulo
    count; when count divides the number of settings, shifted by the seed's place, so that
    every shard still spans all settings (a b, then b a) instead of owning some of them."""
    settings = sorted({setting for _, setting in keys})
    seeds = {seed: k for k, seed in enumerate(sorted({seed for seed, _ in keys}))}
    shift = len(settings) % count == 0
    return {
        key: (k + (seeds[key[0]] if shift else 0)) % count for k, key in enumerate(sorted(keys))
    }


def uncommitted_files(paths: list[str]) -> frozenset[str]:
    """The files under ``paths`` that git does not hold as they are (untracked or modified);
    empty outside a git checkout."""
    try:
        proc = subprocess.run(
            ["git", "status", "--porcelain", "-z", "--untracked-files=all", "--", *paths],
            capture_output=True,
            text=True,
        )
    except OSError:
        return frozenset()
    if proc.returncode != 0:
        return frozenset()
    return frozenset(entry[3:] for entry in proc.stdout.split("\0") if len(entry) > 3)


def _record(record_path: str) -> dict | None:
    """A stage's provenance record (None when it has none or it cannot be read)."""
    try:
        return read_json(record_path)
    except (OSError, ValueError):
        return None


def _interval(record_path: str) -> tuple[dt.datetime, dt.datetime] | None:
    """A stage's start and end, from its provenance record (None when it has none)."""
    record = _record(record_path)
    if record is None:
        return None
    return dt.datetime.fromisoformat(record["start"]), dt.datetime.fromisoformat(record["end"])


def _epochs(record_path: str) -> tuple[int | None, int | None]:
    """A training record's epochs timed in its last process and its recipe's epochs (None
    where the record does not say)."""
    record = _record(record_path) or {}
    timed = (record.get("timing") or {}).get("epochs_timed")
    recipes = list(((record.get("params") or {}).get("recipe") or {}).values())
    total = recipes[0].get("epochs") if len(recipes) == 1 else None
    return timed, total


def _resumed(timed: int | None, total: int | None) -> bool:
    """Whether a training record timed fewer epochs than its recipe has (it resumed)."""
    return timed is not None and total is not None and timed < total


def _pooled(places: set[str]) -> str:
    """What a study's runs pool whose bytes differ by where they ran: CPU and GPU runs, or
    CPU runs in different modes ('' when neither)."""
    devices = {place.split(",")[0].split(":")[0] for place in places}
    if len(devices) > 1:
        return ": CPU and GPU runs pooled"
    modes = {place.split(", ")[1] for place in places if place.startswith("cpu")}
    return ": CPU modes pooled" if len(modes) > 1 else ""


def _place(record_path: str) -> str | None:
    """Where a stage ran, from its record: the device without its thread count or visible-device
    list, the CPU mode on a CPU, and the platform (None when the record names no device)."""
    record = _record(record_path)
    if record is None or "device" not in record:
        return None
    device = record["device"].split(" (CUDA_VISIBLE_DEVICES=")[0]
    software = record.get("software") or {}
    if device.startswith("cpu"):
        device = f"cpu, {software.get('cpu_mode', 'unrecorded')} mode"
    return f"{device}, {software.get('platform', 'unrecorded platform')}"


def _union_seconds(intervals: list[tuple[dt.datetime, dt.datetime]]) -> float:
    """Seconds covered by at least one interval."""
    total, reach = 0.0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += (end - start).total_seconds()
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds()
            reach = end
    return total


def study_status(
    params: Params, studies: list[str] | None = None, allow_missing: bool = False
) -> list[StudyStatus]:
    """The content rule over each study (every study in params when none is named), strict
    and allowing missing DVC-cached files; ``allow_missing`` picks which one decides."""
    strict, allowing = Freshness(params), Freshness(params, allow_missing=True)
    out = []
    for s in studies or list(params.studies):
        judged = allowing.study(s)
        rerun = {v.stage.name for v in judged if v.current and allowing.needed(v.stage.name)}
        out.append(StudyStatus(s, strict.study(s), judged, allow_missing, rerun))
    return out


@dataclass
class DesignStatus:
    """An analysis's judge stage, judged in the chosen mode."""

    verdict: Verdict
    allow_missing: bool = False

    @property
    def stale(self) -> bool:
        return not self.verdict.current

    def lines(self) -> list[str]:
        name = self.verdict.stage.name
        mode = " (allow-missing)" if self.allow_missing else ""
        if not self.stale:
            return [f"status {name}: up to date{mode}"]
        rule = name.replace("-", "_")
        flag = " --config allow_missing=true" if self.allow_missing else ""
        dvc = " --allow-missing" if self.allow_missing else ""
        return [
            f"status {name}: out of date{mode} ({', '.join(self.verdict.categories())})",
            f"  {self.verdict.stage.outputs[0]}: {self.verdict.text()}",
            f"  bring up to date: snakemake --cores 1 {rule}{flag}  (or: dvc repro{dvc} {name})",
        ]


def design_status(params: Params, allow_missing: bool = False) -> list[DesignStatus]:
    """Every registered analysis's judge stage, judged in the chosen mode."""
    fresh = Freshness(params, allow_missing=allow_missing)
    out = []
    for analysis in names():
        name = judge_name(analysis)
        if fresh.design(name) is not None:
            out.append(DesignStatus(fresh.verdict(name), allow_missing))
    return out


def _absent_text(v: Verdict) -> str:
    """Why a recorded stage is out of date in the strict mode: its own absent outputs, or the
    absent files it reads."""
    if v.absent:
        return f"{', '.join(v.absent)} absent here (git holds its record)"
    missing = [p for p in v.stage.inputs if not Path(p).exists()]
    if not missing:
        return "reads what out-of-date stages make (git holds its record)"
    return f"reads absent {', '.join(missing)} (git holds its record)"
