"""Where each stage writes, for a study's grid. Snakemake's rules and dvc.yaml use these patterns."""

from __future__ import annotations

from procrustean.config import Run, Setting

SPLIT = "data/splits/{study}/{setting}.json"
SPLIT_SUMMARY = "results/{study}/splits/{setting}.json"
HISTORY = "results/{study}/history/{setting}/{method}/seed{seed}.json"
MODEL = "runs/{study}/{setting}/{method}/seed{seed}/model.pt"
METRICS = "results/{study}/metrics/{setting}/{method}/seed{seed}.json"
RUN_CONFIG_DIR = "results/{study}/config"
KEY = RUN_CONFIG_DIR + "/{kind}/{name}.json"  # a stage's params and code, for DVC
REPORT_DIR = "results/{study}"
PROV = ".prov.json"

TABLES = (
    "accuracy",
    "groups",
    "diagnostics",
    "paired",
    "group_effects",
    "spread",
    "claims",
    "heldout",
    "reference",
)
PUBLISHED = "workflow/reference/published.yaml"  # published numbers the reference table reads
TABLE_FORMATS = ("md", "tex", "csv")
FIGURES = (
    "test_per_class_accuracy",
    "train_per_class_accuracy",
    "train_feature_gradient",
    "train_heldout_accuracy",
    "groups_over_epochs",
)
CURVES = "curves.csv.gz"  # per run x epoch x class; gzip keeps git small (pandas reads it)
RUNS = "runs.csv"  # one row per run: top-1 and every evidence summary
SUMMARY = "summary.json"  # top-1 per profile-ratio and method: the study's DVC metrics
PLOT_FILES = (
    "train_accuracy",
    "heldout_accuracy",
    "feature_gradient",
    "train_loss",
)  # results/<study>/plots/*.csv


def split_path(study: str, setting: Setting) -> str:
    return SPLIT.format(study=study, setting=setting.name)


def split_summary_path(study: str, setting: Setting) -> str:
    return SPLIT_SUMMARY.format(study=study, setting=setting.name)


def run_config_dir(study: str) -> str:
    return RUN_CONFIG_DIR.format(study=study)


def key_path(study: str, kind: str, name: str) -> str:
    """The key file DVC's ``kind`` stage depends on (its params and code, procrustean.checks.freshness)."""
    return KEY.format(study=study, kind=kind, name=name)


def history_path(study: str, run: Run) -> str:
    return HISTORY.format(study=study, setting=run.setting.name, method=run.method, seed=run.seed)


def model_path(study: str, run: Run) -> str:
    return MODEL.format(study=study, setting=run.setting.name, method=run.method, seed=run.seed)


def metrics_path(study: str, run: Run) -> str:
    return METRICS.format(study=study, setting=run.setting.name, method=run.method, seed=run.seed)


def report_outputs(study: str) -> list[str]:
    """The report stage's files, the provenance record's anchor (accuracy.md) first."""
    base = REPORT_DIR.format(study=study)
    tables = [f"{base}/tables/{t}.{f}" for t in TABLES for f in TABLE_FORMATS]
    figures = [f"{base}/figures/{f}.png" for f in FIGURES]
    plots = [f"{base}/plots/{p}.csv" for p in PLOT_FILES]
    return [
        *tables,
        *figures,
        f"{base}/tables/{CURVES}",
        f"{base}/tables/{RUNS}",
        *plots,
        f"{base}/{SUMMARY}",
    ]
