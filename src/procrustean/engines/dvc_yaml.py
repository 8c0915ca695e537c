"""dvc.yaml's per-study stage groups, generated from params.yaml's studies.

DVC's templating cannot iterate over the studies and, inside each, over that study's own
datasets, profiles, ratios, methods and seeds, so dvc.yaml holds one split/train/evaluate group
per study, each a matrix over its study's lists (``dvc exp run -S studies.X.seeds=[...]`` still
re-expands it). This module writes those groups between two marker lines from the path patterns
in procrustean.paths; ``procrustean dvc-yaml`` regenerates them, and ``run-config`` (the first
stage of every study under DVC) refuses to run while they do not match params.yaml.
"""

from __future__ import annotations

from pathlib import Path

from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.paths import HISTORY, KEY, METRICS, MODEL, PROV, SPLIT, SPLIT_SUMMARY

DVC_YAML = "dvc.yaml"
BEGIN = (
    "  # >>> per-study groups, generated from params.yaml by `procrustean dvc-yaml`; do not edit\n"
)
END = "  # <<< per-study groups\n"
REGENERATE = "procrustean dvc-yaml"

# DVC's item variables in the path patterns' fields
ITEM = {
    "study": "${item.study}",
    "setting": "${item.dataset}-${item.profile}-r${item.ratio}",
    "method": "${item.method}",
    "seed": "${item.seed}",
}
LISTS = {
    "split": ("dataset", "profile", "ratio"),
    "train": ("dataset", "profile", "ratio", "method", "seed"),
    "evaluate": ("dataset", "profile", "ratio", "method", "seed"),
}
CLI = "scripts/procrustean --params params.yaml"


def _p(pattern: str, **extra: str) -> str:
    return pattern.format(**{**ITEM, **extra})


def _bodies() -> dict[str, str]:
    """The stage bodies every study shares (YAML anchors on the first study's groups)."""
    split, model, history, metrics = _p(SPLIT), _p(MODEL), _p(HISTORY), _p(METRICS)
    summary = _p(SPLIT_SUMMARY)
    tensorboard = (
        f"logs/{ITEM['study']}/tensorboard/{ITEM['setting']}/{ITEM['method']}/seed{ITEM['seed']}"
    )
    return {
        "split": f"""      cmd: >-
        {CLI} split --study ${{item.study}} --dataset ${{item.dataset}}
        --profile ${{item.profile}} --ratio ${{item.ratio}}
        --out {split}
        --summary {summary}
      deps:
        - {_p(KEY, kind="split", name=ITEM["setting"])}
      outs:
        - {split}
        - {split}{PROV}
        - {summary}:
            cache: false
        - {summary}{PROV}:
            cache: false
""",
        "train": f"""      cmd: >-
        {CLI} train --study ${{item.study}} --dataset ${{item.dataset}}
        --method ${{item.method}} --seed ${{item.seed}}
        --split {split}
        --checkpoint {model}
        --history {history}
        --tensorboard {tensorboard}
      deps:
        - {split}
        - {_p(KEY, kind="train", name="${item.dataset}/${item.method}")}
      outs:
        - {model}
        - {history}:
            cache: false
        - {history}{PROV}:
            cache: false
""",
        "evaluate": f"""      cmd: >-
        {CLI} evaluate --dataset ${{item.dataset}}
        --split {split}
        --checkpoint {model}
        --out {metrics}
        --threads 1
      deps:
        - {split}
        - {model}
        - {_p(KEY, kind="evaluate", name="${item.dataset}")}
      outs:
        - {metrics}:
            cache: false
        - {metrics}{PROV}:
            cache: false
""",
    }


def _matrix(study: str, kind: str) -> str:
    cells = [f"study: [{study}]"]
    if kind == "train":
        cells.append(f'recipe: ["${{studies.{study}.recipe}}"]')
    cells += [f'{name}: "${{studies.{study}.{name}s}}"' for name in LISTS[kind]]
    return "{" + ", ".join(cells) + "}"


def render_groups(studies: list[str]) -> str:
    """The generated section: three groups per study, the first study's holding the bodies."""
    bodies, out = _bodies(), [BEGIN]
    for i, study in enumerate(studies):
        for kind in ("split", "train", "evaluate"):
            out.append(f"  {kind}-{study}:\n    matrix: {_matrix(study, kind)}\n")
            out.append(f"    <<: &{kind}\n{bodies[kind]}" if i == 0 else f"    <<: *{kind}\n")
        out.append("\n")
    out.append(END)
    return "".join(out)


def _split(text: str, path: str) -> tuple[str, str, str]:
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise UserError(
            f"{path}: the generated section's marker lines are missing or repeated; restore "
            f"them from git (git checkout {path}) and run '{REGENERATE}'"
        )
    head, rest = text.split(BEGIN)
    body, tail = rest.split(END)
    return head, BEGIN + body + END, tail


def render(params: Params, text: str, path: str = DVC_YAML) -> str:
    """``text`` (dvc.yaml) with its generated section rewritten for ``params``' studies."""
    head, _, tail = _split(text, path)
    return head + render_groups(list(params.studies)) + tail


def check(params: Params, path: str = DVC_YAML) -> None:
    """Refuse when dvc.yaml's generated groups do not match params.yaml's studies."""
    file = Path(path)
    if not file.is_file():
        return  # not a checkout that runs DVC (an installed package, a scratch folder)
    text = file.read_text()
    if render(params, text, path) != text:
        raise UserError(
            f"{path}: its stage groups do not match params.yaml's studies "
            f"({', '.join(params.studies)}); regenerate them with '{REGENERATE}'"
        )


def write(params: Params, path: str = DVC_YAML) -> bool:
    """Regenerate dvc.yaml's groups in place; True if the file changed."""
    file = Path(path)
    text = file.read_text()
    new = render(params, text, path)
    if new != text:
        file.write_text(new)
    return new != text
