"""Bad input: one clear line (what, where, how to fix), a non-zero exit, nothing written.

Every case here is listed in the README's "Bad input" table (checked below).
"""

from __future__ import annotations

import copy
import gzip
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers import (
    require_fashion_mnist,
    run_cli,
    smoke_split,
    split_args,
    train_args,
    write_params,
)

SPLIT = split_args(out="out/split.json", summary="out/summary.json")[1:]
TRAIN = train_args(checkpoint="out/model.pt", history="out/history.json")[1:]


@dataclass
class Case:
    name: str
    args: list[str]
    expect: str
    edit: Callable[[dict], None] | None = None
    prepare: Callable[[Path], None] | None = None
    needs_fashion_mnist: bool = False


def _set(path: str, value) -> Callable[[dict], None]:
    def edit(params: dict) -> None:
        *parents, last = path.split(".")
        node = params
        for key in parents:
            node = node[key]
        if value is _DROP:
            del node[last]
        else:
            node[last] = value

    return edit


_DROP = object()


def _truncated_fashion_mnist(folder: Path) -> None:
    from procrustean.data.sources import FASHION_MNIST_FILES, _fashion_mnist_folder

    src, dest = _fashion_mnist_folder(None), folder / "fmnist"
    dest.mkdir()
    for name in FASHION_MNIST_FILES:
        shutil.copy(src / name, dest / name)
    raw = (dest / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["datasets"]["fashion_mnist"]["root"] = str(dest)
    write_params(folder, params)


def _garbage_checkpoint(folder: Path) -> None:
    (folder / "garbage.pt").write_bytes(b"not a checkpoint at all")


CASES = [
    Case(
        "ratio below 1 in params",
        ["split", *SPLIT],
        "studies.smoke.ratios[0]",
        _set("studies.smoke.ratios", [0]),
    ),
    Case(
        "ratio not a number (CLI)",
        ["split", *SPLIT[:7], "ten", *SPLIT[8:]],
        "--ratio: 'ten' is not a number",
    ),
    Case(
        "ratio not a number in params",
        ["split", *SPLIT],
        "studies.smoke.ratios[0]",
        _set("studies.smoke.ratios", ["ten"]),
    ),
    Case(
        "unknown dataset",
        ["split", *SPLIT[:2], "--dataset", "mnist", *SPLIT[4:]],
        "unknown dataset 'mnist'",
    ),
    Case(
        "unknown method",
        ["train", *TRAIN[:4], "--method", "nope", *TRAIN[6:]],
        "unknown method 'nope'",
    ),
    Case(
        "unknown profile",
        ["split", *SPLIT[:4], "--profile", "zipf", *SPLIT[6:]],
        "unknown imbalance profile 'zipf'",
    ),
    Case("unknown study", ["split", "--study", "nope", *SPLIT[2:]], "unknown study 'nope'"),
    Case(
        "study names an unknown method",
        ["split", *SPLIT],
        "studies.smoke.methods[2]: unknown method 'nope'",
        lambda p: p["studies"]["smoke"]["methods"].append("nope"),
    ),
    Case(
        "recipe missing a key",
        ["train", *TRAIN],
        "recipes.smoke: 'lr' is a required property",
        _set("recipes.smoke.lr", _DROP),
    ),
    Case(
        "zero epochs",
        ["train", *TRAIN],
        "recipes.smoke.epochs: 0 is less than the minimum of 1",
        _set("recipes.smoke.epochs", 0),
    ),
    Case(
        "batch larger than the split",
        ["train", *TRAIN],
        "recipes.smoke.batch_size: 100000 is larger than the 812 training images",
        _set("recipes.smoke.batch_size", 100000),
    ),
    Case(
        "minor fraction outside (0, 1)",
        ["split", *SPLIT],
        "studies.smoke.minor_fraction",
        _set("studies.smoke.minor_fraction", 1.5),
    ),
    Case(
        "truncated dataset file",
        ["split", *SPLIT[:2], "--dataset", "fashion_mnist", *SPLIT[4:]],
        "t10k-labels-idx1-ubyte.gz: sha256",
        prepare=_truncated_fashion_mnist,
        needs_fashion_mnist=True,
    ),
    Case(
        "missing dataset offline",
        ["split", *SPLIT[:2], "--dataset", "cifar10", *SPLIT[4:]],
        "cifar-10-python.tar.gz",
    ),
    Case(
        "split made from another dataset",
        ["train", *TRAIN[:2], "--dataset", "fashion_mnist", *TRAIN[4:]],
        "split was made from dataset 'synthetic', not 'fashion_mnist'",
    ),
    Case(
        "checkpoint made on another split",
        [
            "evaluate",
            "--dataset",
            "synthetic",
            "--split",
            "other.json",
            "--checkpoint",
            "model.pt",
            "--out",
            "out/m.json",
        ],
        "made on a split with sha256",
    ),
    Case(
        "corrupt checkpoint",
        [
            "evaluate",
            "--dataset",
            "synthetic",
            "--split",
            "split.json",
            "--checkpoint",
            "garbage.pt",
            "--out",
            "out/m.json",
        ],
        "garbage.pt: refused to load",
        prepare=_garbage_checkpoint,
    ),
    Case(
        "missing split file",
        ["train", *TRAIN[:8], "--split", "nowhere.json", *TRAIN[10:]],
        "nowhere.json: split file not found",
    ),
    Case(
        "non-finite loss (lr 1e6)",
        ["train", *TRAIN],
        "non-finite training loss",
        _set("recipes.smoke.lr", 1.0e6),
    ),
    Case(
        "params file not valid YAML",
        ["split", *SPLIT],
        "params.yaml: line 3 is not valid YAML",
        prepare=lambda d: (d / "params.yaml").write_text("datasets:\n  a: [\n"),
    ),
    # cross-field rules (each value passes the schema; the combination cannot run)
    Case(
        "ratio leaves a class with no image",
        ["split", *SPLIT],
        "studies.smoke.ratios: ratio 1000 with the step profile leaves a class of dataset synthetic",
        _set("studies.smoke.ratios", [1000]),
    ),
    Case(
        "minor fraction makes no minor class",
        ["split", *SPLIT],
        "studies.smoke.minor_fraction: 0.01 of 10 classes makes 0 minor classes",
        _set("studies.smoke.minor_fraction", 0.01),
    ),
    Case(
        "deferred re-weighting never starts",
        ["train", *TRAIN],
        "recipes.smoke.drw_epoch: study smoke runs deferred re-weighting, which starts at epoch 5 of 1",
        lambda p: (
            p["studies"]["smoke"]["methods"].append("drw"),
            p["recipes"]["smoke"].__setitem__("drw_epoch", 5),
        ),
    ),
    Case(
        "crop padding as large as the image",
        ["split", *SPLIT],
        "datasets.synthetic.crop_padding: 16 pixels of padding on 16-pixel images",
        _set("datasets.synthetic.crop_padding", 16),
    ),
    Case(
        "a key that does not apply",
        ["train", *TRAIN],
        "methods.ce.loss: key 'tau' does not apply here (allowed: name)",
        _set("methods.ce.loss", {"name": "ce", "tau": 1.0}),
    ),
    Case(
        "a name that cannot be a path",
        ["split", *SPLIT],
        "methods.a/b: names may use only letters, digits and _",
        lambda p: p["methods"].__setitem__("a/b", p["methods"]["ce"]),
    ),
    Case(
        "duplicated key in params.yaml",
        ["split", *SPLIT],
        "is not valid YAML (duplicate key 'ce')",
        prepare=lambda d: (d / "params.yaml").write_text(
            (d / "params.yaml").read_text().replace("methods:\n", "methods:\n  ce: {}\n", 1)
        ),
    ),
    Case(
        "batch of one image",
        ["train", *TRAIN],
        "recipes.smoke.batch_size: batch norm needs at least 2 images a batch",
        _set("recipes.smoke.batch_size", 1),
    ),
    Case(
        "seed out of range (CLI)",
        ["train", *TRAIN[:6], "--seed", "-1", *TRAIN[8:]],
        "argument --seed: -1 is outside 0..2147483647",
    ),
    Case(
        "zero threads (CLI)",
        ["train", *TRAIN, "--threads", "0"],
        "argument --threads: 0 is outside 1..1024",
    ),
    Case(
        "output path is a folder",
        ["split", *SPLIT[:8], "--out", "out", "--summary", "out/summary.json"],
        "out: cannot write it (EISDIR",
        prepare=lambda d: (d / "out").mkdir(),
    ),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory, repo_params) -> Path:
    """A folder with params.yaml, a split, another split and a trained checkpoint."""
    folder = tmp_path_factory.mktemp("bad-base")
    params = copy.deepcopy(repo_params)
    params["recipes"]["smoke"]["epochs"] = 1
    write_params(folder, params)
    cwd = Path.cwd()
    import os

    os.chdir(folder)
    try:
        smoke_split("step", 10, "split.json", "split.summary.json")
        smoke_split("exp", 10, "other.json", "other.summary.json")
    finally:
        os.chdir(cwd)
    run_cli(
        "train",
        *TRAIN[:10],
        "--checkpoint",
        "model.pt",
        "--history",
        "history.json",
        cwd=folder,
        check=True,
    )
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, base: Path, tmp_path: Path, monkeypatch):
    if case.needs_fashion_mnist:
        require_fashion_mnist()
    work = tmp_path / "w"
    shutil.copytree(base, work)
    if case.edit:
        params = yaml.safe_load((work / "params.yaml").read_text())
        case.edit(params)
        write_params(work, params)
    if case.prepare:
        case.prepare(work)
    before = _snapshot(work)
    monkeypatch.setenv("PROCRUSTEAN_OFFLINE", "1")
    proc = run_cli(*case.args, cwd=work, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # one line: what, where, how to fix
    assert case.expect in lines[0], lines[0]
    assert _snapshot(work) == before  # nothing written, nothing changed


def test_gzip_truncation_is_detected_even_with_matching_size(tmp_path):
    """A file whose checksum is fine but whose IDX payload is short still fails clearly."""
    from procrustean.data.sources import _read_idx
    from procrustean.errors import UserError

    header = (2049).to_bytes(4, "big") + (10).to_bytes(4, "big")
    (tmp_path / "x.gz").write_bytes(gzip.compress(header + bytes(5)))
    with pytest.raises(UserError, match="truncated IDX file"):
        _read_idx(tmp_path / "x.gz")
