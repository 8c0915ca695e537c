#!/usr/bin/env bash
# Regenerate requirements.txt, the lock (every package pinned, with hashes), from requirements.in.
# Run it after editing requirements.in (existing pins are kept where they still fit), or with
# --upgrade / --upgrade-package NAME to move to newer releases; then run bash scripts/setup.sh and
# commit both files. The lock is for Linux x86-64, CPython 3.11: run it there (takes ~10 minutes,
# it downloads every candidate file to hash it). pip-tools lives in its own venv, never in .venv.
#   bash scripts/lock.sh [pip-compile options]
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${PROCRUSTEAN_PIPTOOLS_VENV:-/tmp/procrustean-piptools}
PYTHON=${PYTHON:-python3}

"$PYTHON" -c 'import platform, sys; sys.exit((sys.platform, platform.machine(), sys.version_info[:2]) != ("linux", "x86_64", (3, 11)))' || {
  echo "lock: the lock is for Linux x86-64 and CPython 3.11; run this there (PYTHON=python3.11)" >&2
  exit 1
}
if [ ! -x "$TOOLS/bin/pip-compile" ]; then
  "$PYTHON" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q --disable-pip-version-check pip-tools==7.6.2 2>&1 | grep -v '^WARNING: Location' || true
  [ -x "$TOOLS/bin/pip-compile" ] || { echo "lock: could not install pip-tools into $TOOLS" >&2; exit 1; }
fi
set +e
"$TOOLS/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links -o requirements.txt "$@" requirements.in \
  2>&1 | grep -v '^WARNING: Location'
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || { echo "lock: pip-compile failed (exit $rc); requirements.txt is as it was" >&2; exit "$rc"; }
sed -i '1i # Lock for Linux x86-64, CPython 3.11 (torch: the CUDA build, with nvidia-* wheels). Regenerate: bash scripts/lock.sh' requirements.txt
echo "lock: requirements.txt has $(grep -c '^[A-Za-z0-9]' requirements.txt) packages"
