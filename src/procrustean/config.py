"""Load params.yaml: check it against the schema and the cross-field rules, fill every default
(the only place defaults are filled), and type it (``procrustean.entries``); a study's grid."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from procrustean.entries import (
    Dataset,
    Entry,
    Loss,
    Method,
    Mixing,
    Params,
    Part,
    Recipe,
    Study,
    Weighting,
)
from procrustean.errors import UserError
from procrustean.params_rules import MAX_SEED, check_cross_field

__all__ = ["MAX_SEED", "load_params", "validate_params"]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "params.schema.yaml"
ANALYSIS_SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "analysis.schema.yaml"
DEFAULT_PARAMS = Path("params.yaml")


@cache
def _schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _resolve_ref(schema: dict) -> dict:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node: Any = _schema()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return {**_resolve_ref(node), **{k: v for k, v in schema.items() if k != "$ref"}}


def _fill(instance: Any, schema: dict) -> None:
    """Set every missing key that has a ``default`` in ``schema`` (in place, recursively)."""
    schema = _resolve_ref(schema)
    if not isinstance(instance, dict):
        return
    for sub in schema.get("allOf", []):
        cond = sub.get("if")
        if cond is None:
            _fill(instance, sub)
        else:
            branch = "then" if jsonschema.Draft202012Validator(cond).is_valid(instance) else "else"
            if branch in sub:
                _fill(instance, sub[branch])
    props = schema.get("properties", {})
    for key, sub in props.items():
        sub = _resolve_ref(sub)
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill(instance[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in props:
                _fill(value, extra)


def _message(err: jsonschema.ValidationError) -> str:
    if err.validator == "enum" and err.schema_path and "propertyNames" in err.schema_path:
        return (
            f"key {err.instance!r} does not apply here (allowed: {', '.join(err.validator_value)})"
        )
    return err.message


def validate_params(params: Any, source: str = "params.yaml") -> dict:
    """Check ``params`` against the schema and the cross-references between catalogues, and
    return a copy with every default filled in.

    Raises UserError naming the first offending key and the rule it broke.
    """
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(
        validator.iter_errors(params),
        key=lambda e: (len(e.path), [str(p) for p in e.path], str(e.schema_path)),
    )
    if errors:
        err = errors[0]
        raise UserError(
            f"{source}: {_where(err.path)}: {_message(err)} (schema rule '{err.validator}'); "
            f"fix that value (rules in {SCHEMA_PATH.relative_to(REPO_ROOT)})"
        )
    for name, study in params["studies"].items():
        for key, catalogue in (("datasets", "datasets"), ("methods", "methods")):
            for i, ref in enumerate(study[key]):
                if ref not in params[catalogue]:
                    raise UserError(
                        f"{source}: studies.{name}.{key}[{i}]: unknown {key[:-1]} '{ref}'; "
                        f"define it under '{catalogue}:' or use one of {sorted(params[catalogue])}"
                    )
        if study["recipe"] not in params["recipes"]:
            raise UserError(
                f"{source}: studies.{name}.recipe: unknown recipe '{study['recipe']}'; "
                f"define it under 'recipes:' or use one of {sorted(params['recipes'])}"
            )
    filled = copy.deepcopy(params)
    _fill(filled, _schema())

    check_cross_field(filled, source)
    return filled


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that names a key twice (PyYAML keeps the last
    silently, so a duplicated method or study would hide the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path) -> Any:
    """A params file as written (no defaults filled), or a UserError saying why it cannot be read
    (for a YAML error: the line and the problem, which Snakemake's own loader does not name)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: params file not found; run from the repository root or pass --params"
        )
    try:
        return yaml.load(path.read_text(), Loader=UniqueKeyLoader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        problem = str(getattr(exc, "problem", None) or exc.__class__.__name__).replace("\n", " ")
        raise UserError(f"{path}:{line} is not valid YAML ({problem}); fix it") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"{path}: cannot be read as a text file ({exc.__class__.__name__}); give a params file"
        ) from exc


def load_params(path: str | Path = DEFAULT_PARAMS) -> Params:
    """Read a params file, validate it and resolve it into types; every entry point starts here."""
    params = read_yaml(path)
    return Params.build(validate_params(params, str(path)), str(path))


ENTRY_TYPES: dict[str, type[Entry] | type[Part]] = {
    "dataset": Dataset,
    "recipe": Recipe,
    "method": Method,
    "study": Study,
    "loss": Loss,
    "weighting": Weighting,
    "mixing": Mixing,
}


def resolve_entry(kind: str, entry: dict, name: str = "") -> Any:
    """One catalogue entry or method part on its own (``kind`` as in the schema's $defs),
    validated, with the defaults filled as ``load_params`` fills them, and typed: for code that
    builds a single component (tests, benchmarks)."""
    schema = {"$ref": f"#/$defs/{kind}", "$defs": _schema()["$defs"]}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(entry))
    if errors:
        raise UserError(f"{kind} {name or entry!r}: {_message(errors[0])}")
    filled = copy.deepcopy(entry)
    _fill(filled, {"$ref": f"#/$defs/{kind}"})
    typed = ENTRY_TYPES[kind]
    return typed.build(name, filled) if issubclass(typed, Entry) else typed.of(filled)


def resolve_params(params: dict, source: str, path: str | Path) -> Params:
    """Validate and type params already read (Snakemake's config, with its overrides); ``path``
    is the file the stages will read them from."""
    return Params.build(validate_params(params, source), str(path))


@dataclass(frozen=True, order=True)
class Setting:
    """One imbalanced split: dataset x profile x ratio."""

    dataset: str
    profile: str
    ratio: int

    @property
    def name(self) -> str:
        return f"{self.dataset}-{self.profile}-r{self.ratio}"


@dataclass(frozen=True, order=True)
class Run:
    """One training run: a setting, a method and a seed."""

    setting: Setting
    method: str
    seed: int


def study_settings(params: Params, study: str) -> list[Setting]:
    """The study's splits, in grid order."""
    s = params.study(study)
    return [
        Setting(d, p, int(r)) for d, p, r in itertools.product(s.datasets, s.profiles, s.ratios)
    ]


def study_runs(params: Params, study: str) -> list[Run]:
    """The study's training runs, in grid order."""
    s = params.study(study)
    return [
        Run(setting, m, int(seed))
        for setting in study_settings(params, study)
        for m in s.methods
        for seed in s.seeds
    ]
