"""Do a study's conclusions survive a re-derivation whose bytes differ from the committed ones?

Three checks against the committed report tables (results/<study>/tables/*.csv at a git rev):

* claims.csv: every claim (matched by setting, claim, measure) keeps its verdict text;
* paired.csv: every re-derived paired mean (setting, method, base, metric) lies inside the
  committed 95% interval [ci_low, ci_high]; rows with n < 2 or no interval are compared
  exactly (to ``EXACT``, relative);
* each run's top-1 drift (re-derived minus committed) is at most ``DRIFT_SDS`` times the
  committed seed-to-seed sd (spread.csv sd_seed) of its setting and method; where that is
  missing, the setting's pooled sd over its methods; where no sd is committed at all (one
  seed), top-1 is compared exactly.

Pure functions of the tables' bytes: reading them (git, the work folder) is compare.py's job.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from procrustean.config import Run
from procrustean.paths import REPORT_DIR, RUNS

DRIFT_SDS = 2.0  # a run's top-1 may move this many committed sd_seed of its setting and method
EXACT = 1e-6  # relative tolerance of an exact comparison (the CSVs hold 6 significant digits)
JUDGED = ("claims", "paired", "spread")  # the tables the verdict needs, committed and re-derived
RULES = (
    "rules: each claim keeps its verdict; each re-derived paired mean inside its committed 95% "
    f"interval (exact where n < 2); each run's |top-1 drift| <= {DRIFT_SDS:g} sd_seed"
)

Rows = list[dict[str, str]]


def table_path(study: str, name: str) -> str:
    """Where the report writes table ``name`` (claims, paired, spread, runs) as CSV."""
    file = RUNS if name == "runs" else f"{name}.csv"
    return f"{REPORT_DIR.format(study=study)}/tables/{file}"


def parse_rows(data: bytes, need: tuple[str, ...]) -> Rows:
    """The rows of a CSV table; a ValueError when a column in ``need`` is absent."""
    reader = csv.DictReader(io.StringIO(data.decode()))
    missing = [c for c in need if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"no column {', '.join(missing)}")
    return list(reader)


def _num(text: str | None) -> float:
    try:
        return float(text) if text else math.nan
    except ValueError:
        return math.nan


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.6g}"


def same_number(a: float, b: float) -> bool:
    """Equal to within ``EXACT`` (relative); two NaNs are equal."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= EXACT * max(1.0, abs(a), abs(b))


@dataclass(frozen=True)
class Drift:
    """One run's top-1, committed and re-derived, against the committed seed-to-seed sd."""

    run: Run
    committed: float
    rederived: float
    sd: float  # NaN: no sd_seed committed for its setting (one seed): compared exactly
    pooled: bool = False  # sd is the setting's pooled sd, the method's own being missing

    @property
    def delta(self) -> float:
        return self.rederived - self.committed

    @property
    def within(self) -> bool:
        """|drift| <= DRIFT_SDS * sd (exact equality where no sd is committed)."""
        if math.isnan(self.sd) or math.isnan(self.delta):
            return same_number(self.rederived, self.committed)
        return abs(self.delta) <= DRIFT_SDS * self.sd + 1e-9

    def text(self) -> str:
        """'top-1 61.85 -> 62.1 (+0.25 points = +0.72 sd_seed)', marked when outside."""
        head = f"top-1 {self.committed!r} -> {self.rederived!r} ({self.delta:+.2f} points"
        if math.isnan(self.sd):
            head += "; no sd_seed committed: compared exactly)"
            return head if self.within else head + ": OUTSIDE (not equal)"
        units = f"{self.delta / self.sd:+.2f} sd_seed" if self.sd > 0 else "sd_seed 0"
        head += f" = {units}{' pooled over the setting' if self.pooled else ''})"
        if not self.within:
            head += f": OUTSIDE the tolerance {DRIFT_SDS:g} sd_seed = {DRIFT_SDS * self.sd:.2f}"
        return head


@dataclass
class Conclusions:
    """The three checks of one study; ``judged`` False when the tables were not there."""

    judged: bool
    why_not: str = ""
    claims: int = 0  # claims checked
    paired: int = 0  # paired means checked
    exact: int = 0  # of which compared exactly (n < 2 or no interval)
    failed_claims: list[str] = field(default_factory=list)
    failed_paired: list[str] = field(default_factory=list)
    drifts: list[Drift] = field(default_factory=list)

    @property
    def outside(self) -> list[Drift]:
        return [d for d in self.drifts if not d.within]

    @property
    def failures(self) -> list[str]:
        """Claim and paired checks that failed (runs outside tolerance are the drifts)."""
        return [*self.failed_claims, *self.failed_paired]


def judge_claims(committed: Rows, rederived: Rows) -> tuple[int, list[str]]:
    """(claims checked, one line per claim whose verdict changed or that one side lacks)."""

    def key(r: dict[str, str]) -> tuple[str, str, str]:
        return r["setting"], r["claim"], r["measure"]

    old, new = {key(r): r for r in committed}, {key(r): r for r in rederived}
    keys = list(dict.fromkeys([*old, *new]))
    fails = []
    for k in keys:
        name = f'claim {k[0]} "{k[1]}"'
        if k not in new:
            fails.append(f"{name}: missing here (committed: {old[k]['verdict']})")
        elif k not in old:
            fails.append(f"{name}: not committed (re-derived: {new[k]['verdict']})")
        elif old[k]["verdict"] != new[k]["verdict"]:
            o, n = old[k], new[k]
            fails.append(
                f"{name}: {o['verdict']} -> {n['verdict']} (mean {_fmt(_num(o['mean']))} "
                f"[{_fmt(_num(o['ci_low']))}, {_fmt(_num(o['ci_high']))}] -> "
                f"{_fmt(_num(n['mean']))} [{_fmt(_num(n['ci_low']))}, {_fmt(_num(n['ci_high']))}])"
            )
    return len(keys), fails


def judge_paired(committed: Rows, rederived: Rows) -> tuple[int, int, list[str]]:
    """(means checked, of which compared exactly, one line per mean outside its committed
    interval, changed where there is none, or on one side only)."""

    def key(r: dict[str, str]) -> tuple[str, str, str, str]:
        return r["setting"], r["method"], r["base"], r["metric"]

    old, new = {key(r): r for r in committed}, {key(r): r for r in rederived}
    keys = list(dict.fromkeys([*old, *new]))
    exact, fails = 0, []
    for k in keys:
        name = f"paired {k[0]} {k[1]} - {k[2]} {k[3]}"
        if k not in new:
            fails.append(f"{name}: missing here (committed mean {_fmt(_num(old[k]['mean_diff']))})")
            continue
        if k not in old:
            fails.append(
                f"{name}: not committed (re-derived mean {_fmt(_num(new[k]['mean_diff']))})"
            )
            continue
        was, now = _num(old[k]["mean_diff"]), _num(new[k]["mean_diff"])
        low, high, n = _num(old[k]["ci_low"]), _num(old[k]["ci_high"]), _num(old[k]["n"])
        if not n >= 2 or math.isnan(low) or math.isnan(high):
            exact += 1
            if not same_number(was, now):
                count = "n = -" if math.isnan(n) else f"n = {n:g}"
                fails.append(
                    f"{name}: {_fmt(was)} -> {_fmt(now)} ({count}, no interval: compared exactly)"
                )
        elif not low <= now <= high:
            fails.append(
                f"{name}: re-derived {_fmt(now)} outside the committed 95% interval "
                f"[{_fmt(low)}, {_fmt(high)}] (committed mean {_fmt(was)})"
            )
    return len(keys), exact, fails


def seed_sd(spread: Rows, family: str, method: str) -> tuple[float, bool]:
    """(sd_seed of ``method`` in ``family``, whether it is the family's pooled sd): the row's
    own where committed, else the root mean square of the family's method rows, else NaN."""
    rows = [r for r in spread if r["setting"] == family]
    for r in rows:
        if r["row"] == method and not math.isnan(_num(r["sd_seed"])):
            return _num(r["sd_seed"]), False
    sds = [_num(r["sd_seed"]) for r in rows if " - " not in r["row"]]
    sds = [s for s in sds if not math.isnan(s)]
    if sds:
        return math.sqrt(sum(s * s for s in sds) / len(sds)), True
    return math.nan, False


def drifts(
    moved: list[tuple[Run, float, float]], spread: Rows, family: Mapping[str, str]
) -> list[Drift]:
    """Each moved run (run, committed top-1, re-derived top-1) against its committed sd_seed;
    ``family`` maps a run's setting to the spread table's (subsets of one dataset share one)."""
    out = []
    for run, was, now in moved:
        name = run.setting.name
        sd, pooled = seed_sd(spread, family.get(name, name), run.method)
        out.append(Drift(run, was, now, sd, pooled))
    return out


def _families(runs: Rows) -> dict[str, str]:
    return {r["setting"]: r["family"] for r in runs if r.get("setting") and r.get("family")}


NEED = {
    "claims": ("setting", "claim", "measure", "mean", "ci_low", "ci_high", "verdict"),
    "paired": ("setting", "method", "base", "metric", "mean_diff", "ci_low", "ci_high", "n"),
    "spread": ("setting", "row", "sd_seed"),
    "runs": (),
}


def judge(
    study: str,
    moved: list[tuple[Run, float, float]],
    committed: Mapping[str, bytes | None],
    here: Mapping[str, bytes | None],
    rev: str = "HEAD",
    stale: bool = False,
) -> Conclusions:
    """Judge ``study``'s conclusions. ``committed`` and ``here`` map a table name (claims,
    paired, spread, runs) to its CSV bytes (None: absent); ``moved`` lists the runs whose bytes
    differ with their committed and re-derived top-1; ``stale``: the work folder's tables are
    older than its re-derived metrics (the report was not re-run)."""
    tables: dict[str, dict[str, Rows | None]] = {"committed": {}, "here": {}}
    try:
        for side, blobs in (("committed", committed), ("here", here)):
            for name, need in NEED.items():
                data = blobs.get(name)
                tables[side][name] = None if data is None else parse_rows(data, need)
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        where = f"{table_path(study, name)} ({'at ' + rev if side == 'committed' else 'here'})"
        return Conclusions(False, f"{where} is unreadable ({exc})")
    old, new = tables["committed"], tables["here"]
    family = _families(old["runs"] or new["runs"] or [])
    runs_drift = drifts(moved, old["spread"] or [], family)
    missing_old = [n for n in JUDGED if old[n] is None]
    missing_new = [n for n in JUDGED if new[n] is None]
    if missing_old:
        why = f"{table_path(study, missing_old[0])} is not committed at {rev}"
    elif missing_new:
        why = f"{table_path(study, missing_new[0])} is missing here (the report was not re-derived)"
    elif stale:
        why = f"{table_path(study, 'claims')} is older than the re-derived metrics (re-run the report)"
    else:
        why = ""
    if why:
        return Conclusions(False, why, drifts=runs_drift)
    assert old["claims"] is not None and new["claims"] is not None  # for the type checker
    assert old["paired"] is not None and new["paired"] is not None
    n_claims, failed_claims = judge_claims(old["claims"], new["claims"])
    n_paired, exact, failed_paired = judge_paired(old["paired"], new["paired"])
    return Conclusions(
        True, "", n_claims, n_paired, exact, failed_claims, failed_paired, runs_drift
    )
