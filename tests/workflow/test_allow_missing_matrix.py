"""Allow-missing: what git records counts as done. Five arrivals of a clone with no DVC cache
(so no split and no checkpoint) x three questions, each cell a test with its expected answer:

- ``snakemake -n smoke --config allow_missing=true``: the jobs it would run;
- ``dvc repro --allow-missing --dry`` (after ``procrustean run-config``, the command of
  dvc.yaml's first stage, which a dry run does not execute): the stages DVC would run;
- ``procrustean status --allow-missing``: stale, re-made (recorded but read by a stage that
  runs) and never recorded.

The three agree: Snakemake runs exactly what status calls stale, never recorded or re-made.
DVC's ``--allow-missing`` never re-makes an absent input (it skips the stage that would; a
remote and ``--pull`` bring the file): where a stage that must run reads an absent split or
checkpoint, DVC stops there, naming the file, and that file is one status lists as re-made;
otherwise its dry run names stages Snakemake also runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from procrustean.checks.freshness import setting_tail, stage_name, study_stages
from procrustean.config import load_params
from tests.helpers.clones import commit_all, fresh_clone, run, snakemake_jobs

pytestmark = pytest.mark.slow

FLAG = ["--config", "allow_missing=true"]
TAMPERED = "results/smoke/metrics/synthetic-step-r10/ce/seed0.json"
HALF = {  # a two-run study: seed 0 trained and evaluated elsewhere (records committed), seed 1 not
    "description": "two runs, one made on another machine",
    "recipe": "smoke",
    "datasets": ["synthetic"],
    "profiles": ["step"],
    "ratios": [10],
    "minor_fraction": 0.5,
    "methods": ["ce"],
    "seeds": [0],
}


def run_name(study: str, kind: str, profile: str, method: str, seed: int = 0) -> str:
    tail = setting_tail("synthetic", profile, 10, method, seed)
    return stage_name(kind, study, "smoke" if kind == "train" else "", tail)


def split_name(study: str, profile: str) -> str:
    return stage_name("split", study, tail=setting_tail("synthetic", profile, 10))


NEEDS = "needs an absent file"  # DVC stops at a stage that must run and reads an absent file
MFW = {run_name("smoke", k, p, "mfw") for k in ("train", "evaluate") for p in ("step", "exp")}
EXPECTED = {  # arrival -> (study, stale, never recorded, re-made, DVC's dry run)
    "fresh clone": ("smoke", set(), set(), set(), set()),
    "report-code edit": ("smoke", {"report@smoke"}, set(), set(), {"report@smoke"}),
    "methods.mfw change": (
        "smoke",
        MFW | {"report@smoke"},
        set(),
        {split_name("smoke", "step"), split_name("smoke", "exp")},
        NEEDS,
    ),
    "tampered metrics": (
        "smoke",
        {run_name("smoke", "evaluate", "step", "ce"), "report@smoke"},
        set(),
        {run_name("smoke", "train", "step", "ce"), split_name("smoke", "step")},
        NEEDS,
    ),
    "half-finished study": (
        "half",
        {"report@half"},
        {run_name("half", "train", "step", "ce", 1), run_name("half", "evaluate", "step", "ce", 1)},
        {split_name("half", "step")},
        NEEDS,
    ),
}


def edit_params(repo: Path, change) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    change(params)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


# ---------------------------------------------------------------------------------- arrivals


@pytest.fixture(scope="module")
def half_base(tmp_path_factory) -> Path:
    """A repository where the two-run study's first run was made and committed (splits and
    checkpoint then lost with the machine), and the study then grew its second seed."""
    repo = fresh_clone(tmp_path_factory.mktemp("half-base") / "repo")
    edit_params(repo, lambda p: p["studies"].update(half=dict(HALF)))
    run(["procrustean", "dvc-yaml"], repo)
    run(["snakemake", "--cores", "2", "half"], repo, timeout=1800)
    commit_all(repo, "half: seed 0 made")
    edit_params(repo, lambda p: p["studies"]["half"].update(seeds=[0, 1]))
    run(["procrustean", "dvc-yaml"], repo)
    commit_all(repo, "half: seed 1 added")
    return repo


def arrive(arrival: str, tmp: Path, half_base: Path | None) -> Path:
    if arrival == "half-finished study":
        return fresh_clone(tmp / "repo", source=half_base)
    repo = fresh_clone(tmp / "repo")
    if arrival == "report-code edit":
        with open(repo / "src/procrustean/report/tables.py", "a") as fh:
            fh.write("# a comment\n")
    elif arrival == "methods.mfw change":
        edit_params(repo, lambda p: p["methods"]["mfw"]["mixing"].update(p_max=0.3))
    elif arrival == "tampered metrics":
        metrics = json.loads((repo / TAMPERED).read_text())
        metrics["top1"] = metrics["top1"] + 1.0
        (repo / TAMPERED).write_text(json.dumps(metrics))
    return repo


@pytest.fixture(scope="module")
def arrivals(request, tmp_path_factory) -> dict[str, Path]:
    half = request.getfixturevalue("half_base")
    return {a: arrive(a, tmp_path_factory.mktemp(f"am{i}"), half) for i, a in enumerate(EXPECTED)}


# ---------------------------------------------------------------------------------- questions

BLOCK = re.compile(r"^(?:local)?rule (\w+):\n((?:[ \t]+.*\n)*)", re.M)
WILDCARDS = re.compile(r"wildcards: (.*)")


def ask_snakemake(repo: Path, study: str) -> set[str]:
    """The stages of the jobs a dry run lists (their names as the content rule gives them)."""
    out = run(["snakemake", "-n", study, *FLAG], repo).stdout
    if "Nothing to be done" in out:
        return set()
    names = set()
    for kind, body in BLOCK.findall(out):
        found = WILDCARDS.search(body)
        if kind not in ("split", "train", "evaluate", "report") or not found:
            continue
        w = dict(kv.split("=", 1) for kv in found.group(1).split(", "))
        if kind == "report":
            names.add(stage_name("report", w["study"]))
            continue
        method, seed = (w.get("method", ""), w.get("seed", "")) if kind != "split" else ("", "")
        tail = setting_tail(w["dataset"], w["profile"], w["ratio"], method, seed)
        names.add(stage_name(kind, w["study"], "smoke", tail))
    jobs = snakemake_jobs(out)
    assert sum(v for k, v in jobs.items() if k != study) == len(names), (jobs, names)
    return names


def ask_dvc(repo: Path, study: str) -> tuple[set[str], str | None]:
    """The stages DVC's dry run would run, and the absent file it stopped at (None: none)."""
    run(["procrustean", "run-config", "--study", study], repo)
    proc = run(["dvc", "repro", "--allow-missing", "--dry", f"report@{study}"], repo, check=False)
    out = proc.stdout + proc.stderr
    running = set(re.findall(r"Running stage '([^']+)'", out)) - {f"run-config@{study}"}
    absent = re.search(r"No such file or directory: '([^']+)'", out)
    assert (proc.returncode == 0) == (absent is None), out[-2000:]
    return running, absent and Path(absent.group(1)).relative_to(repo).as_posix()


def ask_status(repo: Path, study: str) -> tuple[set[str], set[str], set[str], int]:
    proc = run(
        ["procrustean", "status", "--allow-missing", "--all", "--study", study], repo, check=False
    )
    by_path = {
        s.outputs[0]: n for n, s in study_stages(load_params(repo / "params.yaml"), study).items()
    }
    groups = {"stale": set(), "never recorded": set(), "re-made": set()}
    for group, path in re.findall(r"^  (stale|never recorded|re-made) (\S+): ", proc.stdout, re.M):
        groups[group].add(by_path[path])
    return groups["stale"], groups["never recorded"], groups["re-made"], proc.returncode


# ---------------------------------------------------------------------------------- cells

CELLS = [(a, q) for a in EXPECTED for q in ("snakemake", "dvc", "status")]


@pytest.mark.parametrize(("arrival", "question"), CELLS, ids=[f"{a}|{q}" for a, q in CELLS])
def test_cell(arrivals, arrival: str, question: str):
    study, stale, never, remade, dvc = EXPECTED[arrival]
    repo = arrivals[arrival]
    if question == "snakemake":
        assert ask_snakemake(repo, study) == stale | never | remade
    elif question == "dvc":
        running, absent = ask_dvc(repo, study)
        if dvc == NEEDS:
            made = study_stages(load_params(repo / "params.yaml"), study)
            assert absent in {o for n in remade for o in made[n].outputs}, (absent, remade)
        else:
            assert (running, absent) == (dvc, None)
    else:
        got_stale, got_never, got_remade, code = ask_status(repo, study)
        assert (got_stale, got_never, got_remade) == (stale, never, remade)
        assert code == (1 if stale | never | remade else 0)


@pytest.mark.parametrize("arrival", list(EXPECTED))
def test_the_three_agree(arrivals, arrival: str):
    """Snakemake runs what status names; DVC runs a part of it, or stops at a file status says
    is re-made."""
    study = EXPECTED[arrival][0]
    repo = arrivals[arrival]
    stale, never, remade, _ = ask_status(repo, study)
    planned = ask_snakemake(repo, study)
    assert planned == stale | never | remade
    running, absent = ask_dvc(repo, study)
    assert running <= planned
    made = study_stages(load_params(repo / "params.yaml"), study)
    assert absent is None or absent in {o for n in remade for o in made[n].outputs}


@pytest.mark.ci
def test_a_fresh_clone_has_nothing_to_do_and_strict_still_rederives(tmp_path):
    """The committed studies count as done under allow-missing in a clone with no DVC cache,
    while the strict default still plans every stage of the smoke study."""
    repo = fresh_clone(tmp_path / "repo")
    assert ask_snakemake(repo, "smoke") == set()
    assert ask_status(repo, "smoke")[3] == 0
    assert ask_dvc(repo, "quick") == (set(), None)
    strict = snakemake_jobs(run(["snakemake", "-n", "smoke"], repo).stdout)
    assert strict == {"split": 2, "train": 4, "evaluate": 4, "report": 1, "smoke": 1}
