"""Keep DVC's lock in step with Snakemake: commit the stages whose outputs Snakemake wrote."""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from procrustean import verdict_files
from procrustean.analyses import load_all
from procrustean.checks.freshness import Freshness, stage_name, study_stages
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.paths import PROV, PUBLISHED, run_config_dir
from procrustean.verdict_files import judge_name

Files = tuple[list[str], list[str]]  # a DVC stage's file dependencies and outputs


def stage_files(params: Params) -> dict[str, Files]:
    """DVC stage name -> (its file dependencies, its outputs), for every study (names as
    dvc.yaml's matrices make them; the stages and paths are procrustean.checks.freshness's)."""
    stages: dict[str, Files] = {}
    for study in params.studies:
        stages[stage_name("run-config", study)] = ([], [run_config_dir(study)])
        for name, stage in study_stages(params, study).items():
            deps = [*stage.inputs, stage.key]
            if stage.kind == "report":  # dvc.yaml names the folders (no checkpoints)
                deps = [
                    f"results/{study}/metrics",
                    f"results/{study}/history",
                    PUBLISHED,
                    stage.key,
                ]
            records = dict.fromkeys([stage.record, stage.committed_record])  # a split's two
            stages[name] = (deps, [*stage.outputs, *records])
    for analysis in load_all(params):
        outs = verdict_files.outputs(analysis)
        deps = verdict_files.inputs(analysis)  # its file first
        stages[judge_name(analysis.name)] = (deps, [*outs, outs[0] + PROV])
    return stages


def _dvc() -> str:
    local = Path(sys.executable).parent / "dvc"
    found = str(local) if local.exists() else shutil.which("dvc")
    if not found:
        raise UserError("dvc is not installed; run 'bash scripts/setup.sh' to set up the venv")
    return found


LOCK = Path("dvc.lock")
STOPS = (signal.SIGINT, signal.SIGTERM)


def _newest_mtime(path: Path) -> float:
    """A file's modification time; for a folder, the newest of its own and its files'."""
    if not path.is_dir():
        return path.stat().st_mtime
    return max([path.stat().st_mtime, *(p.stat().st_mtime for p in path.rglob("*"))])


def _needs_commit(deps: list[str], outs: list[str], since: float | None) -> bool:
    """Dependencies and outputs all exist and (unless ``since`` is None) an output was written
    after ``since``."""
    if not all(Path(p).exists() for p in [*deps, *outs]):
        return False
    return since is None or any(_newest_mtime(Path(o)) > since for o in outs)


def _groups(stages: dict[str, Files]) -> dict[str, list[str]]:
    """DVC target -> the stages it names: a matrix group's name (``train-confirm``) for its
    members; report and run-config stages stand alone (their group spans the studies)."""
    groups: dict[str, list[str]] = {}
    for name in stages:
        alone = name.startswith(("report@", "run-config@"))
        groups.setdefault(name if alone else name.split("@")[0], []).append(name)
    return groups


def commit_targets(
    stages: dict[str, Files],
    since: float | None = None,
    also: frozenset[str] = frozenset(),
    settled: Callable[[str], bool] = lambda name: False,
) -> tuple[list[str], list[str]]:
    """The stages to commit, and the fewest targets naming them.

    A stage qualifies when its file dependencies and outputs all exist and, with ``since``, an
    output is newer than that time (dvc.lock's), so that a re-run records only what it wrote.
    The stages in ``also`` qualify whatever their age. A matrix group's name stands for its
    stages when each of them qualifies or is ``settled`` (current and complete, so committing
    it again records what dvc.lock should hold anyway; asked only of a group's other members):
    DVC rewrites the whole dvc.lock once per target, so one group target instead of a hundred
    stage targets saves minutes.
    """
    chosen = {n for n, (deps, outs) in stages.items() if _needs_commit(deps, outs, since)}
    chosen |= also
    targets: list[str] = []
    for group, members in _groups(stages).items():
        picked = [m for m in members if m in chosen]
        if picked and all(m in chosen or settled(m) for m in members):
            targets.append(group)
        else:
            targets += picked
    return [n for n in stages if n in chosen], targets


def _stages(count: int) -> str:
    return f"{count} stage" + ("" if count == 1 else "s")


@dataclass
class CommitResult:
    """What ``dvc commit`` recorded, and what it left out and why."""

    committed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    def line(self, dry_run: bool = False) -> str:
        verb = "would record" if dry_run else "recorded"
        text = f"dvc: {verb} {_stages(len(self.committed))} in dvc.lock"
        if self.skipped:
            reasons: dict[str, int] = {}
            for why in self.skipped.values():
                reasons[why] = reasons.get(why, 0) + 1
            text += "; skipped " + "; ".join(f"{n} ({why})" for why, n in reasons.items())
        if self.dropped:
            text += f"; dropped {_stages(len(self.dropped))} dvc.yaml no longer defines"
        return text


def _recorded() -> set[str]:
    """The stage names dvc.lock holds."""
    if not LOCK.exists():
        return set()
    from dvc.utils.serialize import load_yaml

    return set((load_yaml(LOCK) or {}).get("stages", {}))


def current_rule(params: Params) -> Callable[[str, Files], bool]:
    """Whether a stage (name, its files) is complete, its dependencies and outputs all there,
    and current by the content rule; run-config and verdicts stages, which the rule does not
    judge, never are."""
    fresh = Freshness(params)
    known = {name for study in params.studies for name in fresh.stages(study)}

    def current(name: str, files: Files) -> bool:
        return name in known and _needs_commit(*files, None) and fresh.verdict(name).current

    return current


def unrecorded_current(
    current: Callable[[str, Files], bool], stages: dict[str, Files], recorded: set[str]
) -> frozenset[str]:
    """Complete stages dvc.lock has never recorded whose outputs the content rule finds current:
    what a Snakemake run stopped before its closing bookkeeping (a kill, a session's end) made,
    however long ago."""
    return frozenset(
        name for name, files in stages.items() if name not in recorded and current(name, files)
    )


def prune_lock(stages: dict[str, Files], dry_run: bool = False) -> list[str]:
    """Remove from dvc.lock the stages that params.yaml no longer makes (a study, method or seed
    taken out): DVC keeps them forever, and every `dvc status` parses them."""
    if not LOCK.exists():
        return []
    from dvc.utils.serialize import load_yaml, modify_yaml

    stale = [n for n in (load_yaml(LOCK) or {}).get("stages", {}) if n not in stages]
    if stale and not dry_run:
        with modify_yaml(LOCK) as data:
            for name in stale:
                del data["stages"][name]
    return stale


def commit_stages(targets: list[str]) -> dict[str, str]:
    """``dvc commit -f`` of each target, writing dvc.lock once; the targets DVC refused, each
    with its error (empty when all were recorded).

    DVC's own command rewrites the whole dvc.lock once per target (about 10 s each with this
    project's lock), so the stages are saved through DVC's Python API and dumped together, as
    ``Repo.commit`` does for the stages of one target; where that API has moved, the command.
    Another DVC process's lock on the repository (a second copy's bookkeeping) is waited out,
    as ``dvc --wait-for-lock`` does, instead of refusing every target.
    """
    try:
        from dvc.exceptions import DvcException
        from dvc.repo import Repo, lock_repo
    except ImportError:
        return cli_commit(targets)
    dvc_log = logging.getLogger("dvc")
    level = dvc_log.level
    dvc_log.setLevel(logging.WARNING)  # its command's progress lines ("Updating lock file")
    try:
        with Repo(_wait_for_lock=True) as repo, lock_repo(repo), repo.scm_context(quiet=True):
            return _save_and_dump(repo, targets, DvcException)
    except DvcException as exc:  # the repository, not a stage
        return dict.fromkeys(targets, f"ERROR: {exc}")
    except (AttributeError, TypeError):  # DVC's internals changed: its command still works
        return cli_commit(targets)
    finally:
        dvc_log.setLevel(level)


def _save_and_dump(repo, targets: list[str], refusal: type[Exception]) -> dict[str, str]:
    """What ``Repo.commit(target, force=True)`` does per target, with one dump per DVC file of
    the stages of every target DVC accepted; the refused targets, with DVC's error."""
    refused: dict[str, str] = {}
    by_file: dict[str, tuple[object, list]] = {}
    for target in targets:
        saved = []
        try:
            for info in repo.stage.collect_granular(target):
                info.stage.save()
                info.stage.commit(filter_info=info.filter_info, relink=True)
                saved.append(info.stage)
        except refusal as exc:
            refused[target] = f"ERROR: {exc}"
            continue
        for stage in saved:
            by_file.setdefault(stage.dvcfile.path, (stage.dvcfile, []))[1].append(stage)
    with _stops_held():
        for dvcfile, stages in by_file.values():
            dvcfile.dump_stages(stages, update_pipeline=False)
    return refused


@contextmanager
def _stops_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (Ctrl-C, a session's end, a kill) until the block is done: DVC
    rewrites dvc.lock in place, so a stop mid-write would leave it cut short or empty. A stop
    that came meanwhile is raised again at the end, with the handlers from before."""
    if threading.current_thread() is not threading.main_thread():  # handlers live there
        yield
        return
    held: list[int] = []
    before = {s: signal.signal(s, lambda n, _: held.append(n)) for s in STOPS}
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)  # None: C's
        if held:
            signal.raise_signal(held[0])


def cli_commit(targets: list[str]) -> dict[str, str]:
    """``dvc --wait-for-lock commit -f TARGETS`` through DVC's command; the refused targets
    (each tried alone once the whole command failed), with DVC's last error."""
    if _cli_commit(targets) is None:
        return {}
    return {t: error for t in targets if (error := _cli_commit([t])) is not None}


def _cli_commit(targets: list[str]) -> str | None:
    """One ``dvc commit`` command; None on success, else its last error line."""
    command = [_dvc(), "--wait-for-lock", "commit", "-f", *targets]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors or lines or [f"exit status {proc.returncode}"])[-1]


def commit_completed(
    params: dict,
    dry_run: bool = False,
    everything: bool = False,
    written_since: float | None = None,
) -> CommitResult:
    """Record in dvc.lock the stages whose inputs and outputs all exist and whose outputs changed
    since dvc.lock was last written, and since ``written_since`` (a run's start) where given
    (every complete stage with ``everything``), and the complete, current stages dvc.lock has
    never recorded.

    Never raises for DVC's sake: a group DVC refuses is retried stage by stage (in one more
    write of dvc.lock), and a stage it still refuses is reported as skipped with DVC's reason.
    """
    result = CommitResult()
    since = None if everything or not LOCK.exists() else LOCK.stat().st_mtime
    if not everything and written_since is not None:
        since = written_since if since is None else max(since, written_since)
    stages = stage_files(params)
    result.dropped = prune_lock(stages, dry_run)
    current = current_rule(params)
    also = frozenset() if since is None else unrecorded_current(current, stages, _recorded())
    names, targets = commit_targets(stages, since, also, lambda m: current(m, stages[m]))
    if dry_run or not targets:
        result.committed = names
        return result
    refused = commit_stages(targets)
    again = [n for n in names if n in refused or n.split("@")[0] in refused]  # a group's too
    refused = commit_stages(again) if again else {}  # stage by stage, dvc.lock written once
    result.committed = [n for n in names if n not in refused]
    result.skipped = {n: f"dvc refused: {error}" for n, error in refused.items()}
    return result
