# Helpers shared by the rules: params validation, study expansion, resources from the recipe.
import os
import sys

from procrustean.config import validate_params
from procrustean.errors import UserError
from procrustean.paths import report_outputs

PARAMS_FILE = "params.yaml"

# The venv's tools (procrustean, dvc) must be on PATH for every job, local or on a cluster.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

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
