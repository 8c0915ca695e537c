"""params.yaml resolved into types: one frozen object per catalogue entry, built once by
``procrustean.config.load_params`` with every default filled; stages take these, never raw dicts.

Each entry keeps the resolved mapping it was built from (``record()``), which is what the stages
write in their provenance records and what the up-to-date rule compares.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Self

from procrustean.errors import UserError


@dataclass(frozen=True)
class Entry:
    """A named catalogue entry and the resolved mapping it was built from."""

    name: str
    resolved: Mapping[str, Any] = field(repr=False, compare=False)

    def record(self) -> dict[str, Any]:
        """``{name: resolved entry}``: the form provenance records hold."""
        return {self.name: copy.deepcopy(dict(self.resolved))}

    @classmethod
    def build(cls, name: str, resolved: Mapping[str, Any]) -> Self:
        """The typed entry of a resolved mapping (every default already filled)."""
        typed = {f.name: _frozen(resolved.get(f.name)) for f in fields(cls) if f.init}
        typed |= _nested(cls, resolved) | {"name": name, "resolved": copy.deepcopy(dict(resolved))}
        return cls(**typed)


def _nested(cls: type, resolved: Mapping[str, Any]) -> dict[str, Any]:
    """Sub-objects of an entry (a recipe's resources; a method's loss, weighting, mixing)."""
    parts = NESTED.get(cls, {})
    return {key: part.of(resolved.get(key) or {}) for key, part in parts.items()}


@dataclass(frozen=True)
class Part:
    """A sub-mapping of an entry, typed (its keys absent where they do not apply are None)."""

    @classmethod
    def of(cls, mapping: Mapping[str, Any]) -> Self:
        return cls(**{f.name: _frozen(mapping.get(f.name)) for f in fields(cls)})


def _frozen(value: Any) -> Any:
    """Lists become tuples, so an entry's values cannot change after loading."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


@dataclass(frozen=True)
class Dataset(Entry):
    """A raw dataset and how its training images are subsampled before imbalancing."""

    source: str = ""
    num_classes: int = 0
    max_per_class: int = 0
    seed: int = 0
    root: str | None = None
    crop_padding: int = 0
    flip: bool = False
    class_order: tuple[int, ...] | None = None  # largest class first; None: label order
    selection: str = ""
    image_size: int | None = None  # synthetic only
    channels: int | None = None  # synthetic only
    test_per_class: int | None = None  # synthetic only

    def content(self) -> dict[str, Any]:
        """The resolved entry without ``root`` (where files live is not content)."""
        return {k: v for k, v in self.resolved.items() if k != "root"}


@dataclass(frozen=True)
class Resources(Part):
    """What one training run asks of a scheduler."""

    gpus: int
    cpus: int
    mem_mb: int
    runtime_min: int
    runs_per_gpu: int


@dataclass(frozen=True)
class Recipe(Entry):
    """Model, optimiser, schedule and per-epoch measurement sizes of a training run."""

    model: str = ""
    epochs: int = 0
    batch_size: int = 0
    lr: float = 0.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    warmup_epochs: int = 0
    lr_decays: tuple[tuple[int, float], ...] = ()
    drw_epoch: int = 0
    amp: bool = False
    channels_last: bool = False
    diagnostic_per_class: int = 0
    heldout_per_class: int = 0
    deterministic: bool = False
    tensorboard: bool = False
    resources: Resources | None = None


@dataclass(frozen=True)
class Loss(Part):
    """The loss and its constants (None where the loss has no such constant)."""

    name: str
    gamma: float | None
    max_margin: float | None
    scale: float | None
    tau: float | None


@dataclass(frozen=True)
class Weighting(Part):
    """Per-class loss weights: none, class-balanced (cb) or deferred to drw_epoch (drw)."""

    name: str
    beta: float | None


@dataclass(frozen=True)
class Mixing(Part):
    """Feature or input mixing and its constants (None where they do not apply)."""

    name: str
    alpha: float | None
    layers: tuple[int, ...] | None
    kappa: float | None
    tau: float | None
    p_max: float | None
    gamma: float | None
    probability: str | None
    start_epoch: int | None
    end_epoch: int | None
    detach_partner: bool | None


@dataclass(frozen=True)
class Method(Entry):
    """A training method: loss, class weighting, sampler and mixing."""

    description: str = ""
    sampler: str = "none"
    loss: Loss | None = None
    weighting: Weighting | None = None
    mixing: Mixing | None = None


@dataclass(frozen=True)
class Study(Entry):
    """A grid: recipe x datasets x profiles x ratios x methods x seeds."""

    description: str = ""
    recipe: str = ""
    datasets: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    ratios: tuple[int, ...] = ()
    minor_fraction: float = 0.0
    methods: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()


SINGULAR = {"datasets": "dataset", "recipes": "recipe", "methods": "method", "studies": "study"}
NESTED: dict[type, dict[str, type[Part]]] = {
    Recipe: {"resources": Resources},
    Method: {"loss": Loss, "weighting": Weighting, "mixing": Mixing},
}


@dataclass(frozen=True)
class Params:
    """A whole params file, validated and resolved: the four catalogues by name and the file."""

    source: str
    datasets: Mapping[str, Dataset]
    recipes: Mapping[str, Recipe]
    methods: Mapping[str, Method]
    studies: Mapping[str, Study]
    resolved: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def build(cls, resolved: Mapping[str, Any], source: str) -> Params:
        """Type every entry of a resolved params mapping; ``source`` is the file it came from."""

        def typed(kind: type[Entry], catalogue: str) -> dict[str, Any]:
            return {n: kind.build(n, e) for n, e in resolved[catalogue].items()}

        return cls(
            source=str(source),
            datasets=typed(Dataset, "datasets"),
            recipes=typed(Recipe, "recipes"),
            methods=typed(Method, "methods"),
            studies=typed(Study, "studies"),
            resolved=copy.deepcopy(dict(resolved)),
        )

    def __repr__(self) -> str:
        sizes = ", ".join(f"{len(getattr(self, c))} {c}" for c in SINGULAR)
        return f"Params({self.source!r}: {sizes})"

    def lookup(self, catalogue: str, name: str) -> Any:
        """One entry of a catalogue, or a UserError listing the known names."""
        entries = getattr(self, catalogue)
        if name not in entries:
            raise UserError(
                f"unknown {SINGULAR[catalogue]} '{name}'; known {catalogue}: "
                f"{', '.join(sorted(entries))} (add it to {self.source} under '{catalogue}:')"
            )
        return entries[name]

    def dataset(self, name: str) -> Dataset:
        return self.lookup("datasets", name)

    def recipe(self, name: str) -> Recipe:
        return self.lookup("recipes", name)

    def method(self, name: str) -> Method:
        return self.lookup("methods", name)

    def study(self, name: str) -> Study:
        return self.lookup("studies", name)

    def study_recipe(self, study: str) -> Recipe:
        """The recipe a study trains with."""
        return self.recipe(self.study(study).recipe)

    def as_dict(self) -> dict[str, Any]:
        """The resolved params as plain data (a copy)."""
        return copy.deepcopy(dict(self.resolved))
