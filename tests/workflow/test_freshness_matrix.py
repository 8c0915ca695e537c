"""Up to date by content: however the smoke study arrives (git clone, `git archive` tarball,
`dvc repro`, `dvc exp run` then a checkout of params.yaml, a `touch` of everything), Snakemake,
DVC and `procrustean status` give the same answer to "is it up to date?"."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO
from tests.helpers.clones import (
    fresh_clone,
    run,
    smoke_dvc_targets,
    snakemake_jobs,
    status_reasons,
)

pytestmark = pytest.mark.slow
NOTHING = "Nothing to be done"
UP_TO_DATE = "Data and pipelines are up to date."
IDENTICAL = "smoke: 4 of 4 runs byte-identical to the committed results (metrics and history)"
STALE, CURRENT, REFUSED = "stale", "current", "refused"
EVERY_JOB = {"split": 2, "train": 4, "evaluate": 4, "report": 1, "smoke": 1}
MFW_JOBS = {"train": 2, "evaluate": 2, "report": 1, "smoke": 1}
P_MAX = yaml.safe_load((REPO / "params.yaml").read_text())["methods"]["mfw"]["mixing"]["p_max"]


def git_archive(dest: Path) -> Path:
    """HEAD as `git archive` gives it, extracted: no .git, every file with the commit's time."""
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=REPO, check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    assert not (dest / ".git").exists() and (dest / "dvc.yaml").is_file()
    return dest


def touch_all(repo: Path, folders: list[str]) -> int:
    """`touch` every file under ``folders`` (checkpoints included: hardlinks into the DVC
    cache get the new time too, as a real `touch` gives them)."""
    files = [p for f in folders for p in sorted((repo / f).rglob("*")) if p.is_file()]
    for path in files:
        os.utime(path)
    return len(files)


def copy_tree(src: Path, dest: Path) -> Path:
    """`cp -a`: times, modes and the hardlinks between checkouts and DVC's cache kept."""
    subprocess.run(["cp", "-a", str(src), str(dest)], check=True)
    return dest


# ---------------------------------------------------------------------------------- arrivals


@pytest.fixture(scope="module")
def cloned(tmp_path_factory) -> Path:
    """(a) git clone."""
    return fresh_clone(tmp_path_factory.mktemp("a") / "repo")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    """(b) `git archive` of HEAD, extracted (no .git, equal timestamps)."""
    return git_archive(tmp_path_factory.mktemp("b") / "repo")


@pytest.fixture(scope="module")
def reproduced_base(tmp_path_factory) -> Path:
    """A clone where `dvc repro` of the smoke study has run; copied, never asked."""
    repo = fresh_clone(tmp_path_factory.mktemp("c-base") / "repo")
    run(["dvc", "repro", *smoke_dvc_targets()], repo, timeout=1800)
    return repo


@pytest.fixture(scope="module")
def reproduced(reproduced_base, tmp_path_factory) -> Path:
    """(c) git clone + dvc repro."""
    return copy_tree(reproduced_base, tmp_path_factory.mktemp("c") / "repo")


@pytest.fixture(scope="module")
def experimented(reproduced_base, tmp_path_factory) -> Path:
    """(d) (c) + `dvc exp run -S methods.mfw.mixing.p_max=0.3` + `git checkout params.yaml`:
    the mfw outputs were made with p_max 0.3, params.yaml says otherwise."""
    assert P_MAX != 0.3
    repo = copy_tree(reproduced_base, tmp_path_factory.mktemp("d") / "repo")
    exp = run(
        ["dvc", "exp", "run", "-S", "methods.mfw.mixing.p_max=0.3", *smoke_dvc_targets()],
        repo,
        timeout=1800,
    )
    ran = set(re.findall(r"Running stage '([^']+)'", exp.stdout))
    assert {s for s in ran if "mfw" in s or s.startswith("report@")} == ran - {"run-config@smoke"}
    run(["git", "checkout", "params.yaml"], repo)
    assert run(["git", "diff", "--stat", "params.yaml"], repo).stdout == ""
    return repo


@pytest.fixture(scope="module")
def touched(tmp_path_factory) -> Path:
    """(e) git clone + `touch` of every file under results/."""
    repo = fresh_clone(tmp_path_factory.mktemp("e") / "repo")
    assert touch_all(repo, ["results"]) > 100
    return repo


@pytest.fixture(scope="module")
def reproduced_touched(reproduced_base, tmp_path_factory) -> Path:
    """(c) + `touch` of every file under results/, data/ and runs/."""
    repo = copy_tree(reproduced_base, tmp_path_factory.mktemp("c-touch") / "repo")
    assert touch_all(repo, ["results", "data", "runs"]) > 100
    return repo


ARRIVALS = {  # name -> (fixture, expected answer)
    "clone": ("cloned", STALE),
    "tarball": ("tarball", STALE),
    "dvc-repro": ("reproduced", CURRENT),
    "dvc-exp-run+checkout": ("experimented", STALE),
    "clone+touch-results": ("touched", STALE),
    "dvc-repro+touch-all": ("reproduced_touched", CURRENT),
}


# ---------------------------------------------------------------------------------- questions


def ask_snakemake(repo: Path, arrival: str) -> str:
    out = run(["snakemake", "-n", "smoke"], repo).stdout
    jobs = snakemake_jobs(out) if "Job stats:" in out else {}
    print(f"[{arrival}] snakemake -n smoke: {jobs or out.strip().splitlines()[-3:]}")
    if NOTHING in out:
        assert jobs == {}, out[-3000:]
        return CURRENT
    assert jobs, out[-3000:]
    if arrival == "dvc-exp-run+checkout":  # exactly the mfw runs and the report
        assert jobs == MFW_JOBS, (jobs, out[-3000:])
        methods = set(re.findall(r"wildcards: study=smoke, dataset=\w+, profile=\w+, "
                                 r"ratio=\d+, method=(\w+), seed=\d+", out))  # fmt: skip
        assert methods == {"mfw"}, out[-3000:]
    else:  # splits and checkpoints are absent: every job
        assert jobs == EVERY_JOB, (jobs, out[-3000:])
    return STALE


def ask_dvc(repo: Path, arrival: str) -> str:
    proc = run(["dvc", "status", "--with-deps", *smoke_dvc_targets()], repo, check=False)
    out = proc.stdout + proc.stderr
    print(f"[{arrival}] dvc status --with-deps (exit {proc.returncode}):\n{out[-1500:]}")
    if arrival == "tarball":
        # DVC needs git: without .git it refuses to run at all, saying why, with a non-zero exit
        assert proc.returncode != 0, out
        assert "is not a git repository" in proc.stderr and str(repo) in proc.stderr, out
        assert len(proc.stderr.strip().splitlines()) == 1, out
        return REFUSED
    assert proc.returncode == 0, out
    if UP_TO_DATE in proc.stdout:
        return CURRENT
    changed = re.findall(r"^([\w@.-]+):$", proc.stdout, re.M)
    assert changed, out
    if arrival == "dvc-exp-run+checkout":
        # the key files still hold p_max 0.3: run-config@smoke is what sees params.yaml's edit
        assert "run-config@smoke" in changed and "modified:" in proc.stdout, out
        assert re.search(r"params\.yaml:\s+modified:\s+methods", proc.stdout), out
    else:
        assert any(s.startswith("split-smoke@") for s in changed), out
        assert any(s.startswith("train-smoke@") for s in changed), out
    return STALE


def ask_procrustean(repo: Path, arrival: str) -> str:
    proc = run(["procrustean", "status", "--study", "smoke"], repo, check=False)
    print(f"[{arrival}] procrustean status --study smoke (exit {proc.returncode}):\n{proc.stdout}")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    if proc.returncode == 0:
        assert "status smoke: all 11 stages up to date" in proc.stdout, proc.stdout
        return CURRENT
    if arrival == "dvc-exp-run+checkout":
        assert "status smoke: 5 of 11 stages out of date" in proc.stdout, proc.stdout
        for profile in ("step", "exp"):
            assert (
                f"results/smoke/history/synthetic-{profile}-r10/mfw/seed0.json: params changed: "
                f"method.mfw.mixing.p_max (0.3 -> {P_MAX})"
            ) in proc.stdout, proc.stdout
        named = set(status_reasons(proc.stdout))
        assert named == {
            *(f"results/smoke/{kind}/synthetic-{profile}-r10/mfw/seed0.json"
              for kind in ("history", "metrics") for profile in ("step", "exp")),
            "results/smoke/tables/accuracy.md",
        }, proc.stdout  # fmt: skip
    else:
        assert "status smoke: 11 of 11 stages out of date" in proc.stdout, proc.stdout
        assert "data/splits/smoke/synthetic-step-r10.json absent" in proc.stdout
    return STALE


QUESTIONS: dict[str, Callable[[Path, str], str]] = {
    "snakemake -n": ask_snakemake,
    "dvc status --with-deps": ask_dvc,
    "procrustean status": ask_procrustean,
}
ANSWERS: dict[tuple[str, str], str] = {}  # (arrival, question) -> answer, for the agreement


def _answer(request, arrival: str, question: str) -> str:
    if (arrival, question) not in ANSWERS:
        repo = request.getfixturevalue(ARRIVALS[arrival][0])
        ANSWERS[arrival, question] = QUESTIONS[question](repo, arrival)
    return ANSWERS[arrival, question]


CELLS = [(a, q) for a in ARRIVALS for q in QUESTIONS]


@pytest.mark.parametrize(("arrival", "question"), CELLS, ids=[f"{a}|{q}" for a, q in CELLS])
def test_cell(request, arrival: str, question: str):
    expected = ARRIVALS[arrival][1]
    if arrival == "tarball" and question == "dvc status --with-deps":
        expected = REFUSED  # DVC runs only in a git repository
    assert _answer(request, arrival, question) == expected


@pytest.mark.parametrize("arrival", list(ARRIVALS))
def test_the_three_answers_agree(request, arrival: str):
    answers = {q: _answer(request, arrival, q) for q in QUESTIONS}
    print(f"[{arrival}] {answers}")
    given = {a for a in answers.values() if a != REFUSED}
    assert given == {ARRIVALS[arrival][1]}, answers
    refused = [q for q, a in answers.items() if a == REFUSED]
    assert refused == ([] if arrival != "tarball" else ["dvc status --with-deps"]), answers


def test_the_tarball_rederives_byte_identical(tmp_path):
    """From a `git archive` tarball (no .git), the README's first command re-derives the smoke
    study and says how the numbers compare with the committed ones."""
    repo = git_archive(tmp_path / "repo")
    proc = run(["snakemake", "--cores", "2", "smoke"], repo, check=False, timeout=1800)
    out = proc.stdout + proc.stderr
    closing = [ln for ln in out.splitlines() if ln.startswith("procrustean: ")]
    # Snakemake logs to stderr, the closing lines (procrustean's after-run) go to stdout
    print("last lines of `snakemake --cores 2 smoke` from the tarball (stderr, then stdout):")
    print("\n".join(proc.stderr.strip().splitlines()[-4:]))
    print("\n".join(proc.stdout.strip().splitlines()[-6:]))
    assert proc.returncode == 0, out[-3000:]
    assert any(IDENTICAL in ln for ln in closing), closing
    assert len(list((repo / "runs/smoke").rglob("model.pt"))) == 4
    status = run(["procrustean", "status", "--study", "smoke"], repo, check=False)
    assert status.returncode == 0, status.stdout
    assert NOTHING in run(["snakemake", "-n", "smoke"], repo).stdout
