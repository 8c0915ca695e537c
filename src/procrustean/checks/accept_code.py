"""``procrustean accept-code``: accept a committed change of stage code as equivalent, after a
study re-derives byte for byte under it.

The study's committed records name the code before the change; this tree has the code after
it. The study is re-derived from the raw data in a scratch clone of HEAD (strictly: splits,
training, evaluation, report), and every output of every stage must have the sha256 its
committed record holds (splits and checkpoints included). Only then is the change appended to
``results/code_lineage.json`` (procrustean.checks.code_lineage), with the evidence; otherwise
nothing is written. The evidence covers what the study exercises; the entry names the study.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from procrustean.checks.code_lineage import LINEAGE_FILE, Code, Lineage, code_id, load_lineage
from procrustean.checks.freshness import Freshness, Stage
from procrustean.checks.verify import rederive, scratch_clone
from procrustean.config import load_params
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.fileio import read_json, write_json
from procrustean.provenance import software, stage_code_hashes

LOG = "logs/accept-code-snakemake.log"  # Snakemake's output, inside the scratch clone
TREE = ("src", "params.yaml", "workflow", "Snakefile", LINEAGE_FILE.as_posix())


def _head() -> str:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise UserError("accept-code needs a git checkout of procrustean (git rev-parse failed)")
    return proc.stdout.strip()


def require_committed() -> None:
    """The scratch clone is HEAD: refuse when the code or params here differ from it."""
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--", *TREE], capture_output=True, text=True
    )
    dirty = [line[3:] for line in proc.stdout.splitlines()]
    if proc.returncode != 0 or dirty:
        raise UserError(
            f"{dirty[0] if dirty else 'the tree'} differs from HEAD; commit the code change "
            "first (accept-code re-derives the study from a clone of HEAD)"
        )


def _records(fresh: Freshness, study: str) -> dict[str, tuple[Stage, dict]]:
    out = {}
    for name, stage in fresh.stages(study).items():
        record = fresh.record_of(stage)
        if record is None:
            raise UserError(
                f"{stage.committed_record}: no provenance record; the study must have been "
                f"made before its code changed (snakemake --cores all {study})"
            )
        out[name] = (stage, record)
    return out


def proposed_changes(
    params: Params, study: str, lineage: Lineage
) -> tuple[dict[str, dict[str, Code]], dict[str, tuple[Stage, dict]]]:
    """Per kind of stage whose recorded code differs from this tree's: {'from', 'to'}; and
    the study's stages with their committed records."""
    records = _records(Freshness(params, allow_missing=True, lineage=lineage), study)
    roots: dict[str, dict[str, Code]] = {}
    for stage, record in records.values():
        root = lineage.root(stage.kind, record.get("code_files") or {})
        roots.setdefault(stage.kind, {})[code_id(root)] = root
    changes = {}
    for kind, found in roots.items():
        if len(found) > 1:
            raise UserError(
                f"{study}'s {kind} records were made by {len(found)} versions of the code; "
                f"re-derive the study first (snakemake --cores all {study}), then accept"
            )
        (old,) = found.values()
        new = stage_code_hashes(kind)
        if old != lineage.root(kind, new):
            changes[kind] = {"from": old, "to": new}
    if not changes:
        raise UserError(f"{study}'s records name this tree's stage code already; nothing to accept")
    return changes, records


def _still_stale(params: Params, study: str, lineage: Lineage) -> None:
    """Refuse when accepting the code would leave a stage out of date for another reason."""
    for verdict in Freshness(params, allow_missing=True, lineage=lineage).study(study):
        if not verdict.current:
            raise UserError(
                f"{verdict.stage.outputs[0]} would still be out of date ({verdict.text()}); "
                "accept-code accepts a change of code only: bring the study up to date first"
            )


def compare_records(
    clone: Path, records: dict[str, tuple[Stage, dict]], changes: dict[str, dict[str, Code]]
) -> tuple[int, list[str]]:
    """Outputs compared, and those whose re-derived sha256 differs from the committed record's
    (or whose re-derivation ran other code than this tree's)."""
    compared, differ = 0, []
    for stage, old in records.values():
        try:
            new = read_json(clone / stage.record)
        except (OSError, ValueError):
            differ.append(f"{stage.record} (not re-derived)")
            continue
        expected_code = changes.get(stage.kind, {}).get("to")
        if expected_code is not None and new.get("code_files") != expected_code:
            differ.append(f"{stage.record} (the clone ran other code)")
        for out, sha in sorted(old.get("outputs", {}).items()):
            compared += 1
            if new.get("outputs", {}).get(out) != sha:
                differ.append(out)
    return compared, differ


def _changed_files(change: dict[str, Code]) -> list[str]:
    old, new = change["from"], change["to"]
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def accept_code(
    study: str,
    why: str,
    params_path: str = "params.yaml",
    cores: str = "all",
    plan: bool = False,
    keep: bool = False,
) -> list[str]:
    """Re-derive ``study`` in a scratch clone of HEAD and, when every output has its recorded
    bytes, append the change of code to the lineage file. Returns the lines to print."""
    if not why.strip():
        raise UserError("--why is empty; say what the change does and why it keeps the bytes")
    params = load_params(params_path)
    params.study(study)
    lineage = load_lineage()
    changes, records = proposed_changes(params, study, lineage)
    entry: dict[str, Any] = {
        "id": f"{dt.date.today().isoformat()}-{code_id(changes)[:8]}",
        "why": why.strip(),
        "stages": changes,
        "files_changed": {kind: _changed_files(c) for kind, c in changes.items()},
    }
    _still_stale(params, study, lineage.plus(entry))
    lines = [
        f"accept-code {study}: {kind} code changed in {', '.join(files)}"
        for kind, files in entry["files_changed"].items()
    ]
    if plan:
        return [
            *lines,
            f"accept-code {study}: plan only; {len(records)} stages would be re-derived",
        ]
    require_committed()
    root = Path(tempfile.mkdtemp(prefix=f"procrustean-accept-{study}-"))
    failed = True
    try:
        clone = scratch_clone(".", root / "repo")
        shutil.rmtree(clone / "results" / study, ignore_errors=True)
        print(f"accept-code {study}: re-deriving {len(records)} stages in {clone}", file=sys.stderr)
        started = time.monotonic()
        rederive(clone, [study], cores, log=clone / LOG, label=f"accept-code {study}")
        seconds = time.monotonic() - started
        compared, differ = compare_records(clone, records, changes)
        if differ:
            raise UserError(
                f"{len(differ)} of {compared} outputs differ from their committed records "
                f"({', '.join(differ[:3])}); the change is not equivalent, nothing accepted "
                f"(scratch clone kept: {root})"
            )
        failed = False
    finally:
        if not failed and not keep:
            shutil.rmtree(root, ignore_errors=True)
    soft = software()
    entry.update(
        accepted=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        commit=_head(),
        evidence={
            "study": study,
            "stages": len(records),
            "outputs_compared": compared,
            "outputs_identical": compared,
            "rederive_seconds": round(seconds),
            "platform": soft["platform"],
            "cpu_mode": soft["cpu_mode"],
        },
    )
    doc = read_json(LINEAGE_FILE) if LINEAGE_FILE.is_file() else {}
    doc.setdefault(
        "about",
        "Stage code accepted as equivalent (procrustean accept-code): each entry re-derived "
        "its study byte for byte under the new code; see docs/reproducibility.md",
    )
    doc.setdefault("accepted", []).append(entry)
    write_json(LINEAGE_FILE, doc)
    return [
        *lines,
        f"accept-code {study}: {compared} outputs of {len(records)} stages re-derived "
        f"byte-identical in {seconds:.0f} s; accepted as {entry['id']} in {LINEAGE_FILE} "
        f"(commit it: git add {LINEAGE_FILE})",
    ]
