"""Atomic writes, canonical JSON and hashing: every stage writes through here."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from procrustean.errors import UserError

_groups: list[list[tuple[Path, Path]]] = []  # open atomic_group()s: (temporary, target) pairs


def _cannot_write(target: Path, exc: OSError) -> UserError:
    what = errno.errorcode.get(exc.errno or 0, "OSError")
    fix = {
        errno.ENOSPC: "free disk space",
        errno.EDQUOT: "free disk space (quota)",
        errno.EACCES: "make the folder writable",
        errno.EPERM: "make the folder writable",
        errno.EROFS: "write to a writable file system",
        errno.EISDIR: "give a file path, not a folder",
    }.get(exc.errno or 0, "check the path")
    return UserError(
        f"{target}: cannot write it ({what}: {exc.strerror or exc}); {fix} and re-run "
        "(nothing was replaced)"
    )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Inside ``atomic_group()`` the rename waits for the group to end. A failed write (full disk,
    read-only folder) leaves ``path`` as it was and becomes a UserError naming it.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    keep = False
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if _groups:
            _groups[-1].append((Path(tmp), target))
            keep = True
        else:
            os.replace(tmp, target)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    finally:
        if not keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


@contextlib.contextmanager
def atomic_group() -> Iterator[None]:
    """Writes through ``atomic_path`` inside land together at the end, or not at all: a stage's
    outputs are never half-written (one of them new, another missing or old)."""
    _groups.append([])
    pending = _groups[-1]
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    finally:
        _groups.pop()
    for i, (tmp, target) in enumerate(pending):
        try:
            os.replace(tmp, target)
        except OSError as exc:
            for rest, _ in pending[i:]:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(rest)
            raise _cannot_write(target, exc) from None


def pending(path: str | os.PathLike) -> Path:
    """Where ``path``'s bytes are now: its temporary file while an ``atomic_group`` holds it."""
    target = Path(path)
    for group in reversed(_groups):
        for tmp, dest in reversed(group):
            if dest == target:
                return tmp
    return target


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and fixed layout, so equal objects give equal bytes."""
    return json.dumps(obj, sort_keys=True, indent=1, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as canonical JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(canonical_json(obj))


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex sha256 of an object's canonical JSON."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()
