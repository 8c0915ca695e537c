# procrustean: reproduce "Procrustean Training for Imbalanced Deep Learning" (ICCV 2021).
#   snakemake --cores all          the paper study (GPU or cluster)
#   snakemake --cores all quick    the CPU-sized study on Fashion-MNIST
#   snakemake --cores all smoke    every stage on synthetic data, in about a minute
#   snakemake --cores all STUDY    any study in params.yaml
# params.yaml is the one source of truth; dvc.yaml runs the same stages for `dvc repro`.
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# Refuse a params.yaml that is not valid YAML in one line naming the line, before Snakemake's
# own loader (whose message names none) reads it.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from procrustean.errors import UserError
from procrustean.engines.overrides import written_params

# Read once here (Snakemake's configfile reads it once more); the helpers reuse it.
try:
    WRITTEN_PARAMS = written_params("params.yaml")
except UserError as exc:
    sys.exit(f"procrustean: error: {exc}")


configfile: "params.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


# One target rule per study in params.yaml, named after it: a study added there needs nothing here.
for _study in PARAMS.studies:

    rule:
        name:
            _study
        default_target: _study == "paper"
        input:
            report_targets(_study),
        localrule: True


onstart:
    # Outside git (a tarball), keep the results as they arrived: the closing comparison's baseline.
    snapshot_baseline(PARAMS)


onsuccess:
    # dvc.lock and the comparison with the committed numbers; reports, never fails the run.
    try:
        shell(
            f"procrustean --params {PARAMS_FILE} after-run --since {WORKFLOW_START}"
        )
    except Exception as exc:
        print(
            f"procrustean: after-run bookkeeping failed ({exc}); the run itself succeeded"
        )
