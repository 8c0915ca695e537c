"""``procrustean status``: every output that is out of date, why, and what brings it up to date.

The answer is procrustean.checks.freshness's content rule, the one Snakemake and DVC apply: an output
is current when its provenance record names the params, inputs and code this tree would use
and the output still has the bytes it records. Reasons: absent (output or record missing),
output (its bytes differ from its record), params, input (a file it read changed, is absent, or
is itself out of date) and code.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from procrustean.checks.freshness import CATEGORIES, Freshness, Verdict
from procrustean.entries import Params
from procrustean.fileio import read_json


@dataclass
class StudyStatus:
    """One study's stages, judged."""

    study: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def stale(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.current]

    def lines(self, limit: int = 8) -> list[str]:
        n, stale = len(self.verdicts), self.stale
        if not stale:
            return [f"status {self.study}: all {n} stages up to date"]
        counts = {c: sum(c in v.categories() for v in stale) for c in CATEGORIES}
        why = ", ".join(f"{k} {c}" for c, k in counts.items() if k)
        out = [f"status {self.study}: {len(stale)} of {n} stages out of date ({why})"]
        for v in stale[:limit]:
            out.append(f"  {v.stage.outputs[0]}: {v.text()}")
        if len(stale) > limit:
            out.append(f"  ... and {len(stale) - limit} more (procrustean status --all)")
        out.append(
            f"  bring up to date: snakemake --cores all {self.study}  (or: dvc repro "
            f"report@{self.study})"
        )
        return out

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
        intervals = [span for _, span in found]
        out.append(
            f"  busy wall time {_union_seconds(intervals) / 60:.0f} min, "
            f"{min(a for a, _ in intervals):%Y-%m-%d %H:%M} "
            f"to {max(b for _, b in intervals):%Y-%m-%d %H:%M} UTC"
        )
        return out


def _interval(record_path: str) -> tuple[dt.datetime, dt.datetime] | None:
    """A stage's start and end, from its provenance record (None when it has none)."""
    try:
        record = read_json(record_path)
    except (OSError, ValueError):
        return None
    return dt.datetime.fromisoformat(record["start"]), dt.datetime.fromisoformat(record["end"])


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


def study_status(params: Params, studies: list[str] | None = None) -> list[StudyStatus]:
    """The content rule over each study (every study in params when none is named)."""
    fresh = Freshness(params)
    return [StudyStatus(s, fresh.study(s)) for s in (studies or list(params.studies))]
