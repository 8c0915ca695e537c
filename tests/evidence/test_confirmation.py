"""The preregistered rule set (report/preregistered.py), as analyses/confirmation.yaml uses it:
claims judged over several studies' runs with the rules fixed before their results existed."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from procrustean import verdict_files
from procrustean.errors import UserError
from procrustean.report import claims, early_errors, preregistered
from procrustean.report.measures import analysis_claims
from tests.helpers import REPO, repo_analysis, run_cli, write_analysis, write_params

COLUMNS = ("top1", "progress_gap", "gradient_ratio", "gradient_ratio_clean", "minor_to_major")


def _tested() -> list[claims.Claim]:
    """The committed confirmation analysis's claims (its mechanism and accuracy families)."""
    return analysis_claims(repo_analysis("confirmation"))


def _verdicts(runs: pd.DataFrame, curves: pd.DataFrame, pending: pd.DataFrame | None = None):
    """The preregistered verdicts of the confirmation analysis's claims on ``runs``, over-fitting
    judged at its ratios (10)."""
    ratios = repo_analysis("confirmation").overfit_ratios
    assert ratios == (10,)
    return preregistered.verdicts(runs, curves, _tested(), ratios, pending)


def _runs(family: str, methods: dict[str, float], fit: bool = True, seed0: int = 0) -> pd.DataFrame:
    """3 subsets x 5 seeds per method; top-1 = the method's level + a subset effect + noise."""
    rng = np.random.default_rng(seed0)
    rows = []
    for (method, level), subset, seed in itertools.product(methods.items(), range(3), range(5)):
        rows.append(
            {
                "family": family,
                "setting": f"{family.split('-')[0]}_s{subset}-{family.split('-', 1)[1]}",
                "method": method,
                "subset": subset,
                "seed": seed,
                "top1": level + subset + rng.normal(0, 0.3),
                "progress_gap": 0.3 + rng.normal(0, 0.02),
                "gradient_ratio": 2.0 + rng.normal(0, 0.1),
                "gradient_ratio_clean": 2.0 + rng.normal(0, 0.1),
                "minor_to_major": 0.8 + rng.normal(0, 0.02),
                "overfit_gap": 0.2 + rng.normal(0, 0.02),
                "overfit_gap_top": 0.02 + rng.normal(0, 0.01),
                "plateau_top": 0.001,
                "plateau_bottom": 0.01 if seed else 0.05,  # one seed of five still rising
                "fit_bottom": 30.0 if fit else np.nan,
                "bottom_classes": "2 3",
            }
        )
    return pd.DataFrame(rows)


def _curves(runs: pd.DataFrame, epochs: int = 8) -> pd.DataFrame:
    """Per run, epoch and class (classes 0-1 major, 2-3 minor): the minors' share predicted
    major is 1 - epoch / 10 for class 2 and half that for class 3, the same in every run; clean
    training accuracy 1 (the minors 0.5 in a run that never fits them)."""
    rows = []
    for r, epoch, c in itertools.product(runs.itertuples(), range(1, epochs + 1), range(4)):
        share = (1 - epoch / 10) * (1 if c == 2 else 0.5)
        rows.append(
            {
                "setting": r.setting,
                "family": r.family,
                "method": r.method,
                "seed": r.seed,
                "epoch": epoch,
                "class": c,
                "group": "major" if c < 2 else "minor",
                "count": 20 if c < 2 else 2,
                "train_acc": 1.0 if c < 2 or r.fit_bottom == r.fit_bottom else 0.5,
                "to_major": None if c < 2 else share,
            }
        )
    return pd.DataFrame(rows)


def test_early_errors_are_each_runs_mean_over_the_minors_in_the_first_quarter():
    runs = _runs("fm-step-r100", {"ce": 60, "mfw": 62})
    curves = pd.concat([_curves(runs), _curves(_runs("fm-balanced-r100", {"ce": 60}))])
    curves.loc[curves.family == "fm-balanced-r100", "to_major"] = None  # no major classes
    wide, long = early_errors.early_errors_table(curves)
    assert list(wide.columns) == ["epoch 1", "epoch 2"]  # 8 epochs: the first quarter is 2
    assert list(wide.index) == ["fm-step-r100, ce", "fm-step-r100, mfw"]
    row = long.set_index(["method", "epoch"]).loc[("ce", 2)]
    assert row["mean"] == pytest.approx((0.8 + 0.4) / 2) and row.n == 15  # 3 subsets x 5 seeds
    assert row.ci_low == pytest.approx(row["mean"]) == pytest.approx(row.ci_high)  # no spread
    assert wide.loc["fm-step-r100, mfw", "epoch 1"] == "0.675"


def test_a_run_may_belong_to_one_study_only():
    a = _runs("fm-step-r100", {"mfw": 70})
    with pytest.raises(UserError, match=r"run fm-step-r100 mfw subset 0 seed 0 is in studies a, b"):
        preregistered.combined_runs({"a": a, "b": a})


def test_pairs_cross_studies_and_holm_spans_them():
    runs = preregistered.combined_runs(
        {
            "confirm": _runs("fm-step-r100", {"ce": 60, "mfw": 62}),
            "controls": _runs("fm-step-r100", {"mfw_uniform": 61.9, "remix": 60}, seed0=1),
        }
    )
    wide, long = _verdicts(runs, _curves(runs))
    top1 = long[long.holm_family == "accuracy"].set_index("claim")
    assert set(top1.index) == {
        "MFW improves top-1 (mfw vs ce)",
        "MFW improves top-1 (mfw vs mfw_uniform)",
        "MFW improves top-1 (mfw vs remix)",
    }
    assert (top1.n == 15).all()  # paired across the two studies by subset and seed
    assert top1.loc["MFW improves top-1 (mfw vs ce)", "verdict"] == "reproduced"
    assert top1.loc["MFW improves top-1 (mfw vs mfw_uniform)", "verdict"].startswith(
        "not reproduced"
    )
    # Holm over the three top-1 tests of the two studies: the smallest p is multiplied by 3
    smallest = top1.p.idxmin()
    assert top1.loc[smallest, "holm_p"] == pytest.approx(min(1.0, 3 * top1.p.min()))
    # the runs each claim reads (ce alone, or a pair); each seed 0 is still rising
    single = long.claim.isin([c.name for c in claims.SINGLE if c.base is None])
    assert set(long[single].plateaued) == {"12/15"} and set(long[~single].plateaued) == {"24/30"}
    assert (wide["runs plateaued"] == long.plateaued.tolist()).all()


def test_plateau_share_counts_runs_whose_groups_both_settled():
    runs = _runs("fm-step-r100", {"ce": 60, "mfw": 62})
    assert preregistered.plateau_share(runs, "fm-step-r100") == "24/30"  # seed 0 still rising


def test_over_fitting_is_judged_at_ratio_10_only_and_with_a_fitting_control():
    runs = preregistered.combined_runs(
        {
            "confirm": _runs("fm-step-r100", {"ce": 60, "mfw": 62}),
            "ldam": _runs("fm-step-r100", {"ldam_drw": 70, "mfw_ldam_drw": 70}),
            "r10": pd.concat(
                [
                    _runs("fm-step-r10", {"ce": 70, "mfw": 71}),
                    _runs("fm-balanced-r10", {"ce": 65}, fit=False),
                ]
            ),
        }
    )
    _, long = _verdicts(runs, _curves(runs))
    rows = long.set_index(["setting", "claim"])
    at100 = rows.loc[("fm-step-r100", "over-fitting: minor classes generalise worse than they fit")]
    assert at100.verdict == preregistered.NOT_APPLICABLE_RATIO.format(ratios="10") and at100.n == 0
    at10 = rows.loc[("fm-step-r10", "over-fitting: minor classes generalise worse than they fit")]
    assert at10.verdict == "reproduced" and at10.n == 15 and at10.subset_n == 3
    control = rows.loc[
        ("fm-step-r10", "over-fitting is induced by imbalance, not by few images alone")
    ]
    assert control.verdict == preregistered.NOT_APPLICABLE_FIT  # the balanced ce runs never fit
    control100 = rows.loc[
        ("fm-step-r100", "over-fitting is induced by imbalance, not by few images alone")
    ]
    assert control100.verdict == preregistered.NOT_APPLICABLE_RATIO.format(ratios="10")
    ldam10 = rows.loc[("fm-step-r10", "MFW improves top-1 (mfw_ldam_drw vs ldam_drw)")]
    assert ldam10.verdict == "not tested in this setting (no mfw_ldam_drw or ldam_drw runs)"
    # the not-applicable rows take no part in Holm's correction
    mech = long[long.holm_family == "mechanism"]
    assert mech[mech.verdict.str.startswith("not applicable")].holm_p.isna().all()


def _tmp_confirmation(methods: set[str]) -> dict:
    """The committed confirmation analysis on the studies smoke and other: its tests whose
    methods those studies ran, the two top-1 tests they make expected."""
    import yaml

    analysis = yaml.safe_load((REPO / "analyses/confirmation.yaml").read_text())
    for family in analysis["families"]:
        family["tests"] = [
            t for t in family["tests"] if {t["method"], t.get("base", "ce")} <= methods
        ]
    return analysis | {"studies": ["smoke", "other"], "expected_tests": {"accuracy": 2}}


def test_the_cli_writes_the_verdicts_with_provenance(tmp_path, params):
    params["studies"]["other"] = {**params["studies"]["smoke"], "methods": ["mfw_uniform"]}
    write_params(tmp_path, params)
    write_analysis(tmp_path, "confirmation", _tmp_confirmation({"ce", "mfw", "mfw_uniform"}))
    tables = {
        "smoke": _runs("synthetic-step-r10", {"ce": 60, "mfw": 62}),
        "other": _runs("synthetic-step-r10", {"mfw_uniform": 61}, seed0=3),
    }
    proc = run_cli("judge", "confirmation", "--study", "smoke", cwd=tmp_path)
    assert proc.returncode == 2 and "results/smoke/tables/runs.csv: missing" in proc.stderr
    assert not (tmp_path / "results/confirmation").exists()
    for study, frame in tables.items():
        path = tmp_path / verdict_files.runs_path(study)
        path.parent.mkdir(parents=True)
        frame.to_csv(path, index=False)
        _curves(frame).drop(columns="to_major").to_csv(
            tmp_path / verdict_files.curves_path(study), index=False
        )
    proc = run_cli("judge", "confirmation", "--study", "smoke", "--study", "other", cwd=tmp_path)
    assert proc.returncode == 2 and "curves.csv.gz: made by an older report" in proc.stderr
    assert "procrustean report --study smoke" in proc.stderr
    assert not (tmp_path / "results/confirmation").exists()
    for study, frame in tables.items():
        _curves(frame).to_csv(tmp_path / verdict_files.curves_path(study), index=False)
    proc = run_cli("judge", "confirmation", "--study", "smoke", "--study", "other", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "results/confirmation"
    assert "MFW improves top-1 (mfw vs mfw_uniform)" in (out / "verdicts.md").read_text()
    long = pd.read_csv(out / "verdicts.csv")
    assert {"holm_p", "subsets_agree", "plateaued", "verdict"} <= set(long.columns)
    said = f"judge confirmation: 8 files under results/confirmation/; {len(long)} "  # rows
    assert proc.stdout.startswith(said) and "reproduced" in proc.stdout  # then counted by verdict
    early = pd.read_csv(out / "early_errors.csv")
    assert set(early.method) == {"ce", "mfw", "mfw_uniform"} and set(early.epoch) == {1, 2}
    assert "| synthetic-step-r10, mfw_uniform |" in (out / "early_errors.md").read_text()
    prov = json.loads((out / "verdicts.md.prov.json").read_text())
    assert prov["stage"] == "judge" and set(prov["inputs"]) == {
        "analyses/confirmation.yaml",  # the file itself: an edit of it re-judges
        verdict_files.runs_path("smoke"),
        verdict_files.runs_path("other"),
        verdict_files.curves_path("smoke"),
        verdict_files.curves_path("other"),
    }
    loaded = repo_analysis("confirmation")  # the same rule set and outputs as the committed one
    assert set(prov["outputs"]) == set(verdict_files.outputs(loaded))
    assert all((tmp_path / path).is_file() for path in verdict_files.outputs(loaded))
    assert "src/procrustean/report/early_errors.py" in prov["code_files"]
    assert "workflow/schemas/analysis.schema.yaml" in prov["code_files"]
    # --study picks the runs of one preregistered analysis: not of two
    write_analysis(tmp_path, "again", _tmp_confirmation({"ce", "mfw", "mfw_uniform"}))
    proc = run_cli("judge", "confirmation", "again", "--study", "smoke", cwd=tmp_path)
    assert proc.returncode == 2 and "--study goes with one analysis" in proc.stderr
    assert not (tmp_path / "results/again").exists()


def test_the_confirmation_studies_exist_and_share_no_run():
    """The committed analysis: every study the verdicts read is in params.yaml, and no two of
    them train the same (data, method, seed) on the same setting."""
    import yaml

    written = yaml.safe_load((REPO / "params.yaml").read_text())
    analysis = yaml.safe_load((REPO / "analyses/confirmation.yaml").read_text())
    studies, seen = written["studies"], {}
    for name in analysis["studies"]:
        s = studies[name]
        for run in itertools.product(
            s["datasets"], s["profiles"], s["ratios"], s["methods"], s["seeds"]
        ):
            assert run not in seen, f"{run} in {seen.get(run)} and {name}"
            seen[run] = name
    assert len(seen) == 60 + 60 + 60 + 15 + 15 + 15 + 90  # confirm, ldam, drw, 3 controls, r10


def test_the_committed_early_errors_average_to_the_claims_measure():
    """On confirm's committed curves: the per-epoch table's mean over the first quarter is the
    claims table's minor_to_major (the same runs, classes and epochs)."""
    curves = pd.read_csv(REPO / verdict_files.curves_path("confirm"))
    runs = pd.read_csv(REPO / verdict_files.runs_path("confirm"))
    _, long = early_errors.early_errors_table(curves)
    per_epoch = long.groupby(["family", "method"])["mean"].mean()
    claimed = runs.groupby(["family", "method"]).minor_to_major.mean()
    assert per_epoch.index.equals(claimed.index) and len(claimed) == 4
    assert per_epoch.to_numpy() == pytest.approx(claimed.to_numpy(), abs=1e-5)  # csv: 6 digits
    assert set(long.n) == {15} and long.epoch.max() == 13  # 52 epochs: a quarter is 13


def test_the_headline_table_is_the_verdicts_pivoted_by_setting():
    from procrustean.report import headline

    runs = preregistered.combined_runs(
        {
            "confirm": _runs("fm-step-r100", {"ce": 60, "mfw": 63}),
            "ldam": _runs("fm-step-r100", {"ldam_drw": 70, "mfw_ldam_drw": 70}, seed0=1),
            "r10": _runs("fm-step-r10", {"ce": 70, "mfw": 70}, seed0=2),
        }
    )
    _, long = _verdicts(runs, _curves(runs))
    table = headline.headline_table(long, _tested())
    assert list(table.columns) == ["measure", "step r100", "step r10"]  # ratio 100 first
    plateaued = preregistered.plateau_by_method(runs)
    assert plateaued.loc["ldam_drw", "fm-step-r100"] == "12/15"
    assert plateaued.loc["ldam_drw", "fm-step-r10"] == "-"  # not run there
    rows = long.set_index(["setting", "claim"])
    for setting, label in (("fm-step-r100", "step r100"), ("fm-step-r10", "step r10")):
        row = rows.loc[(setting, "MFW improves top-1 (mfw vs ce)")]
        text = table.loc["MFW improves top-1 (mfw vs ce)", label]
        assert text.startswith(f"{row['mean']:+.2f} [{row.ci_low:+.2f}, {row.ci_high:+.2f}], ")
        shown = f", {row.wins}/15, detectable {row.detectable:.2f}: {headline._short(row.verdict)}"
        assert text.removesuffix("\u2020").endswith(shown)
        assert ("**reproduced**" in text) == (row.verdict == "reproduced")
    assert "**reproduced**" in table.loc["MFW improves top-1 (mfw vs ce)", "step r100"]
    assert "**reproduced**" not in table.loc["MFW improves top-1 (mfw vs ce)", "step r10"]
    assert table.loc["MFW improves top-1 (mfw_ldam_drw vs ldam_drw)", "step r10"] == "-"
    overfit = "over-fitting: minor classes generalise worse than they fit"
    assert table.loc[overfit, "step r100"] == "not applicable (ratio 10 only)"
    assert "MFW improves top-1 (mfw_drw vs drw)" not in table.index  # no setting tests it
    markdown = headline.headline_markdown(long, plateaued, _tested(), "confirmation").splitlines()
    assert "over the confirmation studies" in markdown[0]
    assert "results/confirmation/verdicts.csv has the rest" in markdown[0]
    assert markdown[1] == "| the paper's claim | measure | step r100 | step r10 |"
    assert markdown[3 + len(table)] == ""
    assert markdown[5 + len(table)] == "| runs plateaued | step r100 | step r10 |"
    assert markdown[-1] == "| mfw_ldam_drw | 12/15 | - |"


def test_the_balanced_control_must_end_fit_on_the_classes_it_is_compared_on():
    imbalanced = _runs("fm-step-r10", {"ce": 70, "mfw": 71})
    control = _runs("fm-balanced-r10", {"ce": 65})  # reached 95% at epoch 30 (fit_bottom)
    runs = preregistered.combined_runs({"r10": pd.concat([imbalanced, control])})
    curves = _curves(runs)
    assert preregistered.balanced_fit(runs, curves, "fm-step-r10")
    last = (curves.family == "fm-balanced-r10") & (curves.epoch == 8) & (curves["class"] == 3)
    curves.loc[last & (curves.seed == 4), "train_acc"] = 0.85  # one run ends below, on class 3
    assert not preregistered.balanced_fit(runs, curves, "fm-step-r10")
    runs.loc[runs.family == "fm-step-r10", "bottom_classes"] = "2"  # compared on class 2 only
    assert preregistered.balanced_fit(runs, curves, "fm-step-r10")


def _design():
    """The confirmation analysis cut to two studies, none pending, 15 pairs a test and the 11
    accuracy tests fixed before the runs."""
    analysis = repo_analysis("confirmation")
    assert analysis.pairs == 15 and analysis.expected_tests == {"accuracy": 11}
    return dataclasses.replace(analysis, studies=("confirm", "confirm_drw"), pending=())


def test_an_unfinished_design_is_refused():
    design = _design()
    runs = _runs("fm-step-r100", {"ce": 60, "mfw": 62})
    _, long = _verdicts(runs, _curves(runs))
    preregistered.check_complete(long, design, ("confirm",))
    short = runs[~((runs.method == "mfw") & (runs.seed == 4) & (runs.subset == 2))]
    _, long = _verdicts(short, _curves(short))
    with pytest.raises(
        UserError,
        match="has 14 of 15 runs or pairs; finish the studies of analyses/confirmation.yaml",
    ):
        preregistered.check_complete(long, design, ("confirm",))
    _, long = _verdicts(runs, _curves(runs))
    with pytest.raises(
        UserError, match="the accuracy family has 1 tests, not the 11 analyses/confirmation.yaml"
    ):
        preregistered.check_complete(long, design, design.studies)


def test_opposite_side_is_said_only_where_holm_also_separates():
    claim = next(c for c in claims.claims(["ce", "mfw"]) if c.column == "top1")
    row = pd.Series({"n": 15, "verdict": preregistered.OPPOSITE, "holm_p": 0.2})
    assert preregistered._verdict(row, claim, {}, pd.DataFrame()) == preregistered.OPPOSITE_NOT_HOLM
    row["holm_p"] = 0.01
    assert preregistered._verdict(row, claim, {}, pd.DataFrame()) == preregistered.OPPOSITE


def test_the_interval_over_subset_means_sits_beside_the_pooled_one():
    """Pairs that differ by subset (+0.1, +2, +4): the 15 pooled pairs reproduce the claim, the
    3 subset means do not exclude 0, and the headline marks the verdict with a dagger."""
    from procrustean.report import headline

    runs = _runs("fm-step-r100", {"ce": 60, "mfw": 60})
    shift = runs.subset.map({0: 0.1, 1: 2.0, 2: 4.0})
    runs.loc[runs.method == "mfw", "top1"] = (
        runs.loc[runs.method == "ce", "top1"].to_numpy() + shift[runs.method == "mfw"].to_numpy()
    )
    _, long = _verdicts(runs, _curves(runs))
    row = long.set_index("claim").loc["MFW improves top-1 (mfw vs ce)"]
    assert row.verdict == "reproduced" and row.ci_low > 0
    means = pd.Series([0.1, 2.0, 4.0])
    half = stats.t.ppf(0.975, 2) * means.std(ddof=1) / np.sqrt(3)
    assert row.subset_n == 3 and row.subset_low == pytest.approx(means.mean() - half)
    assert row.subset_low < 0 < row.subset_high
    cell = headline.headline_table(long, _tested()).loc[
        "MFW improves top-1 (mfw vs ce)", "step r100"
    ]
    assert cell.endswith(": **reproduced**\u2020") and ", detectable " in cell


def test_a_pending_study_stays_in_holms_family_at_p_one():
    """An unfinished study's tests keep the pre-registered family: each tested p is adjusted
    as if they were there at p = 1, the verdict is redrawn with that p, and they read
    'pending' in the verdicts and the headline."""
    from procrustean.report import headline, stats

    runs = _runs("fm-step-r100", {"ce": 60, "mfw": 60.6})
    drw = next(c for c in _tested() if c.method == "mfw_drw")  # its accuracy test
    assert drw.family == "accuracy"
    pending = pd.DataFrame(
        [preregistered._pending_row(s, drw, "confirm_drw") for s in ("fm-step-r100", "fm-x-r100")]
    )
    pending.attrs["methods"] = ["drw", "mfw_drw"]
    _, alone = _verdicts(runs, _curves(runs))
    wide, long = _verdicts(runs, _curves(runs), pending)
    top1 = "MFW improves top-1 (mfw vs ce)"
    before = alone.set_index(["setting", "claim"]).loc[("fm-step-r100", top1)]
    after = long.set_index(["setting", "claim"]).loc[("fm-step-r100", top1)]
    assert before.holm_p == pytest.approx(before.p)  # the only accuracy test
    assert after.holm_p == pytest.approx(stats.holm([before.p, 1.0, 1.0])[0])
    assert after.holm_p == pytest.approx(min(1.0, 3 * before.p))
    ci = stats.Interval(after["mean"], after.ci_low, after.ci_high, int(after.n))
    mfw = next(c for c in _tested() if c.name == top1)
    assert after.verdict == claims.verdict(ci, mfw, after.holm_p, bool(after.subsets_agree))
    waiting = long[long.claim == drw.name]
    assert len(waiting) == 2 and waiting.holm_p.isna().all() and (waiting.n == 0).all()
    assert set(waiting.verdict) == {preregistered.PENDING_VERDICT.format(study="confirm_drw")}
    assert len(wide) == len(long) and wide.verdict.tolist() == long.verdict.tolist()
    assert wide.loc[f"fm-step-r100: {drw.name}", "runs plateaued"] == "-"
    table = headline.headline_table(long, _tested())
    assert table.loc[drw.name, "step r100"] == "pending (confirm_drw not finished)"
    assert f", {int(after.wins)}/15, detectable" in table.loc[top1, "step r100"]  # counts
    design = _design()
    with pytest.raises(UserError, match="the accuracy family has 3 tests, not the 11"):
        preregistered.check_complete(long, design, design.studies)  # pending ones count


def test_a_pending_control_adds_its_preregistered_test():
    """From the committed analysis: confirm_mixup and confirm_remix, the two controls that were
    pending, each test mfw against their method at step ratio 100 (whether or not they are still
    pending today), and with the other studies' 9 top-1 tests the family holds the
    pre-registered 11."""
    from procrustean.config import load_params

    loaded = load_params(REPO / "params.yaml")
    plan = repo_analysis("confirmation")
    controls = ("confirm_mixup", "confirm_remix")
    others = tuple(s for s in plan.studies if s not in controls)
    pending = preregistered.pending_tests(loaded, _tested(), controls, others)
    assert pending.claim.tolist() == [
        "MFW improves top-1 (mfw vs manifold_mixup)",
        "MFW improves top-1 (mfw vs remix)",
    ]
    assert pending.setting.tolist() == ["fashion_mnist_500-step-r100"] * 2
    assert pending.attrs["methods"] == ["manifold_mixup", "remix"]
    assert (pending.holm_family == "accuracy").all() and (pending.p == 1.0).all()
    judged = pd.concat([pd.read_csv(REPO / verdict_files.runs_path(s)) for s in plan.finished])
    assert {"drw", "mfw_drw"} <= set(judged.method)  # confirm_drw is judged, not pending
    assert set(plan.finished) | set(plan.pending) == set(plan.studies)
    for study in plan.pending:  # a pending study's runs are not read
        assert not set(loaded.study(study).methods) & set(judged.method)
