"""Keep DVC's lock in step with Snakemake: commit the stages whose outputs Snakemake wrote."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from procrustean.checks.freshness import Freshness, study_stages
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.paths import PROV, PUBLISHED, run_config_dir
from procrustean.report import confirmation


def stage_files(params: Params) -> dict[str, tuple[list[str], list[str]]]:
    """DVC stage name -> (its file dependencies, its outputs), for every study (names as
    dvc.yaml's matrices make them; the stages and paths are procrustean.checks.freshness's)."""
    stages: dict[str, tuple[list[str], list[str]]] = {}
    for study in params.studies:
        stages[f"run-config@{study}"] = ([], [run_config_dir(study)])
        for name, stage in study_stages(params, study).items():
            deps = [*stage.inputs, stage.key]
            if stage.kind == "report":  # dvc.yaml names the folders
                deps = [
                    f"results/{study}/metrics",
                    f"results/{study}/history",
                    f"runs/{study}",
                    PUBLISHED,
                    stage.key,
                ]
            stages[name] = (deps, [*stage.outputs, stage.record])
    if all(s in params.studies for s in confirmation.STUDIES):
        outs = [*confirmation.OUTPUTS, confirmation.OUTPUTS[0] + PROV]
        stages["verdicts"] = (confirmation.input_tables(), outs)
    return stages


def _dvc() -> str:
    local = Path(sys.executable).parent / "dvc"
    found = str(local) if local.exists() else shutil.which("dvc")
    if not found:
        raise UserError("dvc is not installed; run 'bash scripts/setup.sh' to set up the venv")
    return found


LOCK = Path("dvc.lock")


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


def commit_targets(
    stages: dict[str, tuple[list[str], list[str]]],
    since: float | None = None,
    also: frozenset[str] = frozenset(),
) -> tuple[list[str], list[str]]:
    """The stages to commit, and the fewest targets naming them.

    A stage qualifies when its file dependencies and outputs all exist and, with ``since``, an
    output is newer than that time (dvc.lock's): DVC re-reads params.yaml for every params
    dependency, about 0.5 s a stage, so committing only what changed keeps a re-run's
    bookkeeping short. The stages in ``also`` qualify whatever their age. A matrix group's name
    stands for its stages when all of them qualify.
    """
    chosen = {n for n, (deps, outs) in stages.items() if _needs_commit(deps, outs, since)}
    chosen |= also
    groups: dict[str, list[str]] = {}
    for name in stages:
        alone = name.startswith(("report@", "run-config@"))
        groups.setdefault(name if alone else name.split("@")[0], []).append(name)
    targets: list[str] = []
    for group, members in groups.items():
        if all(m in chosen for m in members):
            targets.append(group)
        else:
            targets += [m for m in members if m in chosen]
    return [n for n in stages if n in chosen], targets


@dataclass
class CommitResult:
    """What ``dvc commit`` recorded, and what it left out and why."""

    committed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    def line(self, dry_run: bool = False) -> str:
        verb = "would record" if dry_run else "recorded"
        text = f"dvc: {verb} {len(self.committed)} stages in dvc.lock"
        if self.skipped:
            reasons: dict[str, int] = {}
            for why in self.skipped.values():
                reasons[why] = reasons.get(why, 0) + 1
            text += "; skipped " + "; ".join(f"{n} ({why})" for why, n in reasons.items())
        if self.dropped:
            text += f"; dropped {len(self.dropped)} stages dvc.yaml no longer defines"
        return text


def _recorded() -> set[str]:
    """The stage names dvc.lock holds."""
    if not LOCK.exists():
        return set()
    from dvc.utils.serialize import load_yaml

    return set((load_yaml(LOCK) or {}).get("stages", {}))


def unrecorded_current(
    params: Params, stages: dict[str, tuple[list[str], list[str]]], recorded: set[str]
) -> frozenset[str]:
    """Complete stages dvc.lock has never recorded whose outputs the content rule finds current:
    what a Snakemake run stopped before its closing bookkeeping (a kill, a session's end) made,
    however long ago."""
    fresh = Freshness(params)
    known: set[str] = set()
    for study in params.studies:
        known |= set(fresh.stages(study))
    return frozenset(
        name
        for name, (deps, outs) in stages.items()
        if name not in recorded
        and name in known
        and _needs_commit(deps, outs, None)
        and fresh.verdict(name).current
    )


def prune_lock(stages: dict[str, tuple[list[str], list[str]]], dry_run: bool = False) -> list[str]:
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


def _run_commit(targets: list[str]) -> str | None:
    """``dvc commit -f TARGETS``; None on success, else DVC's last error line."""
    proc = subprocess.run([_dvc(), "commit", "-f", *targets], capture_output=True, text=True)
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

    Never raises for DVC's sake: a group DVC refuses is retried stage by stage, and a stage it
    still refuses is reported as skipped with DVC's reason.
    """
    result = CommitResult()
    since = None if everything or not LOCK.exists() else LOCK.stat().st_mtime
    if not everything and written_since is not None:
        since = written_since if since is None else max(since, written_since)
    stages = stage_files(params)
    result.dropped = prune_lock(stages, dry_run)
    also = frozenset() if since is None else unrecorded_current(params, stages, _recorded())
    names, targets = commit_targets(stages, since, also)
    if dry_run or not targets:
        result.committed = names
        return result
    if _run_commit(targets) is None:
        result.committed = names
        return result
    for name in names:
        error = _run_commit([name])
        if error is None:
            result.committed.append(name)
        else:
            result.skipped[name] = f"dvc refused: {error}"
    return result
