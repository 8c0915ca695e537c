#!/usr/bin/env bash
# Make a study's runs that git does not hold yet, one setting and seed at a time (its methods
# together, so every committed pair is complete), and commit each as it finishes: its metrics,
# history, their provenance records, re-made split summaries, key files and dvc.lock. A long
# study then spans sessions and machines: stop it at any time (Ctrl-C); a clone of the commits
# continues where it stopped, and a pair made but not committed is committed by the next start.
#   bash scripts/train-and-commit.sh STUDY [STUDY ...] [--shard I/N] [--nice N]
# Several studies are made one after the other, in the order named (each is checked before any
# is made). --shard I/N makes the I-th of every N of a study's settings and seeds (counted over
# all of them, done or not): start N copies in one checkout, at any times, with the same N and
# studies; none overlap while params.yaml keeps its settings and seeds. A copy trains with the
# recipe's resources.cpus threads. Each pair's Snakemake log: logs/STUDY/train-and-commit/.
# Exit 0: every pair of the shard made and committed; 1: some not (named); 2: bad arguments or
# set-up; 130: stopped.
set -uo pipefail
cd "$(dirname "$0")/.."
say() { echo "train-and-commit: $*"; }
usage="usage: bash scripts/train-and-commit.sh STUDY [STUDY ...] [--shard I/N] [--nice N]"
fail() { say "$*" >&2; exit 2; }

studies=()
while [ $# -gt 0 ] && [ -n "$1" ] && [ "${1#-}" = "$1" ]; do studies+=("$1"); shift; done
[ ${#studies[@]} -gt 0 ] || fail "no study named; $usage"
shard=1/1 niceness=0
while [ $# -gt 0 ]; do
  case $1 in
    --shard) shard=${2:-}; shift 2 || shift ;;
    --nice) niceness=${2:-}; shift 2 || shift ;;
    *) fail "unknown argument '$1'; $usage" ;;
  esac
done
[[ $niceness =~ ^[0-9]{1,2}$ ]] && ((10#$niceness <= 19)) || fail "--nice '$niceness': give 0..19"
[ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ] ||
  fail "$(pwd) is not a git checkout: this commits each pair; use a git clone, not a tarball"
git var GIT_COMMITTER_IDENT >/dev/null 2>&1 ||
  fail "git has no identity to commit with: git config user.name '...'; git config user.email '...'"
command -v flock >/dev/null || fail "flock not found (util-linux): copies share the commit through it"
bin=${PROCRUSTEAN_VENV:-.venv}/bin
[ -x "$bin/snakemake" ] || bin=$(dirname "$(command -v snakemake || echo /missing/snakemake)")
[ -x "$bin/snakemake" ] || fail "snakemake not found (no .venv/bin/snakemake, none on PATH): run bash scripts/setup.sh"
python=$bin/python
"$python" -c 'import yaml' 2>/dev/null || python=python3
"$python" -c 'import yaml' 2>/dev/null || fail "no python with PyYAML beside snakemake or on PATH: run bash scripts/setup.sh"

runs_left() { # the study's pairs left to this shard, a line each; exit 2 on bad input
  scripts/procrustean status --study "$1" --allow-missing --runs-left --shard "$shard"
}
for study in "${studies[@]}"; do # procrustean names a bad study or shard in one line
  runs_left "$study" >/dev/null || exit 2
done
lock="$(git rev-parse --git-common-dir)/train-and-commit.lock"
here=$(pwd -P)

child=
stop() {
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child"
  say "stopped; the pair in progress is left uncommitted (the next start resumes it)" >&2
  exit 130
}
trap stop INT TERM

other_commands() { # the command lines of the Snakemakes (not ours) in this checkout, a line each
  local pid
  for pid in $(pgrep -f 'snakemake' 2>/dev/null); do
    [ "$pid" = "$child" ] && continue
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$here" ] || continue
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null && echo
  done
}

other_snakemake() { [ -n "$(other_commands)" ]; } # another Snakemake works in this checkout

drop_stale_locks() { # remove the locks that no running Snakemake here claims; 0 if any removed
  # Snakemake's lock files name no process. A copy of this script names its targets after
  # `--`, so a lock listing none of the running copies' targets was left by one that was
  # killed (a session's end). Any other Snakemake here (no `--`): claim nothing, keep waiting.
  local commands file files target claimed dropped=1
  files=(.snakemake/locks/*.output.lock) # before the commands: a lock listed here is not newer
  commands=$(other_commands)
  grep -v -- ' -- ' <<<"$commands" | grep -q . && return 1
  for file in "${files[@]}"; do
    [ -e "$file" ] || continue
    claimed=0
    while IFS= read -r target; do
      [ -n "$target" ] && grep -qF -- " $target " <<<"$commands" && { claimed=1; break; }
    done <"$file"
    [ $claimed -eq 1 ] && continue
    rm -f -- "$file" "${file%.output.lock}.input.lock" && dropped=0
  done
  return $dropped
}

snakemake_pair() { # Snakemake on one pair's metrics files; waits out another copy's lock
  local waited=0
  while true; do
    nice -n "$((10#$niceness))" "$bin/snakemake" --cores 1 --rerun-incomplete \
      --config allow_missing=true -- "$@" >"$log" 2>&1 &
    child=$!
    wait "$child"
    rc=$?
    child=
    grep -q "LockException\|cannot be locked" "$log" || return "$rc"
    if other_snakemake; then # another copy makes a file this pair needs (a shared split)
      if drop_stale_locks; then
        say "removed a stale Snakemake lock (no running Snakemake here names its files)"
        continue
      fi
      [ $waited -eq 0 ] && say "waiting for another Snakemake in this checkout (its lock)"
      waited=1
      sleep 60
    else # a lock left by a Snakemake that was killed
      say "removing a stale Snakemake lock (no other Snakemake runs here)"
      "$bin/snakemake" --unlock >/dev/null 2>&1 || return "$rc"
    fi
  done
}

commit_pair() { # under the lock: record the stages in dvc.lock, then commit the pair's files
  local message=$1
  shift
  scripts/procrustean dvc-commit >/dev/null 2>&1 || true
  "$python" -c 'import sys, yaml; yaml.safe_load(open("dvc.lock"))' 2>/dev/null ||
    { say "dvc.lock does not parse; fix it (procrustean dvc-commit) and commit by hand" >&2; return 1; }
  local files=()
  local f
  for f in "$@"; do [ -e "$f" ] && files+=("$f"); done
  while IFS= read -r -d '' f; do
    case $f in *.json) files+=("${f:3}") ;; esac
  done < <(git status --porcelain -z --untracked-files=all -- "results/$study/splits" "results/*/config")
  files+=(dvc.lock)
  git add -- "${files[@]}" || return 1
  if git diff --cached --quiet -- "${files[@]}"; then
    say "nothing new to commit (already committed)"
    return 0
  fi
  git commit -q -m "$message" -- "${files[@]}" && say "committed $(git rev-parse --short HEAD)"
}

join_and() { # a, b and c
  local out=$1
  shift
  while [ $# -gt 1 ]; do out+=", $1"; shift; done
  [ $# -eq 1 ] && out+=" and $1"
  echo "$out"
}

make_study() { # make and commit the shard's pairs of one study; their failures join $failed
  local left=$1 pair k=0 first setting seed t h named methods files targets pairs
  mapfile -t pairs < <(printf '%s\n' "$left" | grep .)
  say "$study: shard $shard has ${#pairs[@]} pair(s) left to make or commit"
  logs=logs/$study/train-and-commit
  mkdir -p "$logs"
  for pair in "${pairs[@]}"; do
    k=$((k + 1))
    read -ra targets <<<"$pair"
    first=${targets[0]#results/"$study"/metrics/} # SETTING/METHOD/seedK.json
    setting=${first%%/*} seed=${first##*/seed} seed=${seed%.json}
    methods=()
    for t in "${targets[@]}"; do t=${t%/seed*}; methods+=("${t##*/}"); done
    named=$(join_and "${methods[@]}")
    log=$logs/$setting-seed$seed.log
    say "$(date -u +%FT%TZ) [$k/${#pairs[@]}] $setting seed $seed: $named (log: $log)"
    if ! snakemake_pair "${targets[@]}"; then
      say "$setting seed $seed: Snakemake failed (exit $rc), nothing committed; see $log" >&2
      failed+=("$study $setting seed $seed")
      continue
    fi
    files=()
    for t in "${targets[@]}"; do
      h=${t/\/metrics\//\/history\/}
      files+=("$t" "$t.prov.json" "$h" "$h.prov.json")
    done
    (
      flock 9
      commit_pair "$study: $named seed $seed ($setting) trained and evaluated" "${files[@]}"
    ) 9>"$lock" || {
      say "$setting seed $seed: made, but not committed; commit it by hand or start again" >&2
      failed+=("$study $setting seed $seed")
    }
  done
  made=$((made + ${#pairs[@]}))
}

failed=()
made=0
for study in "${studies[@]}"; do # asked when its turn comes: the studies before take hours
  left=$(runs_left "$study") || exit 2
  make_study "$left"
done
if [ ${#failed[@]} -gt 0 ]; then
  say "${#failed[@]} pair(s) not committed: $(IFS=';'; echo "${failed[*]}")" >&2
  exit 1
fi
say "$(join_and "${studies[@]}"): shard $shard done ($made pair(s) made and committed)"
