# Helpers shared by the rules: params validation, study expansion, resources from the recipe.
import os
import sys

from procrustean.config import study_runs, validate_params
from procrustean.errors import UserError
from procrustean.paths import history_path, metrics_path, report_outputs

PARAMS_FILE = "params.yaml"

# The venv's tools (procrustean, dvc) come first on PATH in every job, local or on a cluster.
shell.prefix(
    f"set -euo pipefail; export PATH={os.path.dirname(sys.executable)}:$PATH; "
)

try:
    validate_params(config, PARAMS_FILE)
except UserError as exc:
    sys.exit(f"procrustean: error: {exc}")


wildcard_constraints:
    study=r"[A-Za-z0-9_]+",
    dataset=r"[A-Za-z0-9_]+",
    profile=r"exp|step",
    ratio=r"\d+",
    method=r"[A-Za-z0-9_]+",
    seed=r"\d+",


SETTING = "{dataset}-{profile}-r{ratio}"


def report_targets(study):
    """The report files of a study (which pull in every stage before them)."""
    return report_outputs(study)


def report_inputs(wildcards):
    """Metrics and histories of every run of the study."""
    runs = study_runs(config, wildcards.study)
    return [metrics_path(wildcards.study, r) for r in runs] + [
        history_path(wildcards.study, r) for r in runs
    ]


def report_files():
    """The report rule's outputs as patterns with a {study} wildcard."""
    files = report_outputs("STUDY")
    return [f.replace("STUDY", "{study}") for f in files + [files[0] + ".prov.json"]]


ENV = "../envs/procrustean.yaml"


def recipe_name(wildcards):
    return config["studies"][wildcards.study]["recipe"]


def recipe(wildcards):
    return config["recipes"][recipe_name(wildcards)]


def train_resources(key, default):
    def get(wildcards, attempt=1):
        value = recipe(wildcards).get("resources", {}).get(key, default)
        return value * attempt if key == "runtime_min" else value

    return get


def train_params(wildcards):
    """Exactly the params entries a training run reads (its rerun trigger)."""
    return {
        "dataset": config["datasets"][wildcards.dataset],
        "recipe": {recipe_name(wildcards): recipe(wildcards)},
        "method": config["methods"][wildcards.method],
    }
