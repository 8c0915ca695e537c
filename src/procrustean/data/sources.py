"""Dataset sources behind one interface: uint8 NCHW images and int64 labels for train and test."""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from procrustean.entries import Dataset
from procrustean.errors import UserError
from procrustean.fileio import sha256_file

RAW_ROOT = Path("data/raw")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_TIMEOUT_S = 3.0
OFFLINE_ENV = "PROCRUSTEAN_OFFLINE"  # set to 1 to never try a download (clusters, tests)

FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
CIFAR_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
CIFAR_ARCHIVES = {"cifar10": "cifar-10-python.tar.gz", "cifar100": "cifar-100-python.tar.gz"}
CIFAR_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"


@dataclass
class RawData:
    """A dataset's original train and test sets, plus the checksums of the files read."""

    train_images: torch.Tensor  # uint8 [N, C, H, W]
    train_labels: torch.Tensor  # int64 [N]
    test_images: torch.Tensor
    test_labels: torch.Tensor
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256

    @property
    def num_classes(self) -> int:
        return int(self.train_labels.max()) + 1


def load_source(cfg: Dataset) -> RawData:
    """Load the raw data a dataset entry describes."""
    name, source = cfg.name, cfg.source
    if source not in SOURCES:  # the schema rules this out; kept for direct API use
        raise UserError(f"datasets.{name}.source: unknown source '{source}'")
    data = SOURCES[source](cfg)
    if data.num_classes != cfg.num_classes:
        raise UserError(
            f"datasets.{name}.num_classes is {cfg.num_classes} but the {source} data has "
            f"{data.num_classes} classes; set num_classes: {data.num_classes}"
        )
    return data


def _root(cfg: Dataset) -> Path | None:
    return Path(cfg.root) if cfg.root else None


def synthetic(cfg: Dataset) -> RawData:
    """Class-conditional smooth patterns plus nuisance texture and noise; deterministic from the seed.

    Each class has a low-frequency prototype; a sample is its class prototype at a random
    amplitude and shift, over a random nuisance pattern, plus pixel noise, so a small network
    learns it well but not instantly.
    """
    classes, size = cfg.num_classes, cfg.image_size
    channels, seed = cfg.channels, cfg.seed
    n_train, n_test = cfg.max_per_class, cfg.test_per_class
    gen = torch.Generator().manual_seed(10_007 + seed)

    def smooth(n: int) -> torch.Tensor:
        coarse = torch.randn(n, channels, 4, 4, generator=gen)
        return torch.nn.functional.interpolate(
            coarse, size=(size, size), mode="bicubic", align_corners=False
        )

    prototypes = smooth(classes)

    def draw(per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(classes).repeat_interleave(per_class)
        amp = 0.6 + 0.8 * torch.rand(len(labels), 1, 1, 1, generator=gen)
        shift = torch.randint(-2, 3, (len(labels), 2), generator=gen)
        base = prototypes[labels] * amp
        base = torch.stack(
            [
                torch.roll(b, tuple(s.tolist()), dims=(1, 2))
                for b, s in zip(base, shift, strict=True)
            ]
        )
        x = base + 0.9 * smooth(len(labels)) + 0.35 * torch.randn(base.shape, generator=gen)
        images = (128 + 48 * x).round().clamp(0, 255).to(torch.uint8)
        return images, labels

    train_x, train_y = draw(n_train)
    test_x, test_y = draw(n_test)
    return RawData(train_x, train_y, test_x, test_y, files={})


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    (magic,) = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise UserError(
            f"{path}: truncated IDX file ({data.size} of {int(np.prod(dims))} values); "
            "re-install dataset-fashion-mnist or replace the file"
        )
    return data.reshape(dims)


def _fashion_mnist_folder(root: Path | None) -> Path | None:
    candidates = [root] if root else [DEBIAN_FASHION_MNIST, RAW_ROOT / "fashion_mnist"]
    for folder in candidates:
        if all((folder / f).is_file() for f in FASHION_MNIST_FILES):
            return folder
    return None


def fashion_mnist(root: Path | None = None) -> RawData:
    """Fashion-MNIST from its four IDX .gz files, checksums verified; torchvision download if absent."""
    folder = _fashion_mnist_folder(root)
    if folder is None:
        folder = root or RAW_ROOT / "fashion_mnist"
        _download_fashion_mnist(folder)
    files = {}
    for name, expected in FASHION_MNIST_FILES.items():
        path = folder / name
        digest = sha256_file(path)
        if digest != expected:
            raise UserError(
                f"{path}: sha256 {digest[:12]}... differs from the original file's {expected[:12]}...; "
                "the file is corrupt or truncated: re-install dataset-fashion-mnist "
                f"(apt-get install --reinstall dataset-fashion-mnist) or replace it"
            )
        files[str(path)] = digest

    def images(name: str) -> torch.Tensor:
        return torch.from_numpy(_read_idx(folder / name).copy()).unsqueeze(1)

    def labels(name: str) -> torch.Tensor:
        return torch.from_numpy(_read_idx(folder / name).astype(np.int64))

    return RawData(
        images("train-images-idx3-ubyte.gz"),
        labels("train-labels-idx1-ubyte.gz"),
        images("t10k-images-idx3-ubyte.gz"),
        labels("t10k-labels-idx1-ubyte.gz"),
        files,
    )


def _download_fashion_mnist(folder: Path) -> None:
    import torchvision

    tmp = folder.parent / ".download"
    try:
        with _socket_timeout():
            torchvision.datasets.FashionMNIST(str(tmp), train=True, download=True)
            torchvision.datasets.FashionMNIST(str(tmp), train=False, download=True)
    except Exception as exc:  # noqa: BLE001 - any download failure means the same to the user
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(
            f"fashion_mnist: the IDX files are not in {DEBIAN_FASHION_MNIST} or {folder} and the "
            f"download failed ({exc.__class__.__name__}); install them with "
            "'apt-get install dataset-fashion-mnist' or place the four .gz files in "
            f"{folder}/"
        ) from exc
    folder.mkdir(parents=True, exist_ok=True)
    for name in FASHION_MNIST_FILES:
        (tmp / "FashionMNIST" / "raw" / name).replace(folder / name)


class _socket_timeout:
    """Short network timeouts for downloads; refuse at once when PROCRUSTEAN_OFFLINE is set."""

    def __enter__(self) -> None:
        if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
            raise OSError(f"downloads disabled by {OFFLINE_ENV}")
        self.old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)

    def __exit__(self, *exc: object) -> None:
        socket.setdefaulttimeout(self.old)


def _first_missing(folder: Path) -> Path | None:
    """The outermost folder of ``folder``'s chain that does not exist yet (to clean up after)."""
    missing = None
    for parent in [folder, *folder.parents]:
        if parent.exists():
            break
        missing = parent
    return missing


def cifar(source: str, root: Path | None = None) -> RawData:
    """CIFAR-10/100 through torchvision: local files if present, else a download when online."""
    import torchvision

    folder = root or RAW_ROOT / source
    cls = torchvision.datasets.CIFAR10 if source == "cifar10" else torchvision.datasets.CIFAR100
    present = (folder / CIFAR_FOLDERS[source]).is_dir()
    created = _first_missing(folder)
    try:
        if present:
            train, test = cls(str(folder), train=True), cls(str(folder), train=False)
        else:
            with _socket_timeout():
                train = cls(str(folder), train=True, download=True)
                test = cls(str(folder), train=False, download=True)
    except Exception as exc:  # noqa: BLE001
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        what = "are corrupt" if present else "are missing and could not be downloaded"
        raise UserError(
            f"{source}: the files under {folder}/{CIFAR_FOLDERS[source]} {what} "
            f"({exc.__class__.__name__}); download {CIFAR_ARCHIVES[source]} from {CIFAR_PAGE} and "
            f"extract it into {folder}/ (or run once where the machine is online)"
        ) from exc
    batches = folder / CIFAR_FOLDERS[source]
    files = {str(p): sha256_file(p) for p in sorted(batches.iterdir()) if p.is_file()}

    def tensor(ds: object) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # type: ignore[attr-defined]
        y = torch.tensor(ds.targets, dtype=torch.int64)  # type: ignore[attr-defined]
        return x, y

    return RawData(*tensor(train), *tensor(test), files)


# Source name -> loader of a dataset entry (defaults filled).
SOURCES: dict[str, Callable[[Dataset], RawData]] = {
    "synthetic": synthetic,
    "fashion_mnist": lambda cfg: fashion_mnist(_root(cfg)),
    "cifar10": lambda cfg: cifar("cifar10", _root(cfg)),
    "cifar100": lambda cfg: cifar("cifar100", _root(cfg)),
}
