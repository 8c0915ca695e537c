"""The environment lock the venv is installed from (requirements.txt, pinned with hashes)."""

from __future__ import annotations

from procrustean.config import REPO_ROOT
from procrustean.fileio import sha256_file

LOCK_FILE = REPO_ROOT / "requirements.txt"


def lock_digest() -> str | None:
    """sha256 of the environment lock (None where the checkout has none)."""
    return sha256_file(LOCK_FILE) if LOCK_FILE.is_file() else None
