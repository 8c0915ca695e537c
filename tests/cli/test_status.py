"""``procrustean status``: its compute summary from the provenance records, its output
through a pipe that closes early, and one line per analysis's judge stage."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from procrustean.checks.freshness import Stage, Verdict
from procrustean.checks.status import DesignStatus, StudyStatus, design_status
from tests.helpers import BIN, REPO, cli_env, write_params


def _stage(tmp_path: Path, kind: str, name: str, span: tuple[str, str] | None) -> Verdict:
    out = tmp_path / f"{name}.json"
    stage = Stage(kind, "s", name, (), (str(out),), "key", {})
    if span:
        Path(stage.record).write_text(json.dumps({"start": span[0], "end": span[1]}))
    return Verdict(stage)


def test_job_hours_per_kind_and_busy_time_counts_overlaps_once(tmp_path):
    day = "2026-12-01T"
    verdicts = [
        _stage(tmp_path, "train", "a", (f"{day}10:00:00+00:00", f"{day}10:10:00+00:00")),
        _stage(tmp_path, "train", "b", (f"{day}10:05:00+00:00", f"{day}10:20:00+00:00")),
        _stage(tmp_path, "evaluate", "c", (f"{day}12:00:00+00:00", f"{day}12:01:00+00:00")),
        _stage(tmp_path, "train", "d", None),  # not run yet
    ]
    lines = StudyStatus("s", verdicts).compute_lines()
    assert lines[0] == "compute s (from 3 of 4 records):"
    assert lines[1] == "  train: 2 jobs, 0.42 job-hours (median 750 s)"
    assert lines[2] == "  evaluate: 1 job, 0.02 job-hours (median 60 s)"
    # 10:00-10:20 (two overlapping jobs) and 12:00-12:01; the gap between them does not count
    assert lines[3] == "  busy wall time 21 min, 2026-12-01 10:00 to 2026-12-01 12:01 UTC"


def _ran_on(
    tmp_path: Path, kind: str, name: str, device: str | None, platform: str, mode="portable"
) -> Verdict:
    verdict = _stage(tmp_path, kind, name, None)
    record = {"start": "2026-12-01T10:00:00+00:00", "end": "2026-12-01T10:01:00+00:00"}
    if device is not None:
        record["device"] = device
    record["software"] = {"cpu_mode": mode, "platform": platform} if platform else None
    Path(verdict.stage.record).write_text(json.dumps(record))
    return verdict


def test_where_the_runs_were_made_per_device_mode_and_platform(tmp_path):
    """Train and evaluate records counted by device (thread count and visible devices dropped),
    CPU mode and platform; split and report records name no place."""
    gpu = "cuda:NVIDIA H100 80GB HBM3 (CUDA_VISIBLE_DEVICES=0)"
    verdicts = [
        _ran_on(tmp_path, "train", "a", "cpu:1 threads", "Linux-x-fc-v1"),
        _ran_on(tmp_path, "train", "b", "cpu:2 threads", "Linux-x-fc-v1"),
        _ran_on(tmp_path, "train", "c", "cpu:1 threads", "Linux-x-fc-v2"),
        _ran_on(tmp_path, "evaluate", "d", "cpu:1 threads", "Linux-x-fc-v1"),
        _ran_on(tmp_path, "report", "e", "cpu:1 threads", "Linux-x-fc-v1"),
    ]
    lines = StudyStatus("s", verdicts).compute_lines()
    assert lines[-2:] == [
        "  where train ran: 2 on cpu, portable mode, Linux-x-fc-v1; "
        "1 on cpu, portable mode, Linux-x-fc-v2",
        "  where evaluate ran: 1 on cpu, portable mode, Linux-x-fc-v1",
    ]
    verdicts.append(_ran_on(tmp_path, "train", "f", gpu, "Linux-x-gpu"))
    assert StudyStatus("s", verdicts).where_lines()[0] == (
        "  where train ran: 2 on cpu, portable mode, Linux-x-fc-v1; "
        "1 on cpu, portable mode, Linux-x-fc-v2; "
        "1 on cuda:NVIDIA H100 80GB HBM3, Linux-x-gpu: CPU and GPU runs pooled"
    )


def test_cpu_runs_in_two_modes_are_flagged_and_incomplete_records_do_not_break_it(tmp_path):
    verdicts = [
        _ran_on(tmp_path, "train", "a", "cpu:1 threads", "Linux-x-fc-v1"),
        _ran_on(tmp_path, "train", "b", "cpu:1 threads", "Linux-x-fc-v1", mode="native"),
        _ran_on(tmp_path, "train", "c", None, "Linux-x-fc-v1"),  # an old record: no device
        _ran_on(tmp_path, "evaluate", "d", "cpu:1 threads", ""),  # software: null
    ]
    assert StudyStatus("s", verdicts).where_lines() == [
        "  where train ran: 1 on cpu, native mode, Linux-x-fc-v1; "
        "1 on cpu, portable mode, Linux-x-fc-v1: CPU modes pooled",
        "  where evaluate ran: 1 on cpu, unrecorded mode, unrecorded platform",
    ]


def test_runs_resumed_from_a_checkpoint_are_named_and_scaled_to_all_their_epochs(tmp_path):
    """A resumed run's record times its last segment only: 10 minutes for 8 of 32 epochs
    stands for 40; one resumed after its last epoch (0 timed) takes the fully timed runs'
    median pace; a run timed over all its epochs, or without timing, counts as it is."""
    day = "2026-12-01T"
    recipe = {"params": {"recipe": {"counts": {"epochs": 32}}}}
    runs = (("a", 10, 8), ("b", 16, 32), ("c", 30, None), ("d", 1, 0), ("e", 10, 8))
    verdicts = []
    for name, minutes, timed in runs:
        verdict = _stage(tmp_path, "train", name, None)
        record = {"start": f"{day}10:00:00+00:00", "end": f"{day}10:{minutes:02d}:00+00:00"}
        record.update(recipe)
        if timed is not None:
            record["timing"] = {"epochs_timed": timed}
        Path(verdict.stage.record).write_text(json.dumps(record))
        verdicts.append(verdict)
    lines = StudyStatus("s", verdicts).compute_lines()
    assert lines[1] == "  train: 5 jobs, 1.12 job-hours (median 600 s)"
    # a and e: 40 min each; d: 32 epochs at b's 0.5 min an epoch; b, c as recorded: 142 min
    assert lines[2] == (
        "    resumed from a checkpoint: 3 (a record times only its last segment; epochs timed: "
        "0 of 32, 8 of 32 (x2)); train job-hours with these scaled to all their epochs: about 2.37"
    )
    assert StudyStatus("s", verdicts[1:3]).resumed_lines("train") == []


def test_a_study_without_records_says_so(tmp_path):
    lines = StudyStatus("s", [_stage(tmp_path, "train", "a", None)]).compute_lines()
    assert lines == ["compute s: no provenance record yet"]


def test_a_reader_that_stops_early_ends_status_quietly(tmp_path, params):
    """`procrustean status --all | head -1`: no traceback and no error line, exit 141 (SIGPIPE's
    status in the shell), like other Unix tools."""
    params["studies"]["smoke"]["seeds"] = list(range(2000))  # 8,000 absent stages: > 64 KB
    write_params(tmp_path, params)
    proc = subprocess.Popen(
        [str(BIN / "procrustean"), "status", "--all", "--study", "smoke"],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().startswith("status smoke: ")
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141, err
    assert err == ""


def _evaluate(study: str, setting: str, method: str, seed: int, current: bool = False) -> Verdict:
    out = f"results/{study}/metrics/{setting}/{method}/seed{seed}.json"
    stage = Stage("evaluate", study, f"evaluate-{setting}-{method}-{seed}", (), (out,), "k", {})
    return Verdict(stage, [] if current else [("absent", "absent")], recorded=False)


def test_runs_left_pairs_the_methods_of_a_setting_and_seed_seed_by_seed():
    """One line per setting and seed, its methods together; seeds in numeric order (10 after
    2) and the settings within a seed, so a study stopped part-way holds every setting at about
    the same number of seeds; current stages and other kinds are not runs left."""
    verdicts = [
        _evaluate("s", set_, method, seed, current=(set_, method, seed) == ("b", "ce", 2))
        for seed in (10, 2, 0)
        for set_ in ("b", "a")
        for method in ("mfw", "ce")
    ]
    train = Stage("train", "s", "train-a-ce-0", (), ("runs/s/a/ce/seed0/model.pt",), "k", {})
    verdicts.append(Verdict(train, [("absent", "absent")], recorded=False))
    left = StudyStatus("s", verdicts, verdicts, allow_missing=True).runs_left()
    metrics = "results/s/metrics"
    assert left == [
        [f"{metrics}/a/ce/seed0.json", f"{metrics}/a/mfw/seed0.json"],
        [f"{metrics}/b/ce/seed0.json", f"{metrics}/b/mfw/seed0.json"],
        [f"{metrics}/a/ce/seed2.json", f"{metrics}/a/mfw/seed2.json"],
        [f"{metrics}/b/mfw/seed2.json"],  # its ce run is current
        [f"{metrics}/a/ce/seed10.json", f"{metrics}/a/mfw/seed10.json"],
        [f"{metrics}/b/ce/seed10.json", f"{metrics}/b/mfw/seed10.json"],
    ]


def _study(settings: str, done: set[tuple[str, int]], seeds: int = 3) -> StudyStatus:
    verdicts = [
        _evaluate("s", set_, method, seed, current=(set_, seed) in done)
        for seed in range(seeds)
        for set_ in settings
        for method in ("ce", "mfw")
    ]
    return StudyStatus("s", verdicts, verdicts, allow_missing=True)


def _pairs(left: list[list[str]]) -> list[str]:
    """Each pair as SETTING+SEED, read from its first metrics file."""
    return [f"{p[0].split('/')[3]}{p[0].split('seed')[1][:-5]}" for p in left]


def test_shards_are_counted_over_all_pairs_done_or_not():
    """Two copies started at different times: the first has made a pair by the time the second
    asks, yet the second's list is the same and never holds the first's pairs; together they
    hold every pair."""
    first, second = _study("abc", set()).runs_left((1, 2)), _study("abc", set()).runs_left((2, 2))
    assert _pairs(first) == ["a0", "c0", "b1", "a2", "c2"]
    assert _pairs(second) == ["b0", "a1", "c1", "b2"]
    assert _study("abc", {("a", 0)}).runs_left((2, 2)) == second
    assert _study("abc", {("a", 0)}).runs_left((1, 2)) == first[1:]


def test_a_shard_spans_every_setting_when_the_shards_divide_the_settings():
    """Two settings, two shards: by position alone shard 1 would own setting a; shifted by the
    seed, each shard makes both settings, so a study stopped part-way stays balanced."""
    assert _pairs(_study("ab", set()).runs_left((1, 2))) == ["a0", "b1", "a2"]
    assert _pairs(_study("ab", set()).runs_left((2, 2))) == ["b0", "a1", "b2"]


def test_a_run_made_but_not_committed_is_left_to_commit():
    """Current on disk but untracked or modified in git (a copy stopped between Snakemake and
    its commit): listed again with its pair, so the next copy commits it."""
    study = _study("a", {("a", 0), ("a", 1)}, seeds=2)
    assert study.runs_left() == []
    unsaved = frozenset({"results/s/history/a/mfw/seed1.json.prov.json"})
    assert study.runs_left(uncommitted=unsaved) == [["results/s/metrics/a/mfw/seed1.json"]]


def test_options_that_runs_left_would_ignore_are_refused_in_one_line(tmp_path, params):
    write_params(tmp_path, params)
    for args in (["--shard", "1/2"], ["--runs-left", "--compute"], ["--runs-left", "--all"]):
        proc = subprocess.run(
            [str(BIN / "procrustean"), "status", "--study", "smoke", *args],
            cwd=tmp_path,
            env=cli_env(),
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2, args
        assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_judge_stage_names_its_snakemake_rule_and_its_dvc_stage():
    """An analysis's judge stage (judge-NAME) says whether it is current and, if not, why and
    the command that brings it up to date: the Snakemake rule judge_NAME or DVC's stage."""
    stage = Stage(
        "judge", "", "judge-paper_counts", (), ("results/paper_counts/verdicts.md",), "", {}
    )
    assert DesignStatus(Verdict(stage), allow_missing=True).lines() == [
        "status judge-paper_counts: up to date (allow-missing)"
    ]
    stale = Verdict(stage, [("code", "code changed: src/procrustean/report/revised.py")])
    assert DesignStatus(stale).lines() == [
        "status judge-paper_counts: out of date (code)",
        "  results/paper_counts/verdicts.md: code changed: src/procrustean/report/revised.py",
        "  bring up to date: snakemake --cores 1 judge_paper_counts  (or: dvc repro judge-paper_counts)",
    ]
    assert DesignStatus(stale, allow_missing=True).lines()[2] == (
        "  bring up to date: snakemake --cores 1 judge_paper_counts --config allow_missing=true"
        "  (or: dvc repro --allow-missing judge-paper_counts)"
    )


def test_status_lists_one_judge_stage_per_registered_analysis(tmp_path, params, monkeypatch):
    """Every file under analyses/ has its line, in name order; a folder without any has none."""
    from procrustean.analyses import names
    from procrustean.config import load_params

    monkeypatch.chdir(REPO)
    listed = design_status(load_params("params.yaml"), allow_missing=True)
    assert [d.verdict.stage.name for d in listed] == [f"judge-{n}" for n in names(REPO)]
    assert all(d.lines()[0].startswith(f"status {d.verdict.stage.name}: ") for d in listed)
    write_params(tmp_path, params)
    monkeypatch.chdir(tmp_path)
    assert design_status(load_params("params.yaml")) == []
