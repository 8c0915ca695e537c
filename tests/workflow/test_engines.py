"""Snakemake and DVC over one params.yaml: same paths, agreement both ways, scoped re-runs, audit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.helpers.clones import (
    fresh_clone,
    run,
    smoke_dvc_targets,
    snakemake_jobs,
    status_reasons,
)

pytestmark = pytest.mark.slow
NOTHING = "Nothing to be done"


@pytest.fixture(scope="module")
def snakemade(tmp_path_factory) -> Path:
    """A fresh clone where `snakemake --cores 2 smoke` has run."""
    repo = fresh_clone(tmp_path_factory.mktemp("sm") / "repo")
    run(["snakemake", "--cores", "2", "smoke"], repo)
    return repo


def test_snakemake_then_nothing_to_do_in_either_engine(snakemade):
    assert NOTHING in run(["snakemake", "-n", "smoke"], snakemade).stdout
    status = run(["dvc", "status", *smoke_dvc_targets()], snakemade).stdout
    assert "Data and pipelines are up to date." in status, status


def test_every_job_left_a_log_and_training_a_benchmark(snakemade):
    logs = sorted(
        p.relative_to(snakemade / "logs").as_posix() for p in (snakemade / "logs").rglob("*.log")
    )
    assert len([p for p in logs if "/train/" in p]) == 4 and "smoke/report.log" in logs
    assert len(list((snakemade / "logs/smoke/benchmark").rglob("*.tsv"))) == 4


def test_an_evaluation_runs_as_soon_as_its_checkpoint_exists(snakemade):
    """Evaluate outranks train (its rule's priority), so a session that ends mid-study leaves
    evaluated runs, whose metrics git keeps, not only checkpoints that go with the machine:
    in Snakemake's own log an evaluation starts before the last training run does."""
    logs = sorted((snakemade / ".snakemake/log").glob("*.snakemake.log"))
    text = next(t for t in (p.read_text() for p in logs) if "rule train:" in t)
    order = re.findall(r"^(?:local)?rule (train|evaluate):$", text, re.M)
    assert order.count("train") == order.count("evaluate") == 4, order
    last_train = len(order) - 1 - order[::-1].index("train")
    assert order.index("evaluate") < last_train, order


def _edit_code_and_check_status(repo: Path, engine: str) -> None:
    """A stage-code edit makes the stages that run that code, and those that read their outputs,
    out of date, in `procrustean status` and in both engines; the audit names the file."""
    assert run(["procrustean", "status", "--study", "smoke"], repo).returncode == 0
    mixing = repo / "src/procrustean/methods/mixing.py"
    original = mixing.read_text()
    mixing.write_text(original + "\n# an edit\n")
    try:
        status = run(["procrustean", "status", "--study", "smoke", "--all"], repo, check=False)
        print(f"{engine}: {status.stdout}")
        assert status.returncode == 1, status.stdout + status.stderr
        # mixing.py is training code (not split, evaluate or report code): the 4 training
        # runs changed, their evaluations and the report read what they made
        assert "status smoke: 9 of 11 stages out of date (5 input, 4 code)" in status.stdout
        reasons = status_reasons(status.stdout)
        for setting in ("synthetic-step-r10", "synthetic-exp-r10"):
            for method in ("ce", "mfw"):
                one = f"{setting}/{method}/seed0"
                assert reasons[f"results/smoke/history/{one}.json"] == (
                    "code changed: src/procrustean/methods/mixing.py"
                ), status.stdout
                assert reasons[f"results/smoke/metrics/{one}.json"] == (
                    f"runs/smoke/{one}/model.pt is itself out of date"
                ), status.stdout
        assert "is itself out of date" in reasons["results/smoke/tables/accuracy.md"]
        assert not any(p.startswith("data/splits/") for p in reasons), status.stdout
        # Snakemake re-runs the training runs and what depends on them
        dry = run(["snakemake", "-n", "smoke"], repo).stdout
        assert snakemake_jobs(dry) == {"train": 4, "evaluate": 4, "report": 1, "smoke": 1}, dry
        # DVC: run-config@smoke depends on the stage code; its key files feed every stage
        dvc = run(["dvc", "status", "--with-deps", *smoke_dvc_targets()], repo).stdout
        assert re.findall(r"^([\w@.-]+):$", dvc, re.M) == ["run-config@smoke"], dvc
        assert re.search(r"modified:\s+src/procrustean/methods/mixing\.py", dvc), dvc
        audit = run(["procrustean", "audit", "results/smoke/tables/accuracy.md"], repo)
        assert "made by code that differs from this tree (src/procrustean/methods/mixing.py)" in (
            audit.stdout
        )
    finally:
        mixing.write_text(original)
    # the edit undone: up to date again, in all three
    assert run(["procrustean", "status", "--study", "smoke"], repo).returncode == 0
    assert NOTHING in run(["snakemake", "-n", "smoke"], repo).stdout
    dvc = run(["dvc", "status", "--with-deps", *smoke_dvc_targets()], repo).stdout
    assert "Data and pipelines are up to date." in dvc, dvc


def test_snakemake_report_holds_every_figure_and_table(snakemade, tmp_path):
    import zipfile

    run(["snakemake", "--report", str(tmp_path / "report.zip"), "smoke"], snakemade)
    names = zipfile.ZipFile(tmp_path / "report.zip").namelist()
    print("report entries:", sorted(Path(n).name for n in names if "/data/raw/" in n))
    inside = {Path(n).name for n in names}
    expected = {
        "test_per_class_accuracy.png",
        "train_per_class_accuracy.png",
        "train_feature_gradient.png",
        "accuracy.csv",
        "groups.csv",
        "diagnostics.csv",
        "paired.csv",
        "summary.json",
    }
    assert expected <= inside, expected - inside
    html = next(n for n in names if n.endswith("report.html"))
    text = zipfile.ZipFile(tmp_path / "report.zip").read(html).decode()
    assert "of study smoke, one panel per setting" in text  # a caption, rendered for the study


def test_dvc_plots_render_the_curves_from_data(snakemade):
    import json

    import pandas as pd

    files = [
        f"results/smoke/plots/{p}.csv" for p in ("train_accuracy", "feature_gradient", "train_loss")
    ]
    shown = json.loads(run(["dvc", "plots", "show", "--json", *files], snakemade).stdout)["data"]
    print("dvc plots:", {f: shown[f][0]["content"]["title"] for f in files})
    for f in files:
        content = shown[f][0]["content"]
        values = content["data"]["values"]
        assert content["encoding"]["color"]["field"] == "series"
        series = {v["series"] for v in values}
        if f.endswith("train_loss.csv"):
            assert series == {
                f"{m} | synthetic-{p}-r10" for m in ("ce", "mfw") for p in ("step", "exp")
            }
        else:
            assert {"ce major | synthetic-step-r10", "mfw minor | synthetic-step-r10"} <= series
            assert {"ce many | synthetic-exp-r10", "mfw few | synthetic-exp-r10"} <= series
        assert len({v["epoch"] for v in values}) == 3  # the smoke recipe's epochs
    metrics = json.loads(
        run(["dvc", "metrics", "show", "--json", "results/smoke/summary.json"], snakemade).stdout
    )
    (shown_metrics,) = (m["data"]["results/smoke/summary.json"]["data"] for m in metrics.values())
    runs = pd.read_csv(snakemade / "results/smoke/tables/runs.csv")
    means = runs.groupby(["profile", "method"]).top1.mean()
    assert {(p, m) for p, m in means.index} == {
        (p, m) for p in ("step", "exp") for m in ("ce", "mfw")
    }
    for (profile, method), mean in means.items():
        assert shown_metrics["top1"][f"{profile}-r10"][method] == pytest.approx(mean, abs=1e-4)


def test_curves_table_is_one_gzipped_row_per_run_epoch_and_class(snakemade):
    import pandas as pd

    curves = pd.read_csv(snakemade / "results/smoke/tables/curves.csv.gz")
    runs = {(r.setting, r.method, r.seed) for r in curves.itertuples()}
    assert len(runs) == 4  # 2 settings x (ce, mfw) x 1 seed
    assert len(curves) == len(runs) * 3 * curves["class"].nunique()  # 3 epochs
    assert {
        "train_acc",
        "heldout_acc",
        "grad_norm",
        "grad_norm_weighted",
        "grad_norm_clean",
        "to_major",
    } <= set(curves.columns)
    assert not curves.duplicated(["setting", "method", "seed", "epoch", "class"]).any()
    step = curves[curves.setting.str.contains("-step-")]
    assert step[step.group == "major"].to_major.isna().all()  # defined for the others only
    assert step[step.group == "minor"].to_major.between(0, 1).all()


def test_tensorboard_scalars_for_every_run(snakemade):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = sorted((snakemade / "logs/smoke/tensorboard").glob("*/*/seed0"))
    assert len(runs) == 4
    events = sorted(p.name for p in runs[0].iterdir())
    print("tensorboard:", runs[0].relative_to(snakemade), events)
    acc = EventAccumulator(str(runs[0]))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/lr", "clean_train_accuracy/all"} <= tags
    assert len(acc.Scalars("train/loss")) == 3


def test_code_edit_is_flagged_after_snakemake(snakemade):
    _edit_code_and_check_status(snakemade, "snakemake")


@pytest.mark.ci
def test_dvc_repro_then_snakemake_has_nothing_to_do(tmp_path):
    """In a clone, dvc repro re-derives splits and checkpoints, finds them equal to dvc.lock and
    keeps the committed metrics (checked by hash); Snakemake judges by content too, so directly
    after it neither engine has anything to do (no `snakemake --touch`)."""
    repo = fresh_clone(tmp_path / "repo")
    ran = run(["dvc", "repro", *smoke_dvc_targets()], repo).stdout
    assert "Running stage 'train-smoke@" in ran and "Running stage 'evaluate-smoke@" not in ran
    out = run(["snakemake", "-n", "smoke"], repo).stdout
    assert NOTHING in out, out[-2000:]
    status = run(["dvc", "status", *smoke_dvc_targets()], repo).stdout
    assert "Data and pipelines are up to date." in status, status
    _edit_code_and_check_status(repo, "dvc")


def test_audit_passes_then_names_a_changed_checkpoint(snakemade):
    ok = run(["procrustean", "audit", "results/smoke/tables/accuracy.md"], snakemade)
    assert "audit ok" in ok.stdout and "model.pt" in ok.stdout
    ckpt = snakemade / "runs/smoke/synthetic-step-r10/mfw/seed0/model.pt"
    data = bytearray(ckpt.read_bytes())
    backup = bytes(data)
    data[len(data) // 2] ^= 0xFF
    ckpt.unlink()  # a hardlink into DVC's cache: replace the file, not the cached bytes
    ckpt.write_bytes(bytes(data))
    try:
        bad = run(
            ["procrustean", "audit", "results/smoke/tables/accuracy.md"], snakemade, check=False
        )
        assert bad.returncode != 0
        assert "runs/smoke/synthetic-step-r10/mfw/seed0/model.pt" in bad.stderr.splitlines()[-1]
    finally:
        ckpt.unlink()
        ckpt.write_bytes(backup)


def test_paper_files_equal_dvc_outs(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    summary = run(["snakemake", "-n", "--cores", "all", "--summary"], repo).stdout
    snake = {line.split("\t")[0] for line in summary.splitlines()[1:] if line.strip()}
    snake = {p for p in snake if "/paper/" in p}
    code = (
        "from dvc.repo import Repo\n"
        "r = Repo('.')\n"
        "for s in r.index.stages:\n"
        "    if s.name.startswith(('split-paper@', 'train-paper@', 'evaluate-paper@',\n"
        "                          'report@paper', 'run-config@paper')):\n"
        "        for o in s.outs: print(o.def_path)\n"
    )
    dvc = set(run(["python", "-c", code], repo).stdout.split())
    assert len(dvc) > 1000
    # DVC's bookkeeping: the run-config files Snakemake's after-run writes (its params trigger
    # reads the same entries from params.yaml)
    assert "results/paper/config" in dvc and not any("/config/" in p for p in snake)
    dvc.remove("results/paper/config")
    assert snake == dvc, (sorted(snake - dvc)[:5], sorted(dvc - snake)[:5])


def test_scoped_invalidation_in_both_engines(snakemade):
    """Runs last in this module: it retrains the mfw runs of the shared clone."""
    params_file = snakemade / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    params["methods"]["mfw"]["mixing"] = {**params["methods"]["mfw"]["mixing"], "p_max": 0.25}
    try:
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        edited = yaml.safe_load(params_file.read_text())
        before = yaml.safe_load(original)
        assert [m for m in before["methods"] if before["methods"][m] != edited["methods"][m]] == [
            "mfw"
        ]
        dry = run(["snakemake", "-n", "smoke"], snakemade).stdout
        assert snakemake_jobs(dry) == {"train": 2, "evaluate": 2, "report": 1, "smoke": 1}
        jobs = re.findall(
            r"wildcards: (study=smoke, dataset=\w+, profile=\w+, ratio=\d+, method=(\w+), seed=\d+)",
            dry,
        )
        assert jobs and {m for _, m in jobs} == {"mfw"}
        # DVC decides downstream re-runs from changed outputs, so run it for real, not --dry
        status = run(["dvc", "repro", *smoke_dvc_targets()], snakemade).stdout
        changed = set(re.findall(r"Running stage '([^']+)'", status))
        assert changed == {
            "train-smoke@smoke-smoke-synthetic-step-10-mfw-0",
            "train-smoke@smoke-smoke-synthetic-exp-10-mfw-0",
            "evaluate-smoke@smoke-synthetic-step-10-mfw-0",
            "evaluate-smoke@smoke-synthetic-exp-10-mfw-0",
            "report@smoke",
            "run-config@smoke",
        }, status
    finally:
        params_file.write_text(original)


def test_a_study_written_in_params_yaml_alone_runs_under_both_engines(tmp_path):
    """A new study in params.yaml: Snakemake lists its jobs with no edit of the Snakefile; DVC's
    run-config refuses in one line naming `procrustean dvc-yaml`, after which `dvc dag` holds
    the study's stages and `dvc repro` runs them."""
    repo = fresh_clone(tmp_path / "repo")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    text = (repo / "params.yaml").read_text().rstrip("\n")
    text += (
        "\n  fresh:\n    recipe: smoke\n    datasets:\n    - synthetic\n    profiles:\n    - step\n"
    )
    text += "    ratios:\n    - 10\n    minor_fraction: 0.5\n    methods:\n    - ce\n    seeds:\n    - 7\n"
    assert "fresh" not in params["studies"]
    (repo / "params.yaml").write_text(text)
    jobs = snakemake_jobs(run(["snakemake", "-n", "fresh"], repo).stdout)
    assert jobs == {"split": 1, "train": 1, "evaluate": 1, "report": 1, "fresh": 1}, jobs
    refused = run(["dvc", "repro", "report@fresh"], repo, check=False)
    assert refused.returncode != 0
    assert "regenerate them with 'procrustean dvc-yaml'" in refused.stdout + refused.stderr
    assert "dvc.yaml: stage groups for" in run(["procrustean", "dvc-yaml"], repo).stdout
    # DVC's graph for the target: every stage of the study (`dvc repro --dry` cannot list past
    # the first stage of a grid that never ran: it hashes inputs that do not exist yet)
    dag = run(["dvc", "dag", "--md", "report@fresh"], repo).stdout
    stages = set(re.findall(r'\["([^"]+)"\]', dag))
    assert stages == {
        "run-config@fresh",
        "split-fresh@fresh-synthetic-step-10",
        "train-fresh@fresh-smoke-synthetic-step-10-ce-7",
        "evaluate-fresh@fresh-synthetic-step-10-ce-7",
        "report@fresh",
    }, dag
    ran = run(["dvc", "repro", "report@fresh"], repo).stdout
    assert all(f"Running stage '{s}'" in ran for s in stages), ran[-3000:]
