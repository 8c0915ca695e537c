"""The revised rule set (report/revised.py) as analyses/paper_counts.yaml uses it, on frames built
so that the right answer is known: a study is judged only with its whole grid, pending tests
count as p = 1 in Holm's family, one class that carries an effect is named, and a claim without
its control says so."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from procrustean.analyses import Family
from procrustean.config import load_params
from procrustean.errors import UserError
from procrustean.report import family as core
from procrustean.report import grid, plateau, revised, sensitivity, stats, views
from tests.helpers import REPO, repo_analysis, resolved

FAMILY = "fashion_mnist_5k-step-r100"


def step_runs(gain_on: dict[int, float], subsets=(500, 501, 502), seeds=range(13)) -> pd.DataFrame:
    """ce and mfw runs of counts_step: ce scores 50 + c on class c, mfw adds ``gain_on[c]``
    (with a little pair-to-pair noise)."""
    rows = []
    for subset in subsets:
        for seed in seeds:
            i = subset * 100 + seed
            for method in ("ce", "mfw"):
                row = {
                    "setting": f"fashion_mnist_5k_s{subset}-step-r100",
                    "family": FAMILY,
                    "subset": subset,
                    "seed": seed,
                    "method": method,
                    "bottom_classes": "5 6 7 8 9",
                }
                for c in range(10):
                    noise = 0.2 * ((i * 7 + c) % 5 - 2) if c in gain_on else 0.0
                    gain = gain_on.get(c, 0.0) + noise if method == "mfw" else 0.0
                    row[f"class_{c}"] = 50.0 + c + gain
                row["top1"] = sum(row[f"class_{c}"] for c in range(10)) / 10
                row["group_minor"] = sum(row[f"class_{c}"] for c in range(5, 10)) / 5
                rows.append(row)
    return pd.DataFrame(rows)


def flat_curves(runs: pd.DataFrame, last_decay: int = 28, epochs: int = 32) -> pd.DataFrame:
    """Every run's groups flat after the last decay."""
    rows = [
        {
            "setting": r.setting,
            "family": r.family,
            "method": r.method,
            "seed": r.seed,
            "epoch": e,
            "class": c,
            "group": "major" if c < 5 else "minor",
            "count": 5000 if c < 5 else 50,
            "train_acc": 0.9,
            # mfw ahead of ce on held-out images by 1 point more each epoch after the decay
            "heldout_acc": 0.8 + (0.01 * (e - last_decay) if r.method == "mfw" else 0.0),
        }
        for r in runs.itertuples()
        for e in range(last_decay + 1, epochs + 1)
        for c in range(10)
    ]
    return pd.DataFrame(rows)


AGAINST_BALANCED = "minor data go to the major classes more than under balance"
OVERFIT_CONTROL = "over-fitting is induced by imbalance, not by few images alone"
REPLACED = (  # registered rules that the revised ones replace here
    "minor data are classified into the major classes early",  # a fixed 0.5: AGAINST_BALANCED
    "over-fitting: minor classes generalise worse than they fit",  # no premise: OVERFIT_CONTROL
)


def family(name: str) -> Family:
    """A family of the committed paper_counts analysis: A (accuracy) or C (mechanism)."""
    return next(f for f in repo_analysis("paper_counts").families if f.name == name)


def data(tables: dict, curves: dict, done: set[str]) -> core.Data:
    """What the paper_counts analysis reads: these runs and curves, ``done`` finished, each
    study's plateau window at epoch 28 with 100 diagnostic images a class."""
    analysis = repo_analysis("paper_counts")
    return core.Data(
        params=load_params(REPO / "params.yaml"),
        tables=tables,
        curves=curves,
        done=done,
        controls=analysis.controls,
        recipes={s: (28, 100) for s in analysis.studies},
    )


def judge(runs: pd.DataFrame) -> pd.DataFrame:
    """Family A with counts_step's runs, the rest pending."""
    tables, curves = {"counts_step": runs}, {"counts_step": flat_curves(runs)}
    return revised.judge_family(data(tables, curves, {"counts_step"}), family("A")).frame


def test_a_study_is_judged_when_it_leaves_pending_and_only_with_every_run(params):
    full = step_runs({c: 1.0 for c in range(10)})
    assert len(full) == 78
    loaded, analysis = resolved(params), repo_analysis("paper_counts")
    everything = dataclasses.replace(analysis, pending=analysis.studies)
    assert revised.finished(loaded, everything, {"counts_step": full}) == set()  # not judged
    left = tuple(s for s in analysis.studies if s != "counts_step")
    step = dataclasses.replace(analysis, pending=left)
    assert revised.finished(loaded, step, {"counts_step": full}) == {"counts_step"}
    twice = pd.concat([full.iloc[:-1], full.iloc[:1]])  # 78 rows, one run missing
    for short in (full.iloc[:-1], twice):
        with pytest.raises(
            UserError,
            match="analyses/paper_counts.yaml: counts_step is not pending but .* lacks 1 of its 78",
        ):
            revised.finished(loaded, step, {"counts_step": short})


def test_pending_tests_count_as_p_one_in_the_accuracy_family():
    table = judge(step_runs({c: 2.0 for c in range(5, 10)}))  # +2 on each minor class
    assert len(table) == len(family("A").tests) == 6
    top1 = table.iloc[0]
    assert top1.n == 39 and top1["mean"] == pytest.approx(1.0, abs=0.05)
    # Holm over six p-values, five of them 1: the tested one is multiplied by 6
    assert top1.holm_p == pytest.approx(min(1.0, 6 * top1.p))
    assert top1.verdict == "reproduced" and top1.plateaued == "78/78"
    assert top1.decided_by == "none"
    assert table.iloc[1].verdict.startswith("pending: counts_exp")
    assert table.iloc[5].claim.startswith("MFW improves minor group's accuracy")
    assert table.iloc[5]["mean"] == pytest.approx(2.0, abs=0.1)  # the minor group alone


def test_a_top1_verdict_that_one_class_carries_names_it():
    table = judge(step_runs({6: 10.0}))  # +1 top-1, all of it from class 6
    top1 = table.iloc[0]
    assert top1["mean"] == pytest.approx(1.0, abs=0.05)
    assert top1.verdict == "reproduced (decided by class 6)"


def test_mechanism_tests_wait_for_the_control_and_a_setting_without_one_says_so():
    runs = step_runs({c: 1.0 for c in range(10)}).assign(progress_gap=0.1)
    tables, curves = {"counts_step": runs}, {"counts_step": flat_curves(runs)}
    judged = revised.judge_family(data(tables, curves, {"counts_step"}), family("C"))
    frame = judged.frame
    claims_of = {t.claim.name for t in judged.tests}
    assert not claims_of & set(REPLACED)  # the fixed 0.5 and the premise-free gap are gone
    assert {AGAINST_BALANCED, OVERFIT_CONTROL} <= claims_of
    assert set(frame.study) == {"counts_step", "counts_exp", "counts_mid"}  # the family's
    step = frame[frame.study == "counts_step"].set_index("claim")
    assert step.loc[AGAINST_BALANCED].verdict.startswith("pending: counts_balanced")
    assert step.loc[OVERFIT_CONTROL].verdict.startswith("pending: counts_balanced")
    mid = frame[frame.study == "counts_mid"].set_index("claim")
    assert mid.loc[AGAINST_BALANCED].verdict == core.NO_CONTROL  # no 2k control, ever
    assert frame[frame.study == "counts_exp"].verdict.str.startswith("pending: counts_exp").all()
    gap = step.loc["under-fitting: major classes are fit first"]
    assert gap.n == 39 and gap.verdict == "reproduced"  # 0.1 in every ce run
    # Holm over every test the design makes: the measured ones and the pending ones at p = 1;
    # the mid point's two control claims are not tests
    in_family = len(frame) - 2
    p = frame.p.fillna(1.0).where(frame.verdict != core.NO_CONTROL).dropna()
    assert len(p) == in_family
    position = list(p.index).index(
        frame.index[(frame.study == "counts_step") & (frame.claim == gap.name)][0]
    )
    assert gap.holm_p == pytest.approx(stats.holm(p.tolist())[position])


def curve_rows(runs: pd.DataFrame, count, fit: list[float], to_major: float) -> list:
    """Curve rows of ce runs at epochs 1 and 32: run k's classes end at ``fit[k]`` (cycling),
    and its minor classes' share predicted as a major class is ``to_major``."""
    return [
        {
            "setting": r.setting,
            "family": r.family,
            "method": "ce",
            "seed": r.seed,
            "epoch": epoch,
            "class": c,
            "group": "x",
            "count": count(k, c),
            "train_acc": fit[k % len(fit)],
            "to_major": None if c < 5 else to_major,
        }
        for k, r in enumerate(runs.itertuples())
        for c in range(10)
        for epoch in (1, 32)
    ]


def with_control(fit_minor: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """counts_step's ce runs and a balanced control per (subset, seed) whose minor classes end
    at ``fit_minor[k]`` clean training accuracy (k: the run's position, cycling)."""
    runs = step_runs({}, seeds=range(2)).assign(
        bottom_classes="5 6 7 8 9", overfit_gap=0.3, progress_gap=0.1
    )
    imbalanced = runs[runs.method == "ce"]
    control = imbalanced.assign(
        setting=imbalanced.setting.str.replace("-step-", "-balanced-"),
        family="fashion_mnist_5k-balanced-r100",
        overfit_gap=0.1,
    )
    curves = [  # epoch 1 (the first quarter) and the last, 32
        *curve_rows(control, lambda k, c: 50, fit_minor, to_major=0.1),
        *curve_rows(imbalanced, lambda k, c: 5000 if c < 5 else 50, [0.99], to_major=0.6),
    ]
    return pd.concat([runs, control], ignore_index=True), pd.DataFrame(curves)


def judge_with_control(fit_minor: list[float]) -> pd.DataFrame:
    both, curves = with_control(fit_minor)
    tables = {
        "counts_step": both[~both.family.str.contains("balanced")],
        "counts_balanced": both[both.family.str.contains("balanced")],
    }
    frames = {s: curves[curves.setting.isin(t.setting)] for s, t in tables.items()}
    done = {"counts_step", "counts_balanced"}
    frame = revised.judge_family(data(tables, frames, done), family("C")).frame
    return frame[frame.study == "counts_step"].set_index("claim")


def test_over_fitting_is_judged_only_where_every_control_fits_its_classes():
    fits = judge_with_control([0.97])
    assert repo_analysis("paper_counts").controls["counts_step"] == "counts_balanced"
    assert fits.loc[OVERFIT_CONTROL].premise == "6/6 controls fit"
    assert fits.loc[OVERFIT_CONTROL]["mean"] == pytest.approx(0.2)  # 0.3 - 0.1
    assert fits.loc[AGAINST_BALANCED]["mean"] == pytest.approx(0.5)  # 0.6 - 0.1
    one_short = judge_with_control([0.97, 0.97, 0.90])
    assert one_short.loc[OVERFIT_CONTROL].verdict == core.PREMISE_FAILS.format(fit="4 of 6")
    assert one_short.loc[AGAINST_BALANCED].n == 6  # its rule needs no premise


def test_the_curve_has_one_point_per_minor_count(params):
    loaded, analysis = resolved(params), repo_analysis("paper_counts")
    runs = step_runs({c: 1.0 for c in range(10)})
    points = views.curve(loaded, analysis, {"counts_step": runs}, {"counts_step"})
    assert list(points["minor images"]) == [5, 20, 50]
    assert (
        list(points.study)
        == list(analysis.curve.studies)
        == ["confirm", "counts_mid", "counts_step"]
    )
    assert set(points.setting) == {"-", FAMILY}  # step 100 where judged
    step = points.set_index("study").loc["counts_step"]
    assert step.pairs == 39 and step["top-1"].startswith("+1.00")
    assert points.set_index("study").loc["counts_mid", "top-1"] == "pending"


def test_the_sensitivity_table_names_each_group_and_each_left_out_class():
    runs = step_runs({6: 10.0})  # +1 top-1, all of it from class 6 (a minor class)
    runs["group_major"] = runs[[f"class_{c}" for c in range(5)]].mean(axis=1)
    runs["group_few"] = float("nan")  # a group the setting does not have: no column
    runs["bottom_classes"] = runs.subset.map({500: "5 6 7 8 9", 501: "5 6 7 8", 502: "6 9"})
    tables = {"counts_step": runs}
    judged = revised.judge_family(
        data(tables, {"counts_step": flat_curves(runs)}, {"counts_step"}), family("A")
    )
    text = sensitivity.sensitivity_markdown([judged], tables)
    assert "Holm's p with the new p in family A" in text.splitlines()[0]
    section = text.split("## counts_step: MFW improves top-1 (mfw vs ce)")[1].split("## ")[0]
    groups = [
        line
        for line in section.splitlines()
        if line.startswith("| major") or line.startswith("| minor")
    ]
    effect = [float(line.split("|")[2].split()[0]) for line in groups]
    assert effect == [0.0, pytest.approx(2.0, abs=0.05)]  # majors untouched; +10 on 1 of 5 minors
    left = {
        int(line.split("|")[1]): line
        for line in section.split("left_out")[1].splitlines()
        if line.split("|")[1:2] and line.split("|")[1].strip().isdigit()
    }
    assert sorted(left) == list(range(10))
    assert left[6].rstrip(" |").endswith("yes")  # without class 6 nothing is left: it decides
    assert "+0.00" in left[6] and "reproduced" not in left[6].replace("not reproduced", "")
    assert all(left[c].rstrip(" |").endswith("no") for c in left if c != 6)
    per_subset = section.split("Per subset (mean of its pairs):")[1].split("left_out")[0]
    subsets = [
        [cell.strip() for cell in line.split("|")[1:-1]]
        for line in per_subset.splitlines()
        if line.startswith("| 50")
    ]
    assert [row[:3] for row in subsets] == [
        ["500", "5 6 7 8 9", "13"],
        ["501", "5 6 7 8", "13"],
        ["502", "6 9", "13"],
    ]
    assert "| few" not in per_subset and all(len(row) == 6 for row in subsets)
    for row in subsets:  # top-1, major, minor: all of it in class 6, a fifth of the minors
        assert float(row[4]) == 0.0
        assert float(row[3]) == pytest.approx(1.0, abs=0.05)
        assert float(row[5]) == pytest.approx(2.0, abs=0.2)
    assert "## counts_exp: MFW improves top-1 (mfw vs ce)\n\npending: counts_exp" in text


def _moved(curves: pd.DataFrame, subset: int, method: str, seed: int) -> pd.Series:
    """The rows of one run's minor group at the window's last epoch."""
    return (
        (curves.setting == f"fashion_mnist_5k_s{subset}-step-r100")
        & (curves.method == method)
        & (curves.seed == seed)
        & (curves.group == "minor")
        & (curves.epoch == 32)
    )


def test_the_plateau_file_shows_each_run_that_moved_and_where_the_window_lies(params):
    runs = step_runs({})
    curves = flat_curves(runs)
    curves.loc[_moved(curves, 501, "mfw", 7), "train_acc"] = 0.95  # minors +0.05 in 29-32
    curves.loc[_moved(curves, 500, "mfw", 3), "train_acc"] = 0.84  # and -0.06 here
    gone = (curves.setting == "fashion_mnist_5k_s502-step-r100") & (curves.seed == 12)
    curves = curves[~(gone & (curves.epoch == 30) & (curves.method == "ce"))]  # a hole
    tables, curves = {"counts_step": runs}, {"counts_step": curves}
    judged = revised.judge_family(data(tables, curves, {"counts_step"}), family("A"))
    assert judged.frame.iloc[0].plateaued == "76/78"
    windows = revised.windows_of(resolved(params), repo_analysis("paper_counts").studies)
    assert windows["counts_step"] == plateau.Window(28, 100, 22)  # recipe counts
    windows["counts_step"] = plateau.Window(28, 100, None)  # a recipe without DRW
    text = views.plateau_markdown([judged], curves, windows)
    section = text.split("## counts_step: mfw vs ce (fashion_mnist_5k-step-r100)")[1]
    section = section.split("## ")[0]
    shares = (
        "Epochs 29-32, after the last decay at 28. 76 of 78 runs plateaued: ce 39/39, mfw 37/39"
    )
    assert shares in section  # the base first, then the method
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    rows = [[cell.strip() for cell in row] for row in rows]
    assert ["minor", "250", "0.030", "76/78", "0.000", "-0.060"] in rows  # largest, signed
    assert ["major", "500", "0.030", "78/78", "0.000", "+0.000"] in rows
    moved = [row for row in rows if row[0].startswith("fashion_mnist")]
    assert moved == [  # every group that moved, by setting
        ["fashion_mnist_5k_s500-step-r100", "mfw", "3", "minor", "-0.060", "250", "0.030"],
        ["fashion_mnist_5k_s501-step-r100", "mfw", "7", "minor", "+0.050", "250", "0.030"],
    ]
    # the pair with a hole in its held-out curve is left out of the held-out line
    assert "(points, classes weighted equally, mean over the 38 pairs with every epoch;" in section
    assert "registered test): 29 +1.00, 30 +2.00, 31 +3.00, 32 +4.00." in section
    assert "## counts_ldam_step: mfw_ldam_drw vs ldam_drw\n\npending: counts_ldam_step" in text


def test_the_plateau_window_text_places_the_drw_start_and_keeps_the_given_order():
    runs = step_runs({}, seeds=range(2))
    curves = flat_curves(runs)
    for drw, where in ((22, "before"), (28, "before"), (30, "inside"), (36, "after")):
        window = plateau.Window(28, 100, drw)
        text = plateau.section("## s", curves, ["mfw", "ce"], window)
        assert f"starts at epoch {drw}, {where} the window)" in text[1]
        assert text[1].endswith("12 of 12 runs plateaued: mfw 6/6, ce 6/6.")  # as given
        assert text[3] == "Every group of every run was flat."
        assert "ce - mfw, by epoch of the window" in text[4]  # base first: the last is the method


VERDICTS = {  # one verdict text of each kind the rule sets write
    "yes": "reproduced",
    "decided": "reproduced (decided by class 6)",
    "no": "not reproduced (interval includes 0)",
    "holm": "not reproduced after Holm's correction",
    "opposite": "not reproduced (interval on the opposite side)",
    "opposite, not holm": (
        "not reproduced (interval on the opposite side, not after Holm's correction)"
    ),
    "pending": "pending: counts_exp has not finished; Holm's correction counts it as p = 1",
    "premise": "premise fails (4 of 6 balanced control ce runs fit their classes)",
    "not tested": "not tested in this setting (no balanced control)",
}


def test_a_verdict_becomes_one_grid_mark():
    """Each kind of verdict has its own mark (the committed grid pins their texts); a dagger
    (the subset means cross the null) and a deciding class add to the verdict's mark; the
    opposite side not confirmed by Holm's p says both; no test reads '-'."""
    marks = {kind: grid.mark(text) for kind, text in VERDICTS.items()}
    kinds = ("yes", "no", "holm", "opposite", "pending", "premise", "not tested")
    assert len({marks[k] for k in kinds}) == len(kinds)
    assert marks["not tested"] == "-"
    assert marks["opposite, not holm"].startswith(marks["opposite"])
    assert marks["opposite, not holm"] not in (marks["opposite"], marks["no"])
    assert marks["decided"].startswith(marks["yes"]) and "6" in marks["decided"]
    assert marks["decided"] != marks["yes"]
    dagger = grid.mark(VERDICTS["yes"], True)
    assert dagger.startswith(marks["yes"]) and dagger != marks["yes"]
    assert grid.mark(VERDICTS["no"], True) == marks["no"]  # only a reproduced verdict has one
    assert (
        grid.mark("not applicable (the balanced control's ce runs do not fit)") == marks["premise"]
    )


def test_the_grid_puts_each_study_under_its_image_counts(params):
    loaded = resolved(params)
    confirmed = pd.read_csv(REPO / "results/confirmation/verdicts.csv")
    others = {"confirmation": (repo_analysis("confirmation"), confirmed)}
    assert repo_analysis("paper_counts").grid_with == ("confirmation",)
    counted = pd.DataFrame(
        [
            {
                "study": "counts_step",
                "setting": "fashion_mnist_5k-step-r100",
                "claim": "MFW improves top-1 (mfw vs ce)",
                "verdict": VERDICTS["decided"],
            },
            {
                "study": "counts_ldam_step",
                "setting": "fashion_mnist_5k-step-r100",
                "claim": "MFW improves top-1 (mfw_ldam_drw vs ldam_drw)",
                "verdict": VERDICTS["no"],
            },
            {
                "study": "counts_mid",
                "setting": "fashion_mnist_2k-step-r100",
                "claim": "MFW improves top-1 (mfw vs ce)",
                "verdict": "pending: counts_mid has not finished",
            },
        ]
    )
    table = grid.grid_table(loaded, others, counted)
    assert list(table.columns) == ["500/5", "500>5", "150/15", "150>15", "5k/50", "2k/20"]
    assert table.loc["MFW improves top-1 over ce", "5k/50"] == grid.mark(VERDICTS["decided"])
    ldam = table.loc["MFW + LDAM-DRW improves on LDAM-DRW", "5k/50"]  # the same setting
    assert ldam == grid.mark(VERDICTS["no"])
    assert table.loc["MFW improves top-1 over ce", "2k/20"] == grid.mark(VERDICTS["pending"])
    # from the committed verdicts: the opposite side at 500>5
    assert table.loc["MFW + DRW improves on DRW", "500>5"] == grid.mark(VERDICTS["opposite"])
    assert table.loc["MFW improves the minor group (vs ce)", "500/5"] == "-"
    lines = grid.grid_markdown(loaded, others, counted).splitlines()
    rows = [line for line in lines if line.startswith("|")]
    assert len(rows) == 2 + len(grid.ROWS)
    assert "pending tests count as p = 1" in lines[0].lower()  # the key says only what is true
    finished = counted.assign(verdict=VERDICTS["no"])
    legend = grid.grid_markdown(loaded, others, finished).splitlines()[0]
    assert "pending tests count" not in legend.lower()
    waiting = confirmed.assign(verdict="pending: confirm has not finished")  # the other analysis
    others = {"confirmation": (repo_analysis("confirmation"), waiting)}
    legend = grid.grid_markdown(loaded, others, finished).splitlines()[0]
    assert "pending tests count as p = 1" in legend.lower()
