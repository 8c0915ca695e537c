"""CIFAR-LT as the field builds it: LDAM-DRW's subsets, the real torchvision loader end to end on
tiny archives in CIFAR's on-disk format, groups that are never empty, published numbers."""

from __future__ import annotations

import copy
import hashlib
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision
import yaml

from procrustean.data.imbalance import select_indices_ldam
from procrustean.data.profiles import class_counts, class_groups
from procrustean.ui import cli
from tests.helpers import REPO, write_params


def ldam_drw_reference(targets: list[int], cls_num: int, imb_type: str, imb_factor: float):
    """LDAM-DRW's IMBALANCECIFAR10 (imbalance_cifar.py), written out again from its description:
    np.random.seed(rand_number=0) once; counts from get_img_num_per_cls; then, for each class
    in np.unique order, np.where(targets == class) shuffled in place, the first n kept."""
    np.random.seed(0)
    img_max = len(targets) / cls_num
    if imb_type == "exp":
        counts = [int(img_max * (imb_factor ** (i / (cls_num - 1.0)))) for i in range(cls_num)]
    else:
        counts = [int(img_max)] * (cls_num // 2) + [int(img_max * imb_factor)] * (cls_num // 2)
    targets_np = np.array(targets, dtype=np.int64)
    kept = []
    for the_class, the_img_num in zip(np.unique(targets_np), counts, strict=True):
        idx = np.where(targets_np == the_class)[0]
        np.random.shuffle(idx)
        kept.append(idx[:the_img_num])
    return counts, kept


def torchvision_like_labels(classes: int, per_class: int, seed: int) -> list[int]:
    """Labels in a fixed shuffled order, as CIFAR's batches hold them."""
    return (
        np.random.RandomState(seed).permutation(np.repeat(np.arange(classes), per_class)).tolist()
    )


@pytest.mark.parametrize(
    ("classes", "per_class", "profile", "ratio"),
    [
        (10, 5000, "exp", 100),
        (10, 5000, "step", 10),
        (100, 500, "exp", 100),
        (100, 500, "step", 10),
    ],
)
def test_ldam_selection_equals_ldam_drw(classes, per_class, profile, ratio):
    targets = torchvision_like_labels(classes, per_class, seed=classes)
    counts, theirs = ldam_drw_reference(targets, classes, profile, 1 / ratio)
    assert counts == class_counts(classes, per_class, profile, ratio)
    ours = select_indices_ldam(torch.tensor(targets), counts, seed=0)
    assert ours.tolist() == sorted(int(i) for k in theirs for i in k)
    if (classes, profile, ratio) == (10, "exp", 100):
        print(f"CIFAR-10 exp r100, class 9 (ldam, first ten kept): {theirs[9][:10].tolist()}")


def test_groups_are_never_empty_on_cifar_shapes():
    for classes, per_class in ((10, 5000), (100, 500)):
        for ratio in (10, 50, 100, 200):
            groups = class_groups(class_counts(classes, per_class, "exp", ratio), "exp")
            assert all(groups.values()), (classes, ratio, groups)
            assert sorted(c for cs in groups.values() for c in cs) == list(range(classes))
    cifar100 = class_groups(class_counts(100, 500, "exp", 100), "exp")  # the field's rule
    counts = class_counts(100, 500, "exp", 100)
    assert all(counts[c] > 100 for c in cifar100["many"])
    assert all(counts[c] < 20 for c in cifar100["few"])
    cifar10 = class_groups(class_counts(10, 5000, "exp", 10), "exp")  # terciles
    assert cifar10 == {"many": [0, 1, 2], "medium": [3, 4, 5, 6], "few": [7, 8, 9]}


# -- the real loader on tiny archives --------------------------------------------------------


def _dump(path: Path, obj: dict) -> str:
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return hashlib.md5(path.read_bytes()).hexdigest()


def _images(labels: list[int], rng: np.random.RandomState) -> np.ndarray:
    """Class-dependent colour plus noise, flattened as CIFAR stores them (N x 3072 uint8)."""
    base = (np.array(labels)[:, None] * 23 % 256).astype(np.int64)
    noise = rng.randint(0, 64, size=(len(labels), 3072))
    return ((base + noise) % 256).astype(np.uint8)


def write_cifar10(root: Path, per_class: int, test_per_class: int) -> dict:
    """data_batch_1..5, test_batch and batches.meta in cifar-10-batches-py/; returns md5s."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.RandomState(10)
    labels = torchvision_like_labels(10, per_class, seed=1)
    md5 = {}
    for b, chunk in enumerate(np.array_split(np.array(labels), 5), start=1):
        chunk = chunk.tolist()
        md5[f"data_batch_{b}"] = _dump(
            folder / f"data_batch_{b}", {"data": _images(chunk, rng), "labels": chunk}
        )
    test = torchvision_like_labels(10, test_per_class, seed=2)
    md5["test_batch"] = _dump(folder / "test_batch", {"data": _images(test, rng), "labels": test})
    names = [f"class{i}" for i in range(10)]
    md5["batches.meta"] = _dump(folder / "batches.meta", {"label_names": names})
    return md5


def write_cifar100(root: Path, per_class: int, test_per_class: int) -> dict:
    """train, test and meta in cifar-100-python/ (fine and coarse labels); returns md5s."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.RandomState(100)
    md5 = {}
    for name, n, seed in (("train", per_class, 3), ("test", test_per_class, 4)):
        fine = torchvision_like_labels(100, n, seed=seed)
        md5[name] = _dump(
            folder / name,
            {
                "data": _images(fine, rng),
                "fine_labels": fine,
                "coarse_labels": [f // 5 for f in fine],
            },
        )
    names = {"fine_label_names": [f"f{i}" for i in range(100)], "coarse_label_names": []}
    md5["meta"] = _dump(folder / "meta", names)
    return md5


def accept_fixture_checksums(monkeypatch, cls, md5: dict) -> None:
    """torchvision verifies each archive file's md5 against the real CIFAR's: for this test
    process only, its lists name the fixture's md5s instead (users' runs keep the real ones)."""
    monkeypatch.setattr(cls, "train_list", [[f, md5[f]] for f, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[f, md5[f]] for f, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5[cls.meta["filename"]]})


@pytest.fixture
def cifar_workdir(tmp_path, monkeypatch, repo_params) -> Path:
    """A folder with both fixtures and params whose paper study runs on them in seconds."""
    raw = tmp_path / "raw"
    accept_fixture_checksums(
        monkeypatch, torchvision.datasets.CIFAR10, write_cifar10(raw / "c10", 60, 10)
    )
    accept_fixture_checksums(
        monkeypatch, torchvision.datasets.CIFAR100, write_cifar100(raw / "c100", 12, 2)
    )
    params = copy.deepcopy(repo_params)
    params["datasets"]["cifar10"].update(max_per_class=60, root=str(raw / "c10"))
    params["datasets"]["cifar100"].update(max_per_class=12, root=str(raw / "c100"))
    params["recipes"]["paper"].update(
        model="resnet8",
        epochs=1,
        batch_size=32,
        warmup_epochs=0,
        lr_decays=[],
        drw_epoch=0,
        diagnostic_per_class=5,
        tensorboard=False,
        channels_last=False,
    )
    params["studies"]["paper"].update(
        datasets=["cifar10", "cifar100"],
        profiles=["exp"],
        ratios=[10],
        methods=["ce", "ldam_drw"],
        seeds=[0],
    )
    work = tmp_path / "work"
    (work / "workflow/reference").mkdir(parents=True)
    shutil.copy(REPO / "workflow/reference/published.yaml", work / "workflow/reference/")
    write_params(work, params)
    monkeypatch.chdir(work)
    monkeypatch.setenv("PROCRUSTEAN_OFFLINE", "1")
    return work


@pytest.mark.heavy
def test_cifar_pipeline_on_fixture_archives(cifar_workdir):
    """split -> train -> evaluate -> report of the paper study, through torchvision's loader."""
    from procrustean.config import load_params, study_runs, study_settings
    from procrustean.paths import history_path, metrics_path, model_path, split_path

    params = load_params("params.yaml")
    assert params.dataset("cifar10").selection == "ldam"  # the default for CIFAR
    for s in study_settings(params, "paper"):
        out = split_path("paper", s)
        assert (
            cli.main(
                [
                    "split",
                    "--study",
                    "paper",
                    "--dataset",
                    s.dataset,
                    "--profile",
                    s.profile,
                    "--ratio",
                    str(s.ratio),
                    "--out",
                    out,
                    "--summary",
                    f"results/paper/splits/{s.name}.json",
                ]
            )
            == 0
        )
    for r in study_runs(params, "paper"):
        split = split_path("paper", r.setting)
        assert (
            cli.main(
                [
                    "train",
                    "--study",
                    "paper",
                    "--dataset",
                    r.setting.dataset,
                    "--method",
                    r.method,
                    "--seed",
                    "0",
                    "--split",
                    split,
                    "--checkpoint",
                    model_path("paper", r),
                    "--history",
                    history_path("paper", r),
                    "--device",
                    "cpu",
                    "--threads",
                    "1",
                ]
            )
            == 0
        )
        assert (
            cli.main(
                [
                    "evaluate",
                    "--dataset",
                    r.setting.dataset,
                    "--split",
                    split,
                    "--checkpoint",
                    model_path("paper", r),
                    "--out",
                    metrics_path("paper", r),
                    "--device",
                    "cpu",
                ]
            )
            == 0
        )
    assert cli.main(["report", "--study", "paper"]) == 0
    written = sorted(str(p) for p in Path(".").rglob("*") if p.is_file() and "raw" not in p.parts)
    print(f"fixture pipeline wrote {len(written)} files:\n" + "\n".join(written))
    split10 = yaml.safe_load(
        Path(split_path("paper", study_settings(params, "paper")[0])).read_text()
    )
    assert split10["class_counts"] == class_counts(10, 60, "exp", 10)
    assert split10["source_files"].keys() >= {"data_batch_1", "test_batch", "batches.meta"}
    groups = Path("results/paper/tables/groups.md").read_text()
    print(groups)
    assert "terciles" in groups and " - " not in groups.split("\n", 3)[-1].replace("---", "")
    reference = Path("results/paper/tables/reference.md").read_text()
    print(reference)
    assert "86.39 (ERM, best test epoch)" in reference  # 100 - 13.61, CIFAR-10-LT ratio 10
    assert "58.71 (LDAM-DRW, best test epoch)" in reference  # 100 - 41.29, CIFAR-100-LT ratio 10
    csv = pd.read_csv("results/paper/tables/reference.csv")
    assert set(csv.method) == {"ce", "ldam_drw"} and len(csv) == 3


def test_corrupt_fixture_archive_is_refused_with_one_line(cifar_workdir, capsys):
    """The real checksum check stays: a changed byte in an archive fails clearly."""
    root = yaml.safe_load(Path("params.yaml").read_text())["datasets"]["cifar10"]["root"]
    batch = Path(root) / "cifar-10-batches-py" / "data_batch_1"
    data = bytearray(batch.read_bytes())
    data[100] ^= 0xFF
    batch.write_bytes(bytes(data))
    code = cli.main(
        [
            "split",
            "--study",
            "paper",
            "--dataset",
            "cifar10",
            "--profile",
            "exp",
            "--ratio",
            "10",
            "--out",
            "s.json",
            "--summary",
            "s.sum.json",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "are corrupt" in err[0]
    assert not Path("s.json").exists()
