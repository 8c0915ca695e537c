# Helpers shared by the rules: params validation and overrides, study expansion, resources.
import os
import sys
import time
from pathlib import Path

# The workflow runs the code of its own repository (this clone's src/), not whatever copy of
# procrustean the interpreter happens to have installed.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)

from procrustean.checks.compare import snapshot_baseline
from procrustean.config import resolve_params, study_runs
from procrustean.errors import UserError
from procrustean.analyses import load_all
from procrustean.verdict_files import judge_name
from procrustean.verdict_files import outputs as judge_outputs
from procrustean.checks.freshness import (
    Freshness,
    setting_tail,
    snakemake_marker,
    stage_name,
)
from procrustean.engines.overrides import (
    effective_params_file,
    typed_overrides,
)
from procrustean.paths import (
    HISTORY,
    METRICS,
    MODEL,
    PROV,
    PUBLISHED,
    SPLIT,
    SPLIT_SUMMARY,
    history_path,
    metrics_path,
    model_path,
    report_outputs,
)

WORKFLOW_START = time.time()

# `--config allow_missing=true`: what git records counts as done (procrustean.checks.freshness);
# a switch of this invocation, not a parameter (it never reaches the params the jobs read).
ALLOW_MISSING = str(config.pop("allow_missing", "false")).lower() in (
    "true",
    "1",
    "yes",
)

try:
    # --config values arrive as strings: give them the type params.yaml's keys have
    config.update(typed_overrides(dict(config), WRITTEN_PARAMS))
    OVERRIDDEN = config != WRITTEN_PARAMS
    _source = "params.yaml" + (
        " with --config/--configfile overrides" if OVERRIDDEN else ""
    )
    # The params resolved once into types; `config` keeps the resolved plain data for Snakemake.
    PARAMS = resolve_params(config, _source, "params.yaml")
    config.update(PARAMS.as_dict())
    # --config/--configfile change only `config`: the jobs read the file named here, which holds
    # exactly the merged parameters (params.yaml itself when there is no override).
    PARAMS_FILE = effective_params_file(config, OVERRIDDEN)
    # The registered analyses (analyses/*.yaml): one judge rule each, made in report.smk.
    ANALYSES = load_all(PARAMS)
except UserError as exc:
    sys.exit(f"procrustean: error: {exc}")

# Up to date is a matter of content (procrustean.checks.freshness), never of timestamps or Snakemake's
# own metadata: a real input is marked ancient when the stage that makes it is current (else its
# re-run must reach its consumers), and a job whose outputs the content rule finds out of date
# gets one extra input, a marker newer than its outputs. The workflow profile (profiles/default)
# sets rerun-triggers to mtime alone so that nothing else decides.
FRESHNESS = Freshness(PARAMS, allow_missing=ALLOW_MISSING)

# The venv's tools (procrustean, dvc) come first on PATH in every job, local or on a cluster;
# they import this repository's src/ and read PARAMS_FILE (through the environment, so the
# shell commands, and with them Snakemake's code trigger, stay the same under overrides).
shell.prefix(
    f"set -euo pipefail; export PATH={os.path.dirname(sys.executable)}:$PATH; "
    f"export PYTHONPATH={SRC}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    f"export PROCRUSTEAN_PARAMS_FILE={PARAMS_FILE}; "
)


wildcard_constraints:
    study=r"[A-Za-z0-9_]+",
    dataset=r"[A-Za-z0-9_]+",
    profile=r"exp|step|balanced",
    ratio=r"\d+",
    method=r"[A-Za-z0-9_]+",
    seed=r"\d+",


SETTING = "{dataset}-{profile}-r{ratio}"


def pattern(template, suffix=""):
    """A path pattern of procrustean.paths (the one definition of the layout) with Snakemake's
    wildcards in place of a setting's name."""
    return (
        template.format(
            study="{study}", setting=SETTING, method="{method}", seed="{seed}"
        )
        + suffix
    )


def report_targets(study):
    """The report files of a study (which pull in every stage before them)."""
    return report_outputs(study)


def report_inputs(wildcards):
    """Metrics and histories of every run of the study (ancient: the content rule decides
    re-runs). A report reads committed numbers only; the checkpoints they came from are named
    by the evaluations' records, so a strict clone still re-derives them through the
    evaluations, and an allow-missing one does not."""
    runs = study_runs(PARAMS, wildcards.study)
    files = (
        [metrics_path(wildcards.study, r) for r in runs]
        + [history_path(wildcards.study, r) for r in runs]
        + [PUBLISHED]
    )
    return [unless_out_of_date(f, wildcards.study) for f in files]


def unless_out_of_date(path, study):
    """An input marked ancient (its timestamp decides nothing) when the stage that makes it is
    current by content; unmarked otherwise, so that its re-run reaches this job."""
    return ancient(path) if FRESHNESS.made_current(path, study) else path


def design_inputs(analysis):
    """Input function of an analysis's judge rule. It gives the report tables (and joined
    verdicts) the analysis reads, each marked ancient when its producer is current by content,
    and a marker newer than the outputs when the content check finds the judge stage out of
    date (its file, params, code, inputs or outputs changed).
    """
    name = judge_name(analysis)

    def get(wildcards):
        stage = FRESHNESS.design(name)
        if stage is None:
            return []
        tables = [ancient(p) if FRESHNESS.input_current(p) else p for p in stage.inputs]
        return tables + snakemake_marker(FRESHNESS, name)

    return get


def made_by(pattern, kind):
    """Input function of a ``kind`` job: ``pattern`` (with wildcards) through
    unless_out_of_date; under allow-missing, an absent file whose stage is current by its
    committed record is left out while the job itself need not run (so nothing re-makes it).
    """

    def get(wildcards):
        path = pattern.format(**dict(wildcards))
        if ALLOW_MISSING and not Path(path).exists():
            name = job_stage(kind, wildcards)
            if name is not None and not FRESHNESS.runs(name):
                return []
        return unless_out_of_date(path, wildcards.study)

    return get


def job_stage(kind, wildcards):
    """The content rule's (and DVC's) name of the job's stage; None outside the study's grid."""
    w = dict(wildcards)
    study = w["study"]
    tail = setting_tail(
        w.get("dataset", ""),
        w.get("profile", ""),
        w.get("ratio", ""),
        w.get("method", "") if kind != "split" else "",
        w.get("seed", ""),
    )
    name = stage_name(kind, study, recipe_name(wildcards), tail)
    return name if name in FRESHNESS.stages(study) else None


def out_of_date(kind):
    """Input function: [] when the job's stage is current by content, else a marker newer than
    its outputs (procrustean.checks.freshness.snakemake_marker)."""

    def get(wildcards):
        name = job_stage(kind, wildcards)
        if name is None:
            return []  # a file outside the study's grid: Snakemake's own rules apply
        return snakemake_marker(FRESHNESS, name)

    return get


# Report outputs shown in `snakemake --report`: file name -> (caption, subcategory).
IN_HTML_REPORT = {
    "test_per_class_accuracy.png": ("test_per_class_accuracy", "figures"),
    "train_per_class_accuracy.png": ("train_per_class_accuracy", "figures"),
    "train_feature_gradient.png": ("train_feature_gradient", "figures"),
    "train_heldout_accuracy.png": ("train_heldout_accuracy", "figures"),
    "accuracy.csv": ("accuracy", "tables"),
    "groups.csv": ("groups", "tables"),
    "diagnostics.csv": ("diagnostics", "tables"),
    "paired.csv": ("paired", "tables"),
    "spread.csv": ("spread", "tables"),
    "claims.csv": ("claims", "tables"),
    "heldout.csv": ("heldout", "tables"),
    "summary.json": ("summary", "tables"),
}


def report_files():
    """The report rule's outputs as patterns with a {study} wildcard; figures and tables are
    marked for Snakemake's HTML report, with captions, under their study."""
    files = report_outputs("STUDY")
    out = []
    for f in files + [files[0] + ".prov.json"]:
        pattern = f.replace("STUDY", "{study}")
        shown = IN_HTML_REPORT.get(Path(f).name)
        if shown:
            caption, subcategory = shown
            pattern = report(
                pattern,
                caption=f"../report/{caption}.rst",
                category="{study}",
                subcategory=subcategory,
                labels={"study": "{study}", "file": Path(f).name},
            )
        out.append(pattern)
    return out


def recipe_name(wildcards):
    return PARAMS.study(wildcards.study).recipe


def train_resources(key):
    def get(wildcards, attempt=1):
        value = getattr(PARAMS.study_recipe(wildcards.study).resources, key)
        return value * attempt if key == "runtime_min" else value

    return get
