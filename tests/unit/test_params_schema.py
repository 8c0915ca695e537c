"""Defaults live in the schema, the code's registries match its enumerations, and params.yaml
takes DVC's and Snakemake's overrides one entry at a time."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from procrustean.config import ENTRY_TYPES, _schema, resolve_entry, validate_params
from procrustean.data.profiles import PROFILES
from procrustean.data.sources import SOURCES
from procrustean.entries import Entry
from procrustean.errors import UserError
from procrustean.methods.losses import LOSSES
from procrustean.methods.mixing import MIXINGS
from procrustean.methods.schedules import SAMPLERS, WEIGHTINGS
from procrustean.models.family import DEPTHS
from tests.helpers import MFW_DEFAULTS, REPO, run_cli, write_params

DEFS = _schema()["$defs"]


def _enum(*path: str) -> set:
    node = DEFS
    for key in path:
        node = node[key]
    return set(node["enum"])


def test_schema_enumerations_equal_the_code_registries():
    assert _enum("loss", "properties", "name") == set(LOSSES)
    assert _enum("mixing", "properties", "name") == set(MIXINGS)
    assert _enum("weighting", "properties", "name") == set(WEIGHTINGS)
    assert _enum("method", "properties", "sampler") == set(SAMPLERS)
    assert _enum("recipe", "properties", "model") == set(DEPTHS)
    assert _enum("dataset", "properties", "source") == set(SOURCES)
    assert set(DEFS["study"]["properties"]["profiles"]["items"]["enum"]) == set(PROFILES)


def _branch_defaults(node: dict) -> set[str]:
    keys = set()
    for sub in node.get("allOf", []):
        for branch in ("then", "else"):
            keys |= {
                k for k, v in sub.get(branch, {}).get("properties", {}).items() if "default" in v
            }
    return keys


@pytest.mark.parametrize(
    "kind", ["dataset", "recipe", "resources", "loss", "weighting", "mixing", "method", "study"]
)
def test_every_key_is_described_and_every_optional_key_has_a_default(kind):
    node = DEFS[kind]
    props, required = node["properties"], set(node.get("required", []))
    undescribed = [k for k, v in props.items() if "description" not in v and "$ref" not in v]
    assert not undescribed, undescribed
    if kind in ("loss", "weighting", "mixing"):
        return  # their optional keys depend on the name: checked below, per name
    defaulted = {k for k, v in props.items() if "default" in v} | _branch_defaults(node)
    # a key whose absence is a setting of its own says what absence means instead
    absent_means = {k for k, v in props.items() if v.get("x-absent-means")}
    missing = set(props) - required - defaulted - absent_means
    assert not missing, missing


@pytest.mark.parametrize(
    ("kind", "entry", "expected"),
    [
        ("loss", {"name": "focal"}, {"name": "focal", "gamma": 1.0}),
        ("loss", {"name": "cdt"}, {"name": "cdt", "gamma": 0.2}),
        ("loss", {"name": "ldam"}, {"name": "ldam", "max_margin": 0.5, "scale": 30.0}),
        ("weighting", {"name": "drw"}, {"name": "drw", "beta": 0.9999}),
        ("weighting", {"name": "none"}, {"name": "none"}),
        ("mixing", {"name": "mixup"}, {"name": "mixup", "alpha": 1.0}),
        (
            "mixing",
            {"name": "mfw"},
            MFW_DEFAULTS,
        ),
    ],
)
def test_defaults_are_filled_per_name(kind, entry, expected):
    typed = resolve_entry(kind, entry)
    if isinstance(typed, Entry):
        assert dict(typed.resolved) == expected
    else:
        assert typed == ENTRY_TYPES[kind].of(expected)


def test_validation_fills_defaults_and_the_run_records_them(params):
    params["methods"]["focal"]["loss"] = {"name": "focal"}
    del params["recipes"]["smoke"]["amp"]
    filled = validate_params(params)
    assert filled["methods"]["focal"]["loss"]["gamma"] == 1.0
    assert filled["recipes"]["smoke"]["amp"] is False
    assert filled["recipes"]["smoke"]["resources"]["runtime_min"] == 10
    assert "gamma" not in params["methods"]["focal"]["loss"]  # the input is left as it was


def test_a_key_that_does_not_apply_is_refused(params):
    params["methods"]["mfw"]["loss"] = {"name": "ce", "tau": 1.0}
    with pytest.raises(UserError, match=r"methods\.mfw\.loss: key 'tau' does not apply here"):
        validate_params(params)


def _anchors(text: str) -> list:
    return [
        e for e in yaml.parse(text) if getattr(e, "anchor", None) or isinstance(e, yaml.AliasEvent)
    ]


def test_params_file_has_no_anchors_aliases_or_merge_keys():
    text = (REPO / "params.yaml").read_text()
    assert not _anchors(text) and "<<:" not in text


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("methods.mfw.mixing.p_max", "0.3"),
        ("methods.mfw_la.mixing.layers", "[1,2]"),
        ("recipes.smoke.epochs", "2"),
        ("datasets.synthetic.seed", "5"),
        ("studies.smoke.minor_fraction", "0.3"),
    ],
)
def test_a_dvc_override_changes_exactly_one_entry(tmp_path, key, value):
    """DVC's own override code (what `dvc exp run -S` calls) on a copy of params.yaml."""
    from dvc.utils.hydra import apply_overrides

    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    before_text, before = path.read_text(), yaml.safe_load(path.read_text())
    apply_overrides(str(path), [f"{key}={value}"])
    after_text, after = path.read_text(), yaml.safe_load(path.read_text())
    changed = [
        (a, b)
        for a, b in zip(before_text.splitlines(), after_text.splitlines(), strict=False)
        if a != b
    ]
    assert len(before_text.splitlines()) == len(after_text.splitlines()) or key.endswith("layers")
    assert len(changed) <= 1 or key.endswith("layers"), changed
    expected = copy.deepcopy(before)
    node = expected
    *parents, last = key.split(".")
    for part in parents:
        node = node[part]
    node[last] = yaml.safe_load(value)
    assert after == expected  # that entry and nothing else


def test_dataset_keys_of_another_source_are_refused(params):
    params["datasets"]["fashion_mnist"]["image_size"] = 28
    with pytest.raises(
        UserError, match=r"datasets\.fashion_mnist: key 'image_size' does not apply"
    ):
        validate_params(params)


def test_loading_is_unchanged_by_a_second_fill(repo_params):
    once = validate_params(repo_params)
    assert validate_params(once) == once
    assert Path(REPO / "params.yaml").is_file()


def test_params_yaml_survives_dvcs_round_trip(tmp_path):
    """`dvc exp run -S` rewrites params.yaml with DVC's own YAML dumper: it must change exactly
    the entry set (no requoted or refolded line elsewhere), or the experiment's diff and the
    committed file drift apart."""
    from dvc.utils.serialize import modify_yaml

    copy = tmp_path / "params.yaml"
    copy.write_text((REPO / "params.yaml").read_text())
    with modify_yaml(str(copy)) as data:
        old = data["methods"]["mfw"]["mixing"]["p_max"]
        data["methods"]["mfw"]["mixing"]["p_max"] = 0.3
    before = (REPO / "params.yaml").read_text().splitlines()
    after = copy.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [(f"      p_max: {old}", "      p_max: 0.3")]


OLD_BLOCKS = {  # the designs params.yaml held before they became files under analyses/
    "confirmation": {"studies": ["confirm"], "pending": [], "pairs": 15, "accuracy_tests": 11},
    "paper_counts": {"studies": ["counts_step"], "pending": []},
}


@pytest.mark.parametrize("block", sorted(OLD_BLOCKS))
def test_params_yaml_holds_no_design(tmp_path, params, block):
    """The judging designs are analysis files now: a params.yaml that still holds one is refused
    in one line naming the key, not read."""
    params[block] = OLD_BLOCKS[block]
    write_params(tmp_path, params)
    proc = run_cli("validate", cwd=tmp_path)
    assert proc.returncode == 2 and f"'{block}' was unexpected" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_an_analysis_is_a_file_and_may_be_absent(tmp_path, repo_params, monkeypatch):
    """Each file under analyses/ is one judge stage in dvc.yaml; a folder without them has
    none (and reads no verdicts); one that joins an analysis not registered is refused."""
    from procrustean.analyses import load, load_all
    from procrustean.config import resolve_params
    from procrustean.engines import dvc_yaml

    loaded = resolve_params(copy.deepcopy(repo_params), "params.yaml", "params.yaml")
    monkeypatch.chdir(REPO)
    found = load_all(loaded)
    assert [a.name for a in found] == ["confirmation", "fit_regime", "paper_counts"]
    rendered = dvc_yaml.render(loaded)
    for analysis in found:
        assert analysis.finished == tuple(s for s in analysis.studies if s not in analysis.pending)
        assert f"  judge-{analysis.name}:\n" in rendered
    monkeypatch.chdir(tmp_path)  # no analyses/ folder
    assert load_all(loaded) == []
    bare = dvc_yaml.render(loaded)
    assert "judge" not in bare and "results/confirmation" not in bare
    (tmp_path / "analyses").mkdir()
    shutil.copy(REPO / "analyses/paper_counts.yaml", tmp_path / "analyses")
    with pytest.raises(UserError) as refused:  # its grid joins confirmation, not registered here
        load("paper_counts", loaded)
    assert str(refused.value).startswith("analyses/paper_counts.yaml: grid_with[0]: 'confirmation'")
    shutil.copy(REPO / "analyses/confirmation.yaml", tmp_path / "analyses")
    rendered = dvc_yaml.render(loaded)
    assert "  judge-confirmation:\n" in rendered and "  judge-paper_counts:\n" in rendered
