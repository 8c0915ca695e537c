"""`procrustean dvc-commit` records what exists and is new, and never fails a run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from procrustean.engines import dvcsync
from tests.helpers import REPO, resolved


def _touch(root: Path, paths: list[str]) -> None:
    for p in paths:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        (root / p).write_text("x")


def test_stages_with_absent_inputs_or_outputs_are_not_committed(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    stages = dvcsync.stage_files(resolved(params))
    split = "split-smoke@smoke-synthetic-step-10"
    train = "train-smoke@smoke-smoke-synthetic-step-10-ce-0"
    _touch(tmp_path, stages[split][1] + stages[train][1])
    names, _ = dvcsync.commit_targets(stages)
    assert split not in names and train not in names  # their key files are absent
    _touch(tmp_path, stages[split][0])  # the split's key file
    names, _ = dvcsync.commit_targets(stages)
    assert split in names and train not in names  # its key file is absent
    _touch(tmp_path, stages[train][0][1:])
    names, _ = dvcsync.commit_targets(stages)
    assert split in names and train in names
    os.remove(stages[train][0][0])  # the split a training run read is absent here
    names, _ = dvcsync.commit_targets(stages)
    assert train not in names


def test_a_refused_group_is_retried_per_stage_and_reported(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    stages = dvcsync.stage_files(resolved(params))
    smoke = {n: v for n, v in stages.items() if "smoke" in n}
    for deps, outs in smoke.values():  # folders (report deps, run configs) fill up with files
        _touch(tmp_path, [p for p in [*deps, *outs] if Path(p).suffix])
    calls: list[list[str]] = []

    def fake_commit(targets: list[str]) -> dict[str, str]:
        calls.append(targets)
        refused = [t for t in targets if t.startswith(("report@", "train-smoke"))]
        if len(calls) > 1:  # stage by stage: the runs are recorded, the report is not
            refused = [t for t in targets if t.startswith("report@")]
        return dict.fromkeys(refused, "ERROR: unexpected error - refused")

    monkeypatch.setattr(dvcsync, "commit_stages", fake_commit)
    result = dvcsync.commit_completed(resolved(params))
    assert "report@smoke" in result.skipped and "report@smoke" not in result.committed
    assert len(result.committed) == len(smoke) - 1
    trains = [n for n in smoke if n.startswith("train-smoke@")]
    assert "train-smoke" in calls[0] and len(calls) == 2  # one retry, of what was refused
    assert sorted(calls[1]) == sorted(["report@smoke", *trains])
    line = result.line()
    assert line.startswith(
        f"dvc: recorded {len(smoke) - 1} stages in dvc.lock; skipped 1 (dvc refused"
    )


def test_stages_params_no_longer_make_are_dropped_from_the_lock(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    stages = dvcsync.stage_files(resolved(params))
    kept = "train-smoke@smoke-smoke-synthetic-step-10-ce-0"
    gone = "train-oldstudy@oldstudy-quick-fashion_mnist_1k-step-100-ce-0"
    entry = "    cmd: procrustean train\n    outs:\n    - path: x\n      md5: 0\n      size: 1\n"
    lock = f"schema: '2.0'\nstages:\n  {kept}:\n{entry}  {gone}:\n{entry}"
    Path("dvc.lock").write_text(lock)
    assert dvcsync.prune_lock(stages, dry_run=True) == [gone]
    assert Path("dvc.lock").read_text() == lock  # a dry run writes nothing
    assert dvcsync.prune_lock(stages) == [gone]
    text = Path("dvc.lock").read_text()
    assert kept in text and gone not in text and text.startswith("schema: '2.0'")
    result = dvcsync.CommitResult(dropped=[gone])
    assert result.line().endswith("; dropped 1 stage dvc.yaml no longer defines")


def test_a_folder_output_counts_as_new_when_a_file_inside_it_is(tmp_path, monkeypatch, params):
    monkeypatch.chdir(tmp_path)
    stages = dvcsync.stage_files(resolved(params))
    name = "run-config@smoke"
    assert stages[name] == ([], ["results/smoke/config"])
    inner = tmp_path / "results/smoke/config/train/synthetic/ce.json"
    _touch(tmp_path, ["results/smoke/config/train/synthetic/ce.json"])
    folder = tmp_path / "results/smoke/config"
    for level in (folder, folder / "train", folder / "train/synthetic", inner):
        os.utime(level, (1000, 1000))
    names, targets = dvcsync.commit_targets(stages, since=2000)
    assert name not in names
    os.utime(inner, (3000, 3000))  # a rewritten file leaves its folder's own time alone
    names, targets = dvcsync.commit_targets(stages, since=2000)
    assert name in names and name in targets


def test_after_a_run_only_what_it_wrote_is_recorded(tmp_path, monkeypatch, params):
    """A fresh clone checks out the run-config files after dvc.lock; a run that did not rewrite
    them leaves their stage's committed entry alone."""
    monkeypatch.chdir(tmp_path)
    checked = resolved(params)
    stages = dvcsync.stage_files(checked)
    smoke = {n: v for n, v in stages.items() if "smoke" in n}
    for deps, outs in smoke.values():
        _touch(tmp_path, [p for p in [*deps, *outs] if Path(p).suffix])
    Path("dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    os.utime("dvc.lock", (1000, 1000))
    for path in tmp_path.rglob("*"):
        if path.name != "dvc.lock":
            os.utime(path, (2000, 2000))  # checked out after dvc.lock
    for _, outs in (v for n, v in smoke.items() if not n.startswith("run-config@")):
        for out in outs:
            os.utime(out, (4000, 4000))  # written by the run, which started at 3000
    monkeypatch.setattr(dvcsync, "commit_stages", lambda targets: {})
    result = dvcsync.commit_completed(checked, dry_run=True, written_since=3000)
    assert "run-config@smoke" not in result.committed
    assert len(result.committed) == len(smoke) - 1
    assert "run-config@smoke" in dvcsync.commit_completed(checked, dry_run=True).committed


def test_after_run_rewrites_the_run_configs_an_edit_changed_then_records_them(
    tmp_path, monkeypatch, params
):
    """Snakemake re-trained mfw after an edit of its entry (the content rule); the bookkeeping
    brings mfw's key file in line and records its stage, ce's stays as is."""
    from procrustean.engines.after_run import record_in_dvc
    from procrustean.engines.run_config import write_run_configs

    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)  # DVC records only inside git
    before = resolved(params)
    for study in before.studies:
        write_run_configs(before, study)
    ce, mfw = (Path(f"results/smoke/config/train/synthetic/{m}.json") for m in ("ce", "mfw"))
    ce_bytes = ce.read_bytes()
    stages = dvcsync.stage_files(before)
    for name, (deps, outs) in stages.items():
        if "smoke" in name:
            _touch(tmp_path, [p for p in [*deps, *outs] if Path(p).suffix and "/config/" not in p])
    Path("dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    for path in tmp_path.rglob("*"):
        os.utime(path, (1000, 1000))
    params["methods"]["mfw"]["mixing"]["p_max"] = 0.25
    edited = resolved(params)
    calls: list[list[str]] = []
    monkeypatch.setattr(dvcsync, "commit_stages", lambda t: calls.append(t) or {})
    record_in_dvc(edited, "params.yaml", since=2000)
    assert json.loads(mfw.read_text())["params"]["method"]["mfw"]["mixing"]["p_max"] == 0.25
    assert ce.read_bytes() == ce_bytes and ce.stat().st_mtime == 1000
    with_mfw = [s for s, e in edited.studies.items() if "mfw" in e.methods]
    assert "smoke" in with_mfw and calls == [[f"run-config@{s}" for s in with_mfw]]


def test_a_current_stage_the_lock_never_recorded_is_recorded_however_old(
    tmp_path, monkeypatch, params
):
    """A Snakemake run stopped before its closing bookkeeping leaves finished stages out of
    dvc.lock; the next run records them if the content rule finds them current, not otherwise."""
    from procrustean.engines.run_config import write_run_configs
    from tests.helpers import run_cli, write_params

    monkeypatch.chdir(tmp_path)
    write_params(tmp_path, params)
    checked = resolved(params)
    write_run_configs(checked, "smoke")
    name = "split-smoke@smoke-synthetic-step-10"
    deps, (split, summary, *_) = dvcsync.stage_files(checked)[name]
    args = ["split", "--study", "smoke", "--dataset", "synthetic", "--profile", "step"]
    run_cli(*args, "--ratio", "10", "--out", split, "--summary", summary, cwd=tmp_path, check=True)
    Path("dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    for path in [*tmp_path.rglob("*")]:
        os.utime(path, (1000, 1000))  # made long before dvc.lock was last written
    assert name in dvcsync.commit_completed(checked, dry_run=True).committed
    assert name not in dvcsync.commit_targets(dvcsync.stage_files(checked), since=2000)[0]
    Path("dvc.lock").write_text(f"schema: '2.0'\nstages:\n  {name}:\n    cmd: split\n")
    assert name not in dvcsync.commit_completed(checked, dry_run=True).committed  # recorded
    Path("dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    Path(split).write_text(Path(split).read_text().replace("[", "[ ", 1))  # not what made it
    os.utime(split, (1000, 1000))
    assert name not in dvcsync.commit_completed(checked, dry_run=True).committed


def test_a_group_is_named_whole_when_its_other_stages_are_current(tmp_path, monkeypatch, params):
    """A re-run that rewrote one split of two commits the group's name (DVC rewrites dvc.lock
    once per target) when the other split is current by the content rule, and the split alone
    when the other is not what made it."""
    from procrustean.engines.run_config import write_run_configs
    from tests.helpers import run_cli, write_params

    monkeypatch.chdir(tmp_path)
    write_params(tmp_path, params)
    checked = resolved(params)
    write_run_configs(checked, "smoke")
    stages = dvcsync.stage_files(checked)
    splits = [n for n in stages if n.startswith("split-smoke@")]
    assert len(splits) == 2
    for name in splits:
        profile, ratio = name.split("-")[-2:]
        _, (split, summary, *_) = stages[name]
        args = ["split", "--study", "smoke", "--dataset", "synthetic", "--profile", profile]
        run_cli(*args, "--ratio", ratio, "--out", split, "--summary", summary, cwd=tmp_path)
    recorded = "".join(f"  {n}:\n    cmd: split\n" for n in splits)
    Path("dvc.lock").write_text(f"schema: '2.0'\nstages:\n{recorded}")
    for path in [*tmp_path.rglob("*")]:
        os.utime(path, (1000, 1000))
    os.utime("dvc.lock", (2000, 2000))
    rewritten, other = splits
    for out in stages[rewritten][1]:
        os.utime(out, (3000, 3000))  # the re-run wrote these after dvc.lock
    calls: list[list[str]] = []
    monkeypatch.setattr(dvcsync, "commit_stages", lambda t: calls.append(t) or {})
    assert dvcsync.commit_completed(checked).committed == [rewritten]
    assert calls == [["split-smoke"]]
    other_split = stages[other][1][0]
    Path(other_split).write_text(Path(other_split).read_text().replace("[", "[ ", 1))
    os.utime(other_split, (1000, 1000))  # not what made it: the group may not be named
    calls.clear()
    assert dvcsync.commit_completed(checked).committed == [rewritten]
    assert calls == [[rewritten]]


def _three_stage_repo(root: Path, monkeypatch) -> None:
    """A git and DVC repository in ``root`` (the working folder) with stages make@a, make@b and
    make@c, the outputs of a and b made."""
    monkeypatch.chdir(root)
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run([dvcsync._dvc(), "init", "-q"], check=True)
    Path("dvc.yaml").write_text(
        "stages:\n  make:\n    foreach: [a, b, c]\n    do:\n"
        "      cmd: echo ${item} > out_${item}\n      outs:\n        - out_${item}\n"
    )
    for item in "ab":
        Path(f"out_{item}").write_text(f"{item}\n")


def test_stages_are_committed_with_one_write_of_the_lock(tmp_path, monkeypatch, capfd):
    """Real DVC: two stage targets are recorded, current in `dvc status`, with dvc.lock
    written once (DVC's command writes it once per target); a stage DVC cannot commit (an
    output absent) is refused with DVC's reason and the lock keeps what it had."""
    from dvc.dvcfile import Lockfile

    _three_stage_repo(tmp_path, monkeypatch)
    dumps: list[int] = []
    real = Lockfile.dump_stages
    monkeypatch.setattr(
        Lockfile,
        "dump_stages",
        lambda self, st, **kw: dumps.append(len(st)) or real(self, st, **kw),
    )
    capfd.readouterr()
    assert dvcsync.commit_stages(["make@a", "make@b"]) == {}
    assert dumps == [2]
    assert "lock file" not in "".join(capfd.readouterr())  # DVC's progress lines stay quiet
    status = subprocess.run(
        [dvcsync._dvc(), "status", "make@a", "make@b"], capture_output=True, text=True
    )
    assert status.returncode == 0 and "up to date" in status.stdout, status.stdout
    lock = Path("dvc.lock").read_text()
    assert "make@a" in lock and "make@b" in lock and "make@c" not in lock
    refused = dvcsync.commit_stages(["make@c", "make@b"])
    assert list(refused) == ["make@c"]
    assert refused["make@c"].startswith("ERROR:") and "out_c" in refused["make@c"]
    assert Path("dvc.lock").read_text() == lock


def test_every_file_a_stage_waits_for_is_one_dvc_yaml_names_for_it(monkeypatch, repo_params):
    """Real DVC on this repository's dvc.yaml: a stage is recorded only when the files dvc-commit
    checks exist, so each must be a dependency or output DVC itself names for that stage (a
    report that waited for runs/STUDY, which dvc.yaml dropped, was never recorded in a clone
    without checkpoints); every output DVC names is checked."""
    from dvc.repo import Repo

    monkeypatch.chdir(REPO)
    stages = dvcsync.stage_files(resolved(repo_params))
    with Repo(str(REPO)) as repo:
        defined = {s.addressing: s for s in repo.index.stages}
    assert set(stages) == set(defined)
    for name, (deps, outs) in stages.items():
        named_deps = {d.def_path for d in defined[name].deps if not hasattr(d, "params")}
        named_outs = {o.def_path for o in defined[name].outs}
        assert set(deps) <= named_deps | named_outs, (name, set(deps) - named_deps)
        assert named_outs <= set(outs), (name, named_outs - set(outs))
        assert all(o in named_outs or o.endswith(".prov.json") for o in outs), name


def test_another_dvc_process_holding_the_repository_is_waited_out(tmp_path, monkeypatch):
    """Two copies of train-and-commit finish together: one's dvc-commit finds DVC's repository
    lock held by the other's (longer than DVC's own 3 s of retries) and waits for it instead of
    having every target refused (which then cost one write of dvc.lock per stage)."""
    _three_stage_repo(tmp_path, monkeypatch)
    holder = (
        "import pathlib, time\nfrom dvc.repo import Repo\n"
        "with Repo() as repo, repo.lock:\n"
        "    pathlib.Path('held').touch()\n    time.sleep(8)\n"
    )
    other = subprocess.Popen([sys.executable, "-c", holder])
    try:
        deadline = time.monotonic() + 60
        while not Path("held").exists() and other.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert Path("held").exists(), "the other DVC process never took the lock"
        started = time.monotonic()
        assert dvcsync.commit_stages(["make@a", "make@b"]) == {}
        assert time.monotonic() - started > 4  # longer than DVC's own 3 s of retries
    finally:
        other.wait(timeout=60)
    assert "make@a" in Path("dvc.lock").read_text()


def test_a_stop_while_dvc_lock_is_written_waits_until_it_is_whole(tmp_path, monkeypatch):
    """A kill (a session's end, a hand) that arrives while dvc.lock is rewritten stops the
    process only once the write is done, so the lock is never left cut short or empty."""
    _three_stage_repo(tmp_path, monkeypatch)
    script = (
        "import os, signal\n"
        "from dvc.dvcfile import Lockfile\n"
        "from procrustean.engines import dvcsync\n"
        "real = Lockfile.dump_stages\n"
        "def stopped(self, stages, **kw):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return real(self, stages, **kw)\n"
        "Lockfile.dump_stages = stopped\n"
        "print(dvcsync.commit_stages(['make@a', 'make@b']), flush=True)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert proc.stdout == ""  # stopped as the write ended, before returning
    lock = yaml.safe_load(Path("dvc.lock").read_text())
    assert set(lock["stages"]) == {"make@a", "make@b"}
