"""Whether an output is up to date: the one content rule that Snakemake, DVC and
``procrustean status`` all apply.

A stage's outputs are current when its provenance record exists and names what this tree would
use now: the same resolved params, the same stage code, input files with the sha256 it
recorded, each made by a stage that is itself current; and the outputs still have the bytes the
record lists. Timestamps and the engines' own metadata play no part, so the answer is the same
after a git clone, a `git archive` tarball, `dvc pull`, `dvc repro`, `dvc exp run`, a checkout
of other params or a `touch`. Code is compared through the accepted changes of
``results/code_lineage.json`` (procrustean.checks.code_lineage): a record made by code that an
entry accepts as equivalent to this tree's, after a study re-derived byte for byte, is current.

Snakemake asks through an input function at DAG time (``snakemake_marker``); DVC through the
key files the run-config stage writes from ``stage_key`` (params and code of each stage, so that
dvc.lock changes exactly when they do); ``procrustean status`` through ``Freshness.study``.

Allow-missing (``Freshness(params, allow_missing=True)``; asked as ``snakemake --config
allow_missing=true``, ``dvc repro --allow-missing`` and ``procrustean status --allow-missing``):
what git records counts as done. A stage whose committed record matches (params, code, the
recorded inputs, the bytes of every output that is present) is current although outputs that
only DVC caches (splits, checkpoints: ``DVC_CACHED``) are absent; an absent input counts as
recorded when its producer is current in this sense and recorded the same bytes. Anything that
is present and differs, any changed param or code, and whatever depends on a stage that must
re-run stay out of date; an absent file is re-made only where a stage that must run reads it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procrustean.analyses import load, load_all
from procrustean.checks.code_lineage import Lineage, load_lineage
from procrustean.config import study_runs, study_settings
from procrustean.design_params import judge_params
from procrustean.entries import Params
from procrustean.fileio import sha256_file, sha256_json
from procrustean.paths import (
    PUBLISHED,
    history_path,
    key_path,
    metrics_path,
    model_path,
    report_outputs,
    split_path,
    split_summary_path,
)
from procrustean.provenance import PROV_SUFFIX, stage_code_hashes
from procrustean.stage_params import evaluate_params, report_params, split_params, train_params
from procrustean.verdict_files import JUDGE, judge_name
from procrustean.verdict_files import inputs as judge_inputs
from procrustean.verdict_files import outputs as judge_outputs

MARKER_DIR = Path(".snakemake/procrustean/stale")
CATEGORIES = ("absent", "output", "params", "input", "code")
# Where the files live that only DVC's cache holds (dvc.yaml's outs without `cache: false`):
# splits, their records and checkpoints. Everything else a stage writes is committed to git.
DVC_CACHED = ("data/", "runs/")


def dvc_cached(path: str) -> bool:
    """Whether ``path`` is a file only DVC's cache holds (git never has it)."""
    return path.startswith(DVC_CACHED)


def stage_name(kind: str, study: str, recipe: str = "", tail: str = "") -> str:
    """The one name of a stage: DVC's (dvc.yaml's matrices), also the key of the content rule,
    of Snakemake's markers and of ``procrustean status``. ``tail`` is the setting
    (``dataset-profile-ratio``), with ``-method-seed`` for a run."""
    if kind in ("report", "run-config"):
        return f"{kind}@{study}"
    prefix = f"{study}-{recipe}" if kind == "train" else study
    return f"{kind}-{study}@{prefix}-{tail}"


def setting_tail(dataset: str, profile: str, ratio: int | str, method: str = "", seed="") -> str:
    """A stage name's tail: the setting, and the run's method and seed where it has them."""
    tail = f"{dataset}-{profile}-{ratio}"
    return f"{tail}-{method}-{seed}" if method else tail


@dataclass(frozen=True)
class Stage:
    """One stage instance: what it reads, what it writes, the params it records."""

    kind: str  # split | train | evaluate | report, or judge (an analysis's)
    study: str
    name: str  # as DVC names it (dvc.yaml's matrices)
    inputs: tuple[str, ...]  # files made by other stages (the split's raw data is in its record)
    outputs: tuple[str, ...]  # outputs[0] anchors the provenance record
    key: str  # its key file for DVC (results/<study>/config/...); "" for a design's stage
    params: dict = field(compare=False, hash=False)

    @property
    def record(self) -> str:
        return self.outputs[0] + PROV_SUFFIX

    @property
    def committed_record(self) -> str:
        """The record as git holds it: the record itself, or for a split (whose record DVC
        caches beside it) the copy the split command writes beside the committed summary."""
        if dvc_cached(self.record) and len(self.outputs) > 1:
            return self.outputs[1] + PROV_SUFFIX
        return self.record


@dataclass
class Verdict:
    """A stage's answer: current when it has no reasons."""

    stage: Stage
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (category, detail)
    absent: list[str] = field(default_factory=list)  # recorded outputs absent here (allowed)
    recorded: bool = True  # a readable provenance record exists (or its committed copy)
    via: str = ""  # the accepted code changes (results/code_lineage.json) it is current through

    @property
    def current(self) -> bool:
        return not self.reasons

    def categories(self) -> list[str]:
        return [c for c in CATEGORIES if any(r[0] == c for r in self.reasons)]

    def text(self) -> str:
        return "; ".join(detail for _, detail in self.reasons)


def study_stages(params: Params, study: str) -> dict[str, Stage]:
    """Every stage of ``study``, by DVC's stage name, in run order."""
    entry = params.study(study)
    recipe = entry.recipe
    stages: dict[str, Stage] = {}
    for s in study_settings(params, study):
        split = split_path(study, s)
        name = stage_name("split", study, tail=setting_tail(s.dataset, s.profile, s.ratio))
        stages[name] = Stage(
            "split",
            study,
            name,
            (),
            (split, split_summary_path(study, s)),
            key_path(study, "split", s.name),
            split_params(params.dataset(s.dataset), entry, s.profile, s.ratio),
        )
    for r in study_runs(params, study):
        s = r.setting
        split, model = split_path(study, s), model_path(study, r)
        tail = setting_tail(s.dataset, s.profile, s.ratio, r.method, r.seed)
        name = stage_name("train", study, recipe, tail)
        stages[name] = Stage(
            "train",
            study,
            name,
            (split,),
            (history_path(study, r), model),
            key_path(study, "train", f"{s.dataset}/{r.method}"),
            train_params(params, study, s.dataset, r.method, r.seed),
        )
        name = stage_name("evaluate", study, tail=tail)
        stages[name] = Stage(
            "evaluate",
            study,
            name,
            (split, model),
            (metrics_path(study, r),),
            key_path(study, "evaluate", s.dataset),
            evaluate_params(params.dataset(s.dataset)),
        )
    # A report reads committed numbers only (metrics and histories); the checkpoints it rests on
    # are named, with their sha256, by the evaluations' records.
    report_inputs = tuple(
        p
        for r in study_runs(params, study)
        for p in (metrics_path(study, r), history_path(study, r))
    )
    stages[stage_name("report", study)] = Stage(
        "report",
        study,
        stage_name("report", study),
        (*report_inputs, PUBLISHED),
        tuple(report_outputs(study)),
        key_path(study, "report", "report"),
        report_params(entry),
    )
    return stages


def design_stages(params: Params) -> dict[str, Stage]:
    """The stages that judge several studies together: one per registered analysis (DVC
    tracks their params and code itself, so they have no key file)."""
    stages: dict[str, Stage] = {}
    for analysis in load_all(params):
        name = judge_name(analysis.name)
        stages[name] = Stage(
            "judge",
            "",
            name,
            tuple(judge_inputs(analysis)),
            tuple(judge_outputs(analysis)),
            "",
            judge_params(params, analysis),
        )
    return stages


def design_studies(params: Params, name: str) -> tuple[str, ...]:
    """The studies whose reports a judge stage (``judge-<analysis>``) reads."""
    return load(name.removeprefix(JUDGE.format(name="")), params).finished


def design_joins(params: Params, name: str) -> tuple[str, ...]:
    """The judge stages whose verdicts a judge stage's grid reads."""
    analysis = load(name.removeprefix(JUDGE.format(name="")), params)
    return tuple(judge_name(a) for a in analysis.grid_with)


def stage_key(stage: Stage) -> dict[str, Any]:
    """What DVC tracks for a stage beside its files: the params it records and its code (the
    root of its accepted lineage, so an accepted change of code leaves the key file as it was)."""
    return {
        "params": stage.params,
        "code": load_lineage().root(stage.kind, stage_code_hashes(stage.kind)),
    }


def _differences(recorded: Any, expected: Any, where: str = "") -> list[str]:
    """Dotted paths where two params documents differ, with both values."""
    if isinstance(recorded, dict) and isinstance(expected, dict):
        out = []
        for k in sorted(set(recorded) | set(expected), key=str):
            here = f"{where}.{k}" if where else str(k)
            if k not in recorded:
                out.append(f"{here} (new: {json.dumps(expected[k])[:40]})")
            elif k not in expected:
                out.append(f"{here} (gone)")
            else:
                out += _differences(recorded[k], expected[k], here)
        return out
    if recorded != expected:
        return [f"{where or 'params'} ({json.dumps(recorded)[:40]} -> {json.dumps(expected)[:40]})"]
    return []


class Freshness:
    """The content rule over one params set, with file hashes and verdicts memoised (one
    instance per question: files are assumed not to change while it is asked)."""

    def __init__(
        self, params: Params, allow_missing: bool = False, lineage: Lineage | None = None
    ) -> None:
        self.params = params
        self.allow_missing = allow_missing
        self.lineage = lineage if lineage is not None else load_lineage()
        self._stages: dict[str, Stage] = {}
        self._producer: dict[str, str] = {}
        self._by_study: dict[str, dict[str, Stage]] = {}
        self._verdicts: dict[str, Verdict] = {}
        self._hashes: dict[str, str | None] = {}
        self._consumers: dict[str, list[str]] = {}
        self._runs: dict[str, bool] = {}
        self._code: dict[str, dict[str, str]] = {}
        self._designs: dict[str, Stage] | None = None

    def stages(self, study: str) -> dict[str, Stage]:
        """The study's stages (computed once; the same mapping on every call)."""
        if study not in self._by_study:
            listed = study_stages(self.params, study)
            for name, stage in listed.items():
                self._stages[name] = stage
                for out in stage.outputs:
                    self._producer[out] = name
                for path in stage.inputs:
                    self._consumers.setdefault(path, []).append(name)
            self._by_study[study] = listed
        return self._by_study[study]

    def design(self, name: str) -> Stage | None:
        """An analysis's judge stage (``judge-<analysis>``; None where no such file is
        registered), listed with the stages of the studies it reads (and the judge stages
        whose verdicts its grid reads)."""
        if name not in self._stages:
            if self._designs is None:
                self._designs = design_stages(self.params)
            listed = self._designs
            if name not in listed:
                return None
            for study in design_studies(self.params, name):
                self.stages(study)
            for other in design_joins(self.params, name):
                self.design(other)
            stage = listed[name]
            self._stages[name] = stage
            for out in stage.outputs:
                self._producer[out] = name
            for path in stage.inputs:
                self._consumers.setdefault(path, []).append(name)
        return self._stages[name]

    def input_current(self, path: str) -> bool:
        """Whether the stage that makes ``path`` is current (True for a file no listed stage
        makes)."""
        producer = self._producer.get(path)
        return producer is None or self.verdict(producer).current

    def _hash(self, path: str) -> str | None:
        if path not in self._hashes:
            self._hashes[path] = sha256_file(path) if Path(path).is_file() else None
        return self._hashes[path]

    def verdict(self, name: str) -> Verdict:
        """The rule for one stage (its study's stages must have been listed)."""
        if name not in self._verdicts:
            self._verdicts[name] = self._judge(self._stages[name])
        return self._verdicts[name]

    def made_current(self, path: str, study: str) -> bool:
        """Whether ``path``'s producing stage is current (True for files no stage of the study
        makes, such as the published numbers)."""
        self.stages(study)
        producer = self._producer.get(path)
        return producer is None or self.verdict(producer).current

    def study(self, study: str) -> list[Verdict]:
        """Every stage of the study, judged."""
        return [self.verdict(n) for n in self.stages(study)]

    def producer(self, path: str) -> str | None:
        """The name of the stage that writes ``path`` (None: no stage of a listed study)."""
        return self._producer.get(path)

    def needed(self, name: str) -> bool:
        """Under allow-missing: whether a current stage must still run because a stage that
        runs reads one of its absent outputs (absent files are re-made only where needed)."""
        verdict = self.verdict(name)
        return verdict.current and any(
            self.runs(consumer)
            for out in verdict.absent
            for consumer in self._consumers.get(out, ())
        )

    def runs(self, name: str) -> bool:
        """Whether the engines run the stage: out of date, or needed by one that runs."""
        if name not in self._runs:
            self._runs[name] = not self.verdict(name).current or self.needed(name)
        return self._runs[name]

    def _code_hashes(self, kind: str) -> dict[str, str]:
        """The kind's stage code as this tree has it (hashed once per kind)."""
        if kind not in self._code:
            self._code[kind] = stage_code_hashes(kind)
        return self._code[kind]

    def _record(self, stage: Stage) -> tuple[dict | None, str]:
        """The stage's record, from its own place or (allow-missing) git's copy."""
        places = [stage.record]
        if self.allow_missing and stage.committed_record != stage.record:
            places.append(stage.committed_record)
        for place in places:
            try:
                return json.loads(Path(place).read_text()), place
            except (OSError, ValueError):
                continue
        return None, stage.record

    def record_of(self, stage: Stage) -> dict | None:
        """The stage's provenance record as this mode reads it (None: none readable)."""
        return self._record(stage)[0]

    def _judge(self, stage: Stage) -> Verdict:
        verdict = Verdict(stage)
        say = verdict.reasons.append
        missing = [o for o in stage.outputs if self._hash(o) is None]
        record, _ = self._record(stage)
        verdict.recorded = record is not None
        allowed = (
            self.allow_missing
            and record is not None
            and all(dvc_cached(o) and o in record.get("outputs", {}) for o in missing)
        )
        if missing and allowed:
            verdict.absent = missing
        elif missing:
            what = "absent" if missing[0] == stage.outputs[0] else f"{missing[0]} absent"
            say(("absent", what))
        if record is None:
            if not missing:
                say(("absent", f"no readable provenance record {stage.record}"))
            return verdict
        for out in stage.outputs:
            if out not in missing and record.get("outputs", {}).get(out) != self._hash(out):
                say(("output", f"{out} differs from its record"))
                break
        if record.get("params_sha256") != sha256_json(stage.params):
            changed = _differences(record.get("params"), stage.params)
            say(("params", "params changed: " + ", ".join(changed[:3] or ["(digest)"])))
        self._judge_inputs(stage, record.get("inputs", {}), say)
        recorded_code = record.get("code_files") or {}
        current_code = self._code_hashes(stage.kind)
        via = self.lineage.accepted(stage.kind, recorded_code, current_code)
        if via:
            verdict.via = via
        elif via is None:
            changed = sorted(
                k
                for k in set(recorded_code) | set(current_code)
                if recorded_code.get(k) != current_code.get(k)
            )
            say(("code", "code changed: " + ", ".join(changed[:3]) + _more(changed, 3)))
        return verdict

    def _judge_inputs(self, stage: Stage, recorded: dict[str, str], say) -> None:
        expected = set(stage.inputs) if stage.kind != "split" else set(recorded)
        if set(recorded) != expected:
            say(("input", "the set of inputs changed"))
        problems = []
        for path in sorted(expected & set(recorded)):
            now = self._hash(path)
            if now is None and self._recorded_elsewhere(path, recorded[path]):
                continue
            if now is None:
                problems.append(f"{path} absent")
            elif now != recorded[path]:
                problems.append(f"{path} differs from what it was made from")
            elif path in self._producer and not self.verdict(self._producer[path]).current:
                problems.append(f"{path} is itself out of date")
        if problems:
            say(("input", problems[0] + _more(problems, 1).replace("more", "more inputs")))

    def _recorded_elsewhere(self, path: str, sha: str) -> bool:
        """Allow-missing: an absent DVC-cached input whose producer is current (allowing
        absence) and whose record gives it the bytes this stage read."""
        producer = self._producer.get(path)
        if not (self.allow_missing and dvc_cached(path) and producer):
            return False
        made = self.verdict(producer)
        if not made.current:
            return False
        record, _ = self._record(made.stage)
        return (record or {}).get("outputs", {}).get(path) == sha


def _more(items: list, shown: int) -> str:
    return f" and {len(items) - shown} more" if len(items) > shown else ""


def snakemake_marker(fresh: Freshness, name: str) -> list[str]:
    """Snakemake's view of the rule: [] when the stage is current (its real inputs are marked
    ancient, so timestamps decide nothing), else a marker file newer than every output, so that
    Snakemake re-runs the job (and, through it, whatever depends on it)."""
    verdict = fresh.verdict(name)
    if verdict.current:
        return []
    # One folder per marker: Snakemake lists a folder once while it builds the graph and takes
    # files written there later as absent.
    marker = MARKER_DIR / name.replace("@", "/") / "out-of-date"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{verdict.text()}\n{time.time_ns()}\n")
    newest = max(
        [time.time(), *(Path(o).stat().st_mtime for o in verdict.stage.outputs if Path(o).exists())]
    )
    os.utime(marker, (newest + 1, newest + 1))
    return [marker.as_posix()]
