"""``procrustean status``: every output that is out of date, why, and what brings it up to date.

The answer is procrustean.checks.freshness's content rule, the one Snakemake and DVC apply: an output
is current when its provenance record names the params, inputs and code this tree would use
and the output still has the bytes it records. Reasons: absent (output or record missing),
output (its bytes differ from its record), params, input (a file it read changed, is absent, or
is itself out of date) and code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from procrustean.checks.freshness import CATEGORIES, Freshness, Verdict
from procrustean.entries import Params


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


def study_status(params: Params, studies: list[str] | None = None) -> list[StudyStatus]:
    """The content rule over each study (every study in params when none is named)."""
    fresh = Freshness(params)
    return [StudyStatus(s, fresh.study(s)) for s in (studies or list(params.studies))]
