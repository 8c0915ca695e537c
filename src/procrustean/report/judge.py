"""``procrustean judge``: one registered analysis (analyses/<name>.yaml) judged by its rule set,
its files written under results/<name>/ with a provenance record."""

from __future__ import annotations

import pandas as pd

from procrustean import verdict_files
from procrustean.analyses import Analysis, load
from procrustean.design_params import judge_params
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.fileio import atomic_group, atomic_path
from procrustean.provenance import hash_inputs, now, stable_record, write_provenance
from procrustean.report import preregistered, revised


def _joined(params: Params, analysis: Analysis) -> dict[str, tuple[Analysis, pd.DataFrame]]:
    """The analyses its grid joins, each with its long verdicts (judged before)."""
    out = {}
    for name in analysis.grid_with:
        path = verdict_files.long_path(name)
        try:
            out[name] = (load(name, params), pd.read_csv(path))
        except FileNotFoundError:
            raise UserError(
                f"{path}: missing; judge {name} first (procrustean judge {name})"
            ) from None
    return out


def texts(
    params: Params, analysis: Analysis, studies: tuple[str, ...] | None = None
) -> tuple[list[str], list[str]]:
    """The analysis's files as texts (``verdict_files.outputs`` order) and the files read.
    ``studies`` (preregistered only): judge these, the rest of its studies pending."""
    if analysis.rules == "preregistered":
        made, read = preregistered.judge(params, analysis, studies)
    else:
        made, read = revised.judge(params, analysis, _joined(params, analysis))
        read += [verdict_files.long_path(n) for n in analysis.grid_with]
    return made, [analysis.path, *read]


def write(params: Params, analysis: Analysis, studies: tuple[str, ...] | None = None) -> list[str]:
    """Judge ``analysis`` and write its files and provenance record together (nothing is
    written when judging fails)."""
    started = now()
    made, read = texts(params, analysis, studies)
    outputs = verdict_files.outputs(analysis)
    with atomic_group():
        for path, text in zip(outputs, made, strict=True):
            with atomic_path(path) as tmp:
                tmp.write_text(text)
        stable = stable_record(judge_params(params, analysis), hash_inputs(read))
        write_provenance("judge", list(outputs), stable, started, params.source)
    return outputs
