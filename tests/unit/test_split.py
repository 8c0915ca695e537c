"""`procrustean split`: deterministic bytes, counts equal to class_counts, checks on use."""

import json

import pytest

from procrustean.data.profiles import class_counts
from procrustean.data.split import read_split
from procrustean.errors import UserError
from tests.helpers import REPO, require_fashion_mnist, run_cli

PARAMS = str(REPO / "params.yaml")


def split(tmp_path, dataset, profile, ratio, name, study="quick"):
    out, summary = tmp_path / f"{name}.json", tmp_path / f"{name}.summary.json"
    run_cli(
        "--params",
        PARAMS,
        "split",
        "--study",
        study,
        "--dataset",
        dataset,
        "--profile",
        profile,
        "--ratio",
        str(ratio),
        "--out",
        str(out),
        "--summary",
        str(summary),
        cwd=tmp_path,
        check=True,
    )
    return out, summary


@pytest.mark.heavy
@pytest.mark.parametrize("profile", ["exp", "step"])
def test_fashion_mnist_split_twice_identical(tmp_path, profile):
    require_fashion_mnist()
    a, sa = split(tmp_path, "fashion_mnist", profile, 100, "a")
    b, sb = split(tmp_path, "fashion_mnist", profile, 100, "b")
    assert a.read_bytes() == b.read_bytes() and sa.read_bytes() == sb.read_bytes()
    record = json.loads(a.read_text())
    expected = class_counts(10, 6000, profile, 100)
    assert record["class_counts"] == expected
    assert len(record["indices"]) == sum(expected) == record["num_train"]
    assert len(record["source_files"]) == 4
    prov = json.loads((tmp_path / "a.json.prov.json").read_text())
    assert prov["stage"] == "split" and set(prov["outputs"]) == {str(a), str(sa)}


def test_split_of_another_dataset_is_refused(tmp_path):
    path, _ = split(tmp_path, "synthetic", "step", 10, "syn", study="smoke")
    with pytest.raises(UserError, match="made from dataset 'synthetic', not 'fashion_mnist'"):
        read_split(path, "fashion_mnist")


@pytest.mark.parametrize("ratio", ["0.5", "abc", "-3"])
def test_cli_bad_ratio(tmp_path, ratio):
    proc = run_cli(
        "--params",
        PARAMS,
        "split",
        "--study",
        "smoke",
        "--dataset",
        "synthetic",
        "--profile",
        "exp",
        "--ratio",
        ratio,
        "--out",
        "o.json",
        "--summary",
        "s.json",
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "--ratio" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.heavy
def test_class_order_moves_the_counts_and_is_written_only_when_set(tmp_path, params):
    """A split with a class order assigns the profile's counts to the classes in that order and
    says so; one without the key keeps the bytes it always had (no class_order written)."""
    from tests.helpers import write_params

    params["datasets"]["synthetic"]["class_order"] = list(range(9, -1, -1))
    write_params(tmp_path, params)
    ordered = tmp_path / "ordered.json"
    run_cli(
        "split", "--study", "smoke", "--dataset", "synthetic", "--profile", "step", "--ratio", "10",
        "--out", str(ordered), "--summary", str(tmp_path / "o.summary.json"),
        cwd=tmp_path, check=True,
    )  # fmt: skip
    plain, _ = split(tmp_path, "synthetic", "step", 10, "plain", study="smoke")
    made, label_order = read_split(ordered), read_split(plain)
    assert made["class_order"] == list(range(9, -1, -1)) and "class_order" not in label_order
    assert made["class_counts"] == label_order["class_counts"][::-1]
    summary = json.loads((tmp_path / "o.summary.json").read_text())
    assert summary["class_order"] == list(range(9, -1, -1))


def test_a_class_order_that_misses_a_class_is_refused(tmp_path, params):
    from tests.helpers import write_params

    params["datasets"]["synthetic"]["class_order"] = list(range(9))
    write_params(tmp_path, params)
    proc = run_cli("validate", cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        "datasets.synthetic.class_order: [0, 1, 2, 3, 4, 5, 6, 7, 8] is not an order of the 10"
        in (proc.stderr)
    )
