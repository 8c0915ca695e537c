"""Build one study's report: tables (md, tex, csv), figures (png), curves for DVC plots."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from procrustean.config import load_params, lookup, study_settings
from procrustean.fileio import atomic_path, write_json
from procrustean.lineage import hash_inputs, now, stable_record, write_provenance
from procrustean.paths import CURVES, FIGURES, PLOT_FILES, REPORT_DIR, SUMMARY, report_outputs
from procrustean.report import figures, plots, tables
from procrustean.report.collect import collect

TITLES = {
    "accuracy": "Top-1 test accuracy (%), mean ± std over seeds",
    "groups": "Test accuracy (%) by class group (step: major/minor; exp: many >100, medium 20-100, few <20 training images)",
    "diagnostics": "Early progress gap (major - minor training accuracy, first quarter of training) and gradient ratio (minor / major feature-gradient norm)",
    "paired": "Paired difference of top-1 (method - base, same split and seed): mean ± std [per seed]",
}


def _write_text(path: str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.6g", lineterminator="\n")
    return buf.getvalue()


def build_report(params_path: str, study: str) -> list[str]:
    """Write the study's tables and figures (atomically) and their provenance record."""
    started = now()
    params = load_params(params_path)
    spec = lookup(params, "studies", study)
    data = collect(params, study)
    methods, settings = list(spec["methods"]), [s.name for s in study_settings(params, study)]
    base = REPORT_DIR.format(study=study)
    builders = {
        "accuracy": tables.accuracy_table,
        "groups": tables.groups_table,
        "diagnostics": tables.diagnostics_table,
        "paired": tables.paired_table,
    }
    for name, builder in builders.items():
        wide, long = builder(data.runs, methods, settings)
        md, tex = tables.render(wide, TITLES[name])
        _write_text(f"{base}/tables/{name}.md", md)
        _write_text(f"{base}/tables/{name}.tex", tex)
        _write_text(f"{base}/tables/{name}.csv", _csv(long))
    Path(f"{base}/figures").mkdir(parents=True, exist_ok=True)
    fig_test, fig_acc, fig_grad = (f"{base}/figures/{f}.png" for f in FIGURES)
    figures.test_per_class(data.runs, methods, settings, fig_test)
    figures.per_class_curves(
        data.curves, methods, settings, "train_acc", "clean training accuracy", fig_acc
    )
    figures.per_class_curves(
        data.curves, methods, settings, "grad_norm", "feature-gradient norm", fig_grad, log=True
    )
    _write_text(f"{base}/tables/{CURVES}", _csv(data.curves))
    frames = plots.plot_frames(data.curves, data.epochs)
    for stem in PLOT_FILES:
        _write_text(f"{base}/plots/{stem}.csv", _csv(frames[stem]))
    write_json(f"{base}/{SUMMARY}", tables.summary_metrics(data.runs, methods, settings))
    outputs = report_outputs(study)
    stable = stable_record({"study": {study: spec}}, hash_inputs(data.inputs))
    write_provenance("report", outputs, stable, started)
    return outputs
