"""The resolved params a design's stage records: the confirmation verdicts and the paper-count
tables, which judge several studies together.

The stage writes them in its provenance record; the staleness rule (procrustean.checks.freshness)
computes them from the current params and compares, as procrustean.stage_params does for a
study's stages. Kept apart from that module so that the studies' stage code does not include it.
"""

from __future__ import annotations

from procrustean.entries import Params
from procrustean.verdict_files import CURVE_BASE


def verdicts_params(params: Params, studies: tuple[str, ...] | None = None) -> dict:
    """The confirmation verdicts: the design, and the entries of the studies judged (default:
    the design's finished ones) and of those still pending."""
    plan = params.confirmation
    if plan is None:
        return {}
    studies = plan.finished if studies is None else studies
    pending = tuple(s for s in plan.pending if s not in studies)
    return {
        **plan.record(),
        "studies": {s: params.study(s).record()[s] for s in studies},
        "pending": {s: params.study(s).record()[s] for s in pending},
    }


def paper_counts_params(params: Params) -> dict:
    """The paper-count tables: the design, the entries of its studies and of the curve's base
    study, and its finished studies."""
    design = params.paper_counts
    if design is None:
        return {}
    return {
        "studies": {s: params.study(s).record()[s] for s in (*design.studies, CURVE_BASE)},
        "design": design.record()["paper_counts"],
        "finished": sorted(design.finished),
    }
