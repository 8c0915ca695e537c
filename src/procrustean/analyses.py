"""Registered analyses: one YAML file per analysis under ``analyses/``, checked against
workflow/schemas/analysis.schema.yaml and against params.yaml's studies, then typed.

An analysis names the studies it judges together, its tests in Holm families and the rule set
that turns them into verdicts; ``procrustean judge`` reads it, and Snakemake and DVC make one
stage of each file. A new question is a new file: no code names an analysis or its studies.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from procrustean.config import (
    ANALYSIS_SCHEMA_PATH,
    REPO_ROOT,
    _where,  # the key path as params.yaml's errors name it
)
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.measures import CATALOGUE, reading, texts

ANALYSES_DIR = Path("analyses")
OUTPUT_DIR = "results/{name}"
SCHEMA_NAME = ANALYSIS_SCHEMA_PATH.relative_to(REPO_ROOT).as_posix()


@dataclass(frozen=True)
class Test:
    """One registered test: ``measure`` of ``method`` (paired against ``base``, or against the
    balanced control), claimed on ``side`` of its null; in ``study`` (None: in every setting
    the rule set gives it)."""

    method: str
    measure: str
    side: str
    study: str | None = None
    base: str | None = None
    against: str | None = None
    null: float | None = None
    claim: str | None = None

    @property
    def greater(self) -> bool:
        return self.side == "greater"


@dataclass(frozen=True)
class Family:
    """A Holm family: its tests, corrected together."""

    name: str
    title: str
    tests: tuple[Test, ...]


@dataclass(frozen=True)
class Curve:
    """``method - base`` at ``setting`` (profile-rRATIO) in each study, over the minors' count."""

    studies: tuple[str, ...]
    method: str
    base: str
    setting: str


@dataclass(frozen=True)
class Analysis:
    """One analysis file, validated against the schema and params.yaml, defaults filled."""

    name: str
    path: str
    question: str
    title: str
    rules: str
    studies: tuple[str, ...]
    pending: tuple[str, ...]
    families: tuple[Family, ...]
    controls: dict[str, str]
    fit: dict[str, float] | None
    sensitivity: tuple[str, ...]
    plateau: bool
    curve: Curve | None
    pairs: int | None
    expected_tests: dict[str, int]
    overfit_ratios: tuple[int, ...]
    post_hoc: bool
    grid_with: tuple[str, ...]
    readme: tuple[dict[str, str], ...] = ()
    resolved: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> tuple[str, ...]:
        """The studies whose reports it reads now, in its order."""
        return tuple(s for s in self.studies if s not in self.pending)

    @property
    def output_dir(self) -> str:
        return OUTPUT_DIR.format(name=self.name)

    def tests(self) -> Iterator[tuple[Family, Test]]:
        """Every test with its family, in the file's order."""
        for family in self.families:
            for test in family.tests:
                yield family, test


def analysis_path(name: str) -> Path:
    return ANALYSES_DIR / f"{name}.yaml"


def names(root: Path = Path(".")) -> list[str]:
    """The registered analyses (the files under analyses/), sorted."""
    return sorted(p.stem for p in (root / ANALYSES_DIR).glob("*.yaml"))


@cache
def _schema() -> dict:
    return yaml.safe_load(ANALYSIS_SCHEMA_PATH.read_text())


def _read(path: Path) -> dict:
    if not path.is_file():
        known = ", ".join(names()) or "none"
        raise UserError(
            f"{path}: no such analysis; add the file (docs/analyses.md) or name one of: {known}"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark else ""
        raise UserError(f"{path}: not valid YAML{line}; fix the file's syntax") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: (top level): not a mapping of keys; see {SCHEMA_NAME}")
    return data


def _check_schema(path: Path, data: dict) -> dict:
    """The file's content with the schema's top-level defaults filled, or a UserError naming
    the first offending key."""
    errors = sorted(
        jsonschema.Draft202012Validator(_schema()).iter_errors(data),
        key=lambda e: (len(e.path), [str(p) for p in e.path], str(e.schema_path)),
    )
    if errors:
        err = errors[0]
        raise UserError(
            f"{path}: {_where(err.path)}: {err.message} (schema rule '{err.validator}'); "
            f"fix that value (rules in {SCHEMA_NAME})"
        )
    filled = copy.deepcopy(data)
    for key, spec in _schema()["properties"].items():
        if key not in filled and "default" in spec:
            filled[key] = copy.deepcopy(spec["default"])
    return filled


def _refuse(path: Path, key: str, problem: str) -> UserError:
    return UserError(f"{path}: {key}: {problem}")


def _check_studies(path: Path, data: dict, params: Params) -> None:
    """Its studies are params.yaml's; pending, controls, family studies and the curve are its
    own studies."""
    for i, study in enumerate(data["studies"]):
        if study not in params.studies:
            raise _refuse(
                path,
                f"studies[{i}]",
                f"unknown study '{study}'; define it under params.yaml's studies: or remove it",
            )
    own = set(data["studies"])
    named = [(f"pending[{i}]", s) for i, s in enumerate(data["pending"])]
    named += [(f"controls.{s}", s) for s in data["controls"]]
    named += [(f"controls.{s} (its control)", c) for s, c in data["controls"].items()]
    for k, family in enumerate(data["families"]):
        named += [
            (f"families[{k}].studies[{i}]", s) for i, s in enumerate(family.get("studies", []))
        ]
    if "curve" in data:
        named += [(f"curve.studies[{i}]", s) for i, s in enumerate(data["curve"]["studies"])]
    for key, study in named:
        if study not in own:
            raise _refuse(
                path, key, f"'{study}' is not one of its studies; add it to studies: or remove it"
            )


def _check_tests(path: Path, data: dict, params: Params) -> None:
    """Each test can be made: its methods ran in its study (or, preregistered, in one of the
    studies), its control exists, and it names a study exactly where the rule set needs one."""
    revised = data["rules"] == "revised"
    every = {m for s in data["studies"] for m in params.study(s).methods}
    for k, family in enumerate(data["families"]):
        for i, test in enumerate(family["tests"]):
            key = f"families[{k}].tests[{i}]"
            if texts(test) is None:
                ways = [
                    w
                    for w in ("single", "paired", "balanced")
                    if getattr(CATALOGUE[test["measure"]], w)
                ]
                raise _refuse(
                    path,
                    f"{key}.measure",
                    f"'{test['measure']}' cannot be read {reading(test)} (it reads: "
                    f"{', '.join(ways)}: 'paired' needs base:, 'balanced' needs against: balanced)",
                )
            if not revised and "study" in test:
                raise _refuse(
                    path,
                    f"{key}.study",
                    "the preregistered rules test every setting of the studies; remove the key",
                )
            studies = [test["study"]] if "study" in test else family.get("studies", [])
            if revised and not studies:
                raise _refuse(
                    path, key, "names no study; give it study: or give the family studies:"
                )
            for study in studies:
                if study not in data["studies"]:
                    raise _refuse(
                        path,
                        f"{key}.study",
                        f"'{study}' is not one of its studies; add it to studies: or fix the name",
                    )
                _check_methods(path, key, test, params.study(study).methods, f"study {study}")
                explicit = "study" in test  # a family's study without one: "not tested" there
                if revised and explicit and "against" in test and study not in data["controls"]:
                    raise _refuse(
                        path,
                        f"{key}.against",
                        f"study {study} has no balanced control; name one under controls: "
                        f"({study}: CONTROL_STUDY) or drop against:",
                    )
            if revised:
                _check_revised(path, key, test)
            else:
                _check_methods(path, key, test, every, "any of its studies")


REVISED_ONLY_SINGLE = ("overfit_excess", "minor_to_major")  # what the revised rules replaced


def _check_revised(path: Path, key: str, test: dict) -> None:
    """What the revised rules can measure: the balanced control pairs ce runs (the control
    studies train ce), and two preregistered readings are replaced by their controlled ones."""
    if test["measure"] in REVISED_ONLY_SINGLE:
        better = (
            "overfit_gap with against: balanced"
            if test["measure"] == "overfit_excess"
            else ("to_major with against: balanced")
        )
        raise _refuse(
            path,
            f"{key}.measure",
            f"'{test['measure']}' is a preregistered reading the revised rules replace; use {better}",
        )
    if "against" in test and test["method"] != "ce":
        raise _refuse(
            path,
            f"{key}.method",
            "against: balanced compares ce runs with the control's ce runs; use method: ce",
        )


def _check_controls(path: Path, data: dict, params: Params) -> None:
    """A control is a balanced study of ce on the same datasets and seeds as its study."""
    for study, control in data["controls"].items():
        mine, theirs = params.study(study), params.study(control)
        problem = ""
        if set(theirs.profiles) != {"balanced"}:
            problem = f"'{control}' is not balanced (profiles {list(theirs.profiles)})"
        elif "ce" not in theirs.methods:
            problem = f"'{control}' trains no ce"
        elif not set(mine.datasets) <= set(theirs.datasets):
            problem = f"'{control}' lacks datasets of {study}"
        elif not set(mine.seeds) <= set(theirs.seeds):
            problem = f"'{control}' lacks seeds of {study}"
        if problem:
            raise _refuse(
                path,
                f"controls.{study}",
                f"{problem}; a control is the balanced profile, ce, on the study's datasets and "
                "seeds",
            )


def _check_claims(path: Path, analysis: Analysis) -> None:
    """No two tests of an analysis carry one claim name in one study (their rows would be one)."""
    from procrustean.measures import claim_name

    seen: dict[tuple[str, str], str] = {}
    for k, family in enumerate(analysis.families):
        for test in family.tests:
            where = (test.study or "", claim_name(test))
            if where in seen:
                raise _refuse(
                    path,
                    f"families[{k}]",
                    f"two tests are named '{where[1]}'"
                    + (f" in study {where[0]}" if where[0] else "")
                    + f" (also in family {seen[where]}); give one a claim: name",
                )
            seen[where] = family.name


def _check_curve(path: Path, data: dict, params: Params) -> None:
    """The curve's methods ran in each of its studies, and each has its setting."""
    curve = data.get("curve")
    if not curve:
        return
    profile, ratio = curve["setting"].split("-r")
    for i, study in enumerate(curve["studies"]):
        spec = params.study(study)
        for role in ("method", "base"):
            if curve[role] not in spec.methods:
                raise _refuse(
                    path,
                    f"curve.{role}",
                    f"'{curve[role]}' did not run in curve study {study}; fix the name or the study",
                )
        if profile not in spec.profiles or int(ratio) not in spec.ratios:
            raise _refuse(
                path,
                f"curve.studies[{i}]",
                f"{study} has no {curve['setting']} setting (profiles {list(spec.profiles)}, "
                f"ratios {list(spec.ratios)}); fix the curve's setting or drop the study",
            )


def _check_readme(path: Path, data: dict) -> None:
    for i, row in enumerate(data["readme"]):
        study = row.get("study")
        if study is not None and study not in data["studies"]:
            raise _refuse(
                path, f"readme[{i}].study", f"'{study}' is not one of its studies; fix the name"
            )


def _joined(name: str, root: Path, path: tuple[str, ...] = ()) -> None:
    """Refuse a cycle of grid_with between analysis files."""
    if name in path:
        cycle = " -> ".join((*path, name))
        raise UserError(f"{analysis_path(path[0])}: grid_with: a cycle ({cycle}); remove one")
    file = root / analysis_path(name)
    data = yaml.safe_load(file.read_text()) if file.is_file() else None
    for other in (data or {}).get("grid_with", []) if isinstance(data, dict) else []:
        _joined(other, root, (*path, name))


def _check_methods(path: Path, key: str, test: dict, methods, where: str) -> None:
    for role in ("method", "base"):
        name = test.get(role)
        if name is not None and name not in methods:
            raise _refuse(
                path,
                f"{key}.{role}",
                f"'{name}' did not run in {where} (its methods: {', '.join(sorted(methods))}); "
                "add it to the study or test a method it ran",
            )


def _check_grid(path: Path, data: dict, name: str, root: Path) -> None:
    for i, other in enumerate(data["grid_with"]):
        if other == name or not (root / analysis_path(other)).is_file():
            raise _refuse(
                path,
                f"grid_with[{i}]",
                f"'{other}' is not another registered analysis (analyses/{other}.yaml); fix the name",
            )


def _typed(name: str, path: Path, data: dict) -> Analysis:
    families = []
    for family in data["families"]:
        tests = []  # a family's studies in turn, each with every test that names none
        for study in family.get("studies") or [None]:
            tests += [
                Test(**{**test, "study": test.get("study", study)})
                for test in family["tests"]
                if study is None or "study" not in test
            ]
        if family.get("studies"):
            tests += [Test(**test) for test in family["tests"] if "study" in test]
        families.append(Family(family["name"], family.get("title", family["name"]), tuple(tests)))
    curve = data.get("curve")
    return Analysis(
        name=name,
        path=str(path),
        question=" ".join(data["question"].split()),
        title=data.get("title", " ".join(data["question"].split())),
        rules=data["rules"],
        studies=tuple(data["studies"]),
        pending=tuple(data["pending"]),
        families=tuple(families),
        controls=dict(data["controls"]),
        fit=data.get("fit"),
        sensitivity=tuple(data["sensitivity"]),
        plateau=data["plateau"],
        curve=Curve(tuple(curve["studies"]), curve["method"], curve["base"], curve["setting"])
        if curve
        else None,
        pairs=data.get("pairs"),
        expected_tests=dict(data["expected_tests"]),
        overfit_ratios=tuple(data["overfit_ratios"]),
        post_hoc=data["post_hoc"],
        grid_with=tuple(data["grid_with"]),
        readme=tuple(data["readme"]),
        resolved=data,
    )


def load(name: str, params: Params, root: Path = Path(".")) -> Analysis:
    """The analysis ``analyses/<name>.yaml``, checked; a UserError naming the file, the key and
    the fix when it cannot be judged as written."""
    path = analysis_path(name)
    data = _check_schema(path, _read(root / path))
    _check_studies(path, data, params)
    _check_tests(path, data, params)
    _check_grid(path, data, name, root)
    _joined(name, root)
    _check_controls(path, data, params)
    _check_curve(path, data, params)
    _check_readme(path, data)
    analysis = _typed(name, path, data)
    _check_claims(path, analysis)
    return analysis


def load_all(params: Params, root: Path = Path(".")) -> list[Analysis]:
    """Every registered analysis, checked."""
    return [load(n, params, root) for n in names(root)]


def judge_order(wanted: list[str], params: Params) -> list[str]:
    """``wanted`` with each analysis after the ones among them its grid joins."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in path:
            raise UserError(
                f"{analysis_path(name)}: grid_with: a cycle ({' -> '.join(path)}); remove one"
            )
        for other in load(name, params).grid_with:
            if other in wanted:
                visit(other, (*path, name))
        order.append(name)

    for name in wanted:
        visit(name, ())
    return order
