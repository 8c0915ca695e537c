"""Shared fixtures: the repository's params (to read, or a copy to edit) and a folder with the
smoke study's step split. Helpers the tests call are in tests/helpers."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, smoke_split, write_params


@pytest.fixture(scope="session")
def repo_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.fixture
def params(repo_params: dict) -> dict:
    """A deep copy of the repository's params, to edit."""
    return copy.deepcopy(repo_params)


@pytest.fixture
def workdir(tmp_path: Path, params: dict, monkeypatch) -> Path:
    """A folder with params.yaml (smoke study, 2 epochs) and the smoke step split."""
    params["recipes"]["smoke"]["epochs"] = 2
    params["recipes"]["smoke"]["drw_epoch"] = 1
    write_params(tmp_path, params)
    monkeypatch.chdir(tmp_path)
    smoke_split("step", 10, "split.json", "split.summary.json")
    return tmp_path
