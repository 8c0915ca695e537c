#!/usr/bin/env bash
# Make a study's runs that git does not hold yet, one setting and seed at a time (its methods
# together, so every committed pair is complete), and commit each as it finishes: its metrics,
# history, their provenance records, new split summaries and dvc.lock. A long study then spans
# sessions and machines: stop it at any time; a clone of the commits continues where it stopped
# (the runs left are those `procrustean status --allow-missing` calls never recorded or stale).
#   bash scripts/train-and-commit.sh STUDY [--shard I/N] [--nice N]
# --shard I/N makes the I-th of every N of the study's settings and seeds (counted over all of
# them, done or not): start N copies, one a core, in one checkout, at any times; none overlap.
# Each pair's Snakemake log: logs/STUDY/train-and-commit/. Exit 0: every pair of the shard was made
# and committed; 1: some failed (named); 2: bad arguments.
set -uo pipefail
cd "$(dirname "$0")/.."
say() { echo "train-and-commit: $*"; }
usage="usage: bash scripts/train-and-commit.sh STUDY [--shard I/N] [--nice N]"
fail() { say "$*" >&2; exit 2; }

study=${1:-}
[ -n "$study" ] && [ "${study#-}" = "$study" ] || fail "no study named; $usage"
shift
shard=1/1 niceness=0
while [ $# -gt 0 ]; do
  case $1 in
    --shard) shard=${2:-}; shift 2 || shift ;;
    --nice) niceness=${2:-}; shift 2 || shift ;;
    *) fail "unknown argument '$1'; $usage" ;;
  esac
done
[[ $niceness =~ ^[0-9]+$ ]] && ((niceness <= 19)) || fail "--nice '$niceness': give 0..19"
git rev-parse --git-dir >/dev/null 2>&1 || fail "$(pwd) is not a git checkout: this commits each pair; use a git clone"
bin=.venv/bin
[ -x "$bin/snakemake" ] || bin=$(dirname "$(command -v snakemake || echo /missing/snakemake)")
[ -x "$bin/snakemake" ] || fail "snakemake not found (no .venv/bin/snakemake, none on PATH): run bash scripts/setup.sh"

left=$(scripts/procrustean status --study "$study" --allow-missing --runs-left --shard "$shard")
[ $? -le 1 ] || exit 2 # procrustean named the bad input (study, shard) in one line
mapfile -t pairs < <(printf '%s\n' "$left" | grep .)
say "$study: shard $shard has ${#pairs[@]} pair(s) left"
logs=logs/$study/train-and-commit
mkdir -p "$logs"
lock="$(git rev-parse --git-common-dir)/train-and-commit.lock"
failed=()
k=0
for pair in "${pairs[@]}"; do
  k=$((k + 1))
  read -ra targets <<<"$pair"
  first=${targets[0]#results/"$study"/metrics/}  # SETTING/METHOD/seedK.json
  setting=${first%%/*} seed=${first##*/seed} seed=${seed%.json}
  methods=$(for t in "${targets[@]}"; do t=${t%/seed*}; echo "${t##*/}"; done | paste -sd, -)
  log=$logs/$setting-seed$seed.log
  say "$(date -u +%FT%TZ) [$k/${#pairs[@]}] $setting seed $seed: $methods (log: $log)"
  for attempt in 1 2 3 4 5 6 7 8 9 10; do  # another copy may hold a shared split: wait for it
    nice -n "$niceness" "$bin/snakemake" --cores 1 --rerun-incomplete --config allow_missing=true \
      -- "${targets[@]}" >"$log" 2>&1
    rc=$?
    [ $rc -ne 0 ] && grep -q "LockException\|cannot be locked" "$log" && { sleep 30; continue; }
    break
  done
  if [ $rc -ne 0 ]; then
    say "$setting seed $seed: Snakemake failed (exit $rc), nothing committed; see $log" >&2
    failed+=("$setting seed $seed")
    continue
  fi
  files=()
  for t in "${targets[@]}"; do
    h=${t/\/metrics\//\/history\/}
    files+=("$t" "$t.prov.json" "$h" "$h.prov.json")
  done
  mapfile -t -O "${#files[@]}" files < <(git status --porcelain --untracked-files=all -- "results/$study/splits" | cut -c4-)
  files+=(dvc.lock)
  (
    flock 9
    for _ in 1 2 3 4 5 6; do  # dvc.lock whole (another copy's Snakemake may be writing it)
      "$bin/python" -c 'import sys, yaml; yaml.safe_load(open("dvc.lock"))' 2>/dev/null && break
      sleep 10
    done
    git add -- "${files[@]}" &&
      git commit -q -m "$study: ${methods//,/ and } seed $seed ($setting) trained and evaluated" -- "${files[@]}" &&
      say "$setting seed $seed: committed $(git rev-parse --short HEAD)"
  ) 9>"$lock" || { say "$setting seed $seed: made, but git commit failed; commit it by hand" >&2; failed+=("$setting seed $seed"); }
done
if [ ${#failed[@]} -gt 0 ]; then
  say "$study: ${#failed[@]} pair(s) not committed: $(IFS=';'; echo "${failed[*]}")" >&2
  exit 1
fi
say "$study: shard $shard done (${#pairs[@]} pair(s) committed)"
