"""Peak resident memory of a command, measured by GNU time in a small parent process.

(Measuring from this process with wait4 would count the pages a forked child shares with a
large parent before it execs.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
GNU_TIME = "/usr/bin/time"


def peak_rss_mb(cmd: list[str], cwd: Path) -> float:
    """Run ``cmd`` under GNU time and return its peak RSS in MB."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        [GNU_TIME, "-f", "maxrss_kb=%M", *cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("maxrss_kb=")][-1]
    return round(int(line.split("=")[1]) / 1024, 1)
