"""Dataset sources: synthetic determinism, Fashion-MNIST checksums, CIFAR offline failure."""

import gzip
import shutil
import socket
import time

import pytest
import torch

from procrustean.config import resolve_entry
from procrustean.data.sources import FASHION_MNIST_FILES, cifar, fashion_mnist, synthetic
from procrustean.errors import UserError
from tests.helpers import require_fashion_mnist

SYN = {
    "source": "synthetic",
    "num_classes": 4,
    "max_per_class": 30,
    "test_per_class": 10,
    "image_size": 12,
    "channels": 1,
    "seed": 5,
}


def test_synthetic_shapes_and_determinism():
    a, b = (
        synthetic(resolve_entry("dataset", SYN, "synthetic")),
        synthetic(resolve_entry("dataset", SYN, "synthetic")),
    )
    assert a.train_images.shape == (120, 1, 12, 12) and a.train_images.dtype == torch.uint8
    assert a.test_images.shape == (40, 1, 12, 12)
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.test_labels, b.test_labels)
    c = synthetic(resolve_entry("dataset", {**SYN, "seed": 6}, "synthetic"))
    assert not torch.equal(a.train_images, c.train_images)


def test_synthetic_is_class_conditional_not_noise():
    data = synthetic(resolve_entry("dataset", {**SYN, "max_per_class": 200}, "synthetic"))
    x = data.train_images.float().flatten(1)
    means = torch.stack([x[data.train_labels == c].mean(0) for c in range(4)])
    nearest = torch.cdist(x, means).argmin(1)
    # a nearest-class-mean classifier is far above chance (25%): the classes carry signal
    assert (nearest == data.train_labels).float().mean() > 0.6


def test_fashion_mnist_loads_with_checksums():
    require_fashion_mnist()
    data = fashion_mnist()
    assert data.train_images.shape == (60000, 1, 28, 28)
    assert data.test_images.shape == (10000, 1, 28, 28)
    assert torch.bincount(data.train_labels).tolist() == [6000] * 10
    assert sorted(FASHION_MNIST_FILES.values()) == sorted(data.files.values())


def test_fashion_mnist_corrupt_file_is_refused(tmp_path):
    require_fashion_mnist()
    from procrustean.data.sources import _fashion_mnist_folder

    src = _fashion_mnist_folder(None)
    for name in FASHION_MNIST_FILES:
        shutil.copy(src / name, tmp_path / name)
    raw = gzip.decompress((tmp_path / "train-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(
        UserError, match="train-labels-idx1-ubyte.gz: sha256 .* corrupt or truncated"
    ):
        fashion_mnist(tmp_path)


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_cifar_offline_fails_fast_and_clearly(tmp_path, offline):
    start = time.monotonic()
    with pytest.raises(UserError) as info:
        cifar("cifar10", tmp_path / "raw" / "cifar10")
    assert time.monotonic() - start < 5
    msg = str(info.value)
    assert "cifar-10-python.tar.gz" in msg and "extract it into" in msg
    assert not (tmp_path / "raw").exists()
