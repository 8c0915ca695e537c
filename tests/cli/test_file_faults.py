"""File faults: a full disk or a read-only folder during a write leaves the previous state and
one clear line; a DVC cache file changed on disk is caught by the audit."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from procrustean.ui import cli
from tests.helpers import IN_CI, split_args, train_args, write_params
from tests.helpers.clones import fresh_clone, run, smoke_dvc_targets


@contextlib.contextmanager
def tmpfs(path: Path, size_kb: int, read_only: bool = False) -> Iterator[Path]:
    """A small real file system at ``path`` (root only; CI runs as root)."""
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size_kb}k" + (",ro" if read_only else "")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True
    )
    if proc.returncode != 0:
        if IN_CI:
            pytest.fail(f"cannot mount a tmpfs in CI: {proc.stderr.decode()}")
        pytest.skip("needs root to mount a small tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _cli(*args: str) -> tuple[int, list[str]]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(list(args))
    return code, err.getvalue().strip().splitlines()


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _train(out: Path, seed: int) -> tuple[int, list[str]]:
    args = train_args("ce", str(seed), str(out / "model.pt"), str(out / "history.json"))
    return _cli(*args, "--tensorboard", "tb")


@pytest.fixture
def smoke_folder(tmp_path, monkeypatch, params) -> Path:
    params["recipes"]["smoke"]["epochs"] = 1
    write_params(tmp_path, params)
    monkeypatch.chdir(tmp_path)
    assert _cli(*split_args())[0] == 0
    return tmp_path


def test_full_disk_during_a_checkpoint_write_keeps_the_previous_run(smoke_folder):
    with tmpfs(smoke_folder / "disk", 2048) as disk:
        assert _train(disk, seed=0)[0] == 0
        before = _digests(disk)
        free = os.statvfs(disk)
        filler = free.f_bavail * free.f_frsize - 64 * 1024  # leave 64 KB: less than a checkpoint
        (disk / "filler").write_bytes(b"\0" * filler)
        code, err = _train(disk, seed=1)
        print("\n".join(err))
        assert code == 2 and len(err) == 1
        assert "cannot write it (ENOSPC" in err[0] and "free disk space" in err[0]
        after = _digests(disk)
        after.pop("filler")
        assert after == before  # the previous model, history and provenance, byte for byte
        assert not [p for p in disk.iterdir() if p.name.endswith(".tmp")]


def test_full_disk_during_a_split_write_keeps_the_previous_split(smoke_folder):
    with tmpfs(smoke_folder / "disk", 256) as disk:
        out, summary = str(disk / "s.json"), str(disk / "m.json")
        assert _cli(*split_args("step", "10", out, summary))[0] == 0
        before = _digests(disk)
        free = os.statvfs(disk)
        (disk / "filler").write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 4096))
        code, err = _cli(*split_args("exp", "10", out, summary))
        print("\n".join(err))
        assert code == 2 and len(err) == 1 and "ENOSPC" in err[0]
        after = _digests(disk)
        after.pop("filler")
        assert after == before


def test_read_only_output_folder_is_one_clear_line(smoke_folder):
    with tmpfs(smoke_folder / "ro", 64, read_only=True) as ro:
        code, err = _cli(*split_args(out=str(ro / "s.json"), summary=str(ro / "m.json")))
        print("\n".join(err))
        assert code == 2 and len(err) == 1
        assert f"{ro}/s.json: cannot write it (EROFS" in err[0]
        assert "write to a writable file system" in err[0]


@pytest.mark.slow
def test_a_dvc_cache_file_changed_on_disk_is_caught_by_the_audit(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    run(["dvc", "repro", *smoke_dvc_targets()], repo)
    model = repo / "runs/smoke/synthetic-exp-r10/ce/seed0/model.pt"
    digest = hashlib.md5(model.read_bytes()).hexdigest()
    cached = repo / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
    assert cached.is_file() and os.path.samefile(cached, model)  # hardlinked into the workspace
    os.chmod(cached, 0o644)
    data = bytearray(cached.read_bytes())
    data[len(data) // 3] ^= 0x01
    cached.write_bytes(bytes(data))
    proc = run(["procrustean", "audit", "results/smoke/tables/accuracy.md"], repo, check=False)
    assert proc.returncode == 1
    assert "runs/smoke/synthetic-exp-r10/ce/seed0/model.pt differs" in proc.stderr.splitlines()[-1]
