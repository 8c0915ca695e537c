#!/usr/bin/env bash
# Set up procrustean once: Debian's Fashion-MNIST and qemu-user (where apt is available), a
# virtual environment with exactly the locked packages (requirements.txt, installed with hash
# checking; regenerate it from requirements.in with scripts/lock.sh), and the package itself
# (editable). Idempotent: a second run reuses what is there and takes about a second.
#   bash scripts/setup.sh            # dataset + venv
#   bash scripts/setup.sh --slurm    # also SLURM and munge (for the cluster test)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PROCRUSTEAN_VENV:-.venv}
PYTHON=${PYTHON:-python3}

apt_install() {  # install Debian packages that are missing, if we can
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: cannot install ${missing[*]} (needs root and apt-get); install them yourself" >&2
    return 0
  fi
  echo "setup: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

if command -v dpkg >/dev/null; then
  apt_install dataset-fashion-mnist qemu-user
  if [ "${1:-}" = "--slurm" ]; then apt_install slurm-wlm munge; fi
fi

stamp="$VENV/.procrustean-setup"
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: $VENV is up to date"
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
echo "setup: installing the locked packages into $VENV (first time: a few minutes)"
"$VENV/bin/pip" install -q --disable-pip-version-check --require-hashes --no-deps -r requirements.txt 2>&1 | grep -v '^WARNING: Location' || true
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v '^WARNING: Location' || true
"$VENV/bin/python" -c "import procrustean, torch, snakemake, dvc" # fails loudly if the install did
echo "$want" > "$stamp"
echo "setup: done ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
