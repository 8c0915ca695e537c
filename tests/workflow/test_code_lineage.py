"""Stage code accepted as equivalent: the lineage's chains, the content rule and DVC's key files
reading it, and what ``procrustean accept-code`` refuses before it re-derives anything."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from procrustean.checks import accept_code as accept
from procrustean.checks import freshness
from procrustean.checks.code_lineage import Lineage, load_lineage
from procrustean.checks.freshness import Freshness, Stage, stage_key
from procrustean.config import load_params
from procrustean.errors import UserError
from tests.helpers import REPO

OLD, MID, NEW = {"a.py": "1"}, {"a.py": "2"}, {"a.py": "3", "b.py": "1"}


def _entry(eid: str, kind: str, before: dict, after: dict) -> dict:
    return {"id": eid, "stages": {kind: {"from": before, "to": after}}}


def test_a_chain_of_accepted_changes_leads_back_to_the_oldest_code():
    lineage = Lineage((_entry("e1", "train", OLD, MID), _entry("e2", "train", MID, NEW)))
    assert lineage.root("train", NEW) == OLD and lineage.root("train", OLD) == OLD
    assert lineage.accepted("train", OLD, NEW) == "e2, e1"
    assert lineage.accepted("train", MID, MID) == ""  # equal code needs no entry
    assert lineage.accepted("evaluate", OLD, NEW) is None  # accepted for train only
    assert lineage.accepted("train", {"a.py": "9"}, NEW) is None


def test_a_cycle_of_entries_ends():
    lineage = Lineage((_entry("e1", "train", OLD, MID), _entry("e2", "train", MID, OLD)))
    assert lineage.root("train", OLD) == lineage.root("train", MID)
    assert lineage.accepted("train", OLD, MID) is not None


def test_a_damaged_lineage_file_is_one_line(tmp_path):
    path = tmp_path / "code_lineage.json"
    path.write_text(json.dumps({"accepted": [{"id": "x"}]}))
    with pytest.raises(UserError, match=r"accepted\[0\]: an entry lacks 'id' or 'stages'"):
        load_lineage(path)
    path.write_text("{")
    with pytest.raises(UserError, match="is not valid JSON.*git checkout"):
        load_lineage(path)
    assert load_lineage(tmp_path / "absent.json") == Lineage()


@pytest.fixture
def quick_with_new_code(monkeypatch):
    """The committed quick study's records, judged as if this tree's stage code were NEW."""
    monkeypatch.chdir(REPO)
    fake = {kind: {"src/fake.py": kind} for kind in ("split", "train", "evaluate", "report")}
    monkeypatch.setattr(freshness, "stage_code_hashes", lambda kind: fake[kind])
    monkeypatch.setattr(accept, "stage_code_hashes", lambda kind: fake[kind])
    return load_params("params.yaml"), fake


def test_an_accepted_change_makes_the_old_records_current(quick_with_new_code):
    params, fake = quick_with_new_code
    changes, records = accept.proposed_changes(params, "quick", Lineage())
    assert set(changes) == {"split", "train", "evaluate", "report"}
    assert all(c["to"] == fake[kind] for kind, c in changes.items())
    assert len(records) == 10  # quick: 1 split, 4 runs, 4 evaluations, 1 report
    judged = Freshness(params, allow_missing=True, lineage=Lineage()).study("quick")
    assert all("code" in v.categories() for v in judged)
    entry = {"id": "e1", "stages": changes}
    judged = Freshness(params, allow_missing=True, lineage=Lineage((entry,))).study("quick")
    assert all(v.current and v.via == "e1" for v in judged)
    # accepted for the split and training only: the evaluations and the report stay stale
    part = {"id": "e2", "stages": {k: changes[k] for k in ("split", "train")}}
    fresh = Freshness(params, allow_missing=True, lineage=Lineage((part,)))
    stale = {v.stage.kind for v in fresh.study("quick") if not v.current}
    assert stale == {"evaluate", "report"}


def test_nothing_to_accept_once_accepted(quick_with_new_code):
    params, _ = quick_with_new_code
    changes, _ = accept.proposed_changes(params, "quick", Lineage())
    with pytest.raises(UserError, match="name this tree's stage code already; nothing to accept"):
        accept.proposed_changes(params, "quick", Lineage(({"id": "e1", "stages": changes},)))


def test_dvc_key_files_name_the_root_of_the_lineage(tmp_path, monkeypatch):
    """After an accepted change a stage's key file keeps its bytes, so dvc.lock stays current."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(freshness, "stage_code_hashes", lambda kind: NEW)
    stage = Stage("train", "s", "train-s@x", (), ("h.json",), "key", {"p": 1})
    assert stage_key(stage)["code"] == NEW
    Path("results").mkdir()
    Path("results/code_lineage.json").write_text(
        json.dumps({"accepted": [_entry("e1", "train", OLD, NEW)]})
    )
    assert stage_key(stage) == {"params": {"p": 1}, "code": OLD}


def test_a_rederived_output_that_differs_is_named(tmp_path):
    stage = Stage("train", "s", "train-s@x", (), ("h.json", "m.pt"), "key", {})
    old = {"outputs": {"h.json": "aa", "m.pt": "bb"}, "code_files": OLD}
    (tmp_path / "h.json.prov.json").write_text(
        json.dumps({"outputs": {"h.json": "aa", "m.pt": "cc"}, "code_files": NEW})
    )
    changes = {"train": {"from": OLD, "to": NEW}}
    compared, differ = accept.compare_records(tmp_path, {"x": (stage, old)}, changes)
    assert (compared, differ) == (2, ["m.pt"])
    changes = {"train": {"from": OLD, "to": MID}}
    assert accept.compare_records(tmp_path, {"x": (stage, old)}, changes)[1][0].endswith(
        "(the clone ran other code)"
    )


def test_accept_code_refuses_an_uncommitted_change(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    Path("params.yaml").write_text("x: 1\n")
    with pytest.raises(UserError, match="params.yaml differs from HEAD; commit the code change"):
        accept.require_committed()


def test_a_rederivation_imports_the_clones_own_code(tmp_path):
    """verify and accept-code run the code of the commit they cloned, not the checkout the venv
    was installed from (an editable install points there)."""
    from procrustean.checks.verify import tool_env

    clone = tmp_path / "repo"
    (clone / "src" / "procrustean").mkdir(parents=True)
    (clone / "src" / "procrustean" / "__init__.py").write_text("WHERE = 'clone'\n")
    proc = subprocess.run(
        ["python", "-c", "import procrustean; print(procrustean.__file__)"],
        env=tool_env(clone),
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == str(clone / "src" / "procrustean" / "__init__.py")
