"""Build one study's report: tables (md, tex, csv), figures (png), curves for DVC plots."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd
import yaml

from procrustean.config import study_settings
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.fileio import atomic_group, atomic_path, write_json
from procrustean.paths import (
    CURVES,
    FIGURES,
    PLOT_FILES,
    PUBLISHED,
    REPORT_DIR,
    RUNS,
    SUMMARY,
    report_outputs,
)
from procrustean.provenance import hash_inputs, now, stable_record, write_provenance
from procrustean.report import claims, figures, plots, tables
from procrustean.report.collect import collect
from procrustean.stage_params import report_params

TITLES = {
    "accuracy": "Top-1 test accuracy (%), mean ± std over seeds",
    "groups": "Test accuracy (%) by class group",
    "diagnostics": "Per run, mean ± std: early progress gap (top - bottom group's clean training accuracy, first quarter of training); bottom / top mean per-sample gradient norm of the unweighted loss at the classifier's input, over the epochs before re-weighting starts (the recipe's drw_epoch); epoch at which each group's mean clean training accuracy first reaches 95% (runs that never do are counted apart); bottom group's final clean training minus held-out accuracy; balanced held-out accuracy. Top/bottom: major/minor (step), many/few (exp)",
    "paired": "Paired difference of top-1 (method - base, same imbalanced subset and training seed): mean [95% t-interval], and in how many pairs the method wins",
    "group_effects": "Paired difference of each class group's test accuracy (%) (method - base, same imbalanced subset and training seed): mean [95% t-interval], and in how many pairs the method wins",
    "spread": "Top-1 (%) and paired top-1 differences: mean; sd across training seeds (pooled within subsets); sd across imbalanced subsets (of their means; number of subsets)",
    "claims": "The paper's claims measured in this study, as estimates, not verdicts: each measure's mean [95% t-interval] (n runs or pairs); the t-test's p-value after Holm's correction within its family (mechanism claims; accuracy comparisons) across the study's settings; the Wilcoxon signed-rank p-value (uncorrected); wins; the smallest effect the runs could detect (80% power, two-sided 5%). Verdicts are given by the registered analyses (analyses/*.yaml; results/README.md)",
    "heldout": "Balanced held-out accuracy (%) at the final epoch (training-partition images the split did not keep; the test set is not used): mean ± std, and over all settings with the best marked",
    "reference": "Published top-1 (%) beside ours: ours is the final epoch, LDAM-DRW's code reports the best test epoch",
}


def _write_text(path: str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _write_gzip(path: str, text: str) -> None:
    """Gzip ``text`` with no name or time in the header, so equal text gives equal bytes."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def _csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.6g", lineterminator="\n")
    return buf.getvalue()


def _setting_keys(params: Params, study: str) -> dict[str, tuple[str, str, int]]:
    """Setting name -> (data source, profile, ratio), to match published entries."""
    return {
        s.name: (params.dataset(s.dataset).source, s.profile, s.ratio)
        for s in study_settings(params, study)
    }


def _group_rules(runs: pd.DataFrame) -> str:
    rules = runs.drop_duplicates("setting")[["setting", "group_rule"]]
    return "; ".join(f"{r.setting}: {r.group_rule}" for r in rules.itertuples())


def _estimates_only(
    claims_built: tuple[pd.DataFrame, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims table a study's report shows: estimates with their n, no verdict (the
    registered analyses judge; the CSV keeps the verdict its own runs give, for comparisons)."""
    wide, long = claims_built
    return wide.drop(columns=["verdict"], errors="ignore"), long


def build_report(params: Params, study: str) -> list[str]:
    """Write the study's tables and figures (atomically) and their provenance record."""
    started = now()
    spec = params.study(study)
    data = collect(params, study)
    methods, settings = list(spec.methods), [s.name for s in study_settings(params, study)]
    base = REPORT_DIR.format(study=study)
    builders = {
        "accuracy": tables.accuracy_table,
        "groups": tables.groups_table,
        "diagnostics": tables.diagnostics_table,
        "paired": tables.paired_table,
        "group_effects": tables.group_effects_table,
        "spread": tables.spread_table,
        "claims": claims.claims_table,
        "heldout": tables.heldout_table,
    }
    built = {name: builder(data.runs, methods, settings) for name, builder in builders.items()}
    built["claims"] = _estimates_only(built["claims"])
    if not Path(PUBLISHED).is_file():
        raise UserError(f"{PUBLISHED}: missing; run the report from the repository root")
    published = yaml.safe_load(Path(PUBLISHED).read_text())
    built["reference"] = tables.reference_table(data.runs, _setting_keys(params, study), published)
    ref_long = built["reference"][1]
    cited = "; ".join(sorted(set(ref_long["source"]))) if not ref_long.empty else "none"
    titles = {
        **TITLES,
        "groups": f"{TITLES['groups']}; groups: {_group_rules(data.runs)}",
        "reference": f"{TITLES['reference']}. Sources: {cited}",
    }
    with atomic_group():
        for name, (wide, long) in built.items():
            md, tex = tables.render(wide, titles[name])
            _write_text(f"{base}/tables/{name}.md", md)
            _write_text(f"{base}/tables/{name}.tex", tex)
            _write_text(f"{base}/tables/{name}.csv", _csv(long))
        fig_test, fig_acc, fig_grad, fig_held, fig_glance = (
            f"{base}/figures/{f}.png" for f in FIGURES
        )
        figures.test_per_class(data.runs, methods, settings, fig_test)
        figures.per_class_curves(
            data.curves, methods, settings, "train_acc", "clean training accuracy", fig_acc
        )
        figures.per_class_curves(
            data.curves,
            methods,
            settings,
            "grad_norm",
            "per-sample gradient norm (unweighted loss)",
            fig_grad,
            log=True,
        )
        figures.train_vs_heldout(data.curves, methods, fig_held)
        figures.groups_over_epochs(data.curves, methods, fig_glance)
        _write_gzip(f"{base}/tables/{CURVES}", _csv(data.curves))
        _write_text(f"{base}/tables/{RUNS}", _csv(data.runs))
        frames = plots.plot_frames(data.curves, data.epochs)
        for stem in PLOT_FILES:
            _write_text(f"{base}/plots/{stem}.csv", _csv(frames[stem]))
        write_json(f"{base}/{SUMMARY}", tables.summary_metrics(data.runs, methods, settings))
        outputs = report_outputs(study)
        stable = stable_record(report_params(spec), hash_inputs([*data.inputs, PUBLISHED]))
        write_provenance("report", outputs, stable, started, params.source)
    return outputs
