"""Cross-field rules of params.yaml: combinations of values that each pass the schema but
cannot run.

Each rule refuses with one line naming the keys and how to fix them, before anything is
written. Called by ``validate_params`` after the schema, with every default filled in. The rules
decide which params are valid, so they are stage code (params code, beside the schema).
"""

from __future__ import annotations

import re

from procrustean.data.profiles import PROFILES, class_counts, num_minor_classes
from procrustean.entries import Params
from procrustean.errors import UserError
from procrustean.models.family import NUM_LAYERS

# What each real source holds: classes, training images per class, image side (pixels).
SOURCE_SHAPES = {
    "fashion_mnist": (10, 6000, 28),
    "cifar10": (10, 5000, 32),
    "cifar100": (100, 500, 32),
}
MAX_SYNTHETIC_VALUES = 2 * 10**8  # synthetic train + test pixels: a few hundred MB at most
NAME = re.compile(r"^[A-Za-z0-9_]+$")
MAX_SEED = 2**31 - 1  # NumPy's legacy generator (ldam selection) takes seeds below 2**32


def _refuse(source: str, where: str, message: str) -> UserError:
    return UserError(f"{source}: {where}: {message}")


def check_cross_field(params: dict, source: str = "params.yaml") -> None:
    """Refuse the first combination of values that cannot run; see the module docstring."""
    for catalogue in ("datasets", "recipes", "methods", "studies"):
        for name in params[catalogue]:
            if not NAME.match(str(name)):
                raise _refuse(
                    source,
                    f"{catalogue}.{name}",
                    "names may use only letters, digits and _ (they become file paths and "
                    "Snakemake wildcards); rename it",
                )
    for name, cfg in params["datasets"].items():
        _check_dataset(source, name, cfg)
    for name, cfg in params["recipes"].items():
        _check_recipe(source, name, cfg)
    for name, cfg in params["methods"].items():
        _check_method(source, name, cfg)
    for name, study in params["studies"].items():
        _check_study(source, name, study, params)


def _side(cfg: dict) -> int:
    return cfg["image_size"] if cfg["source"] == "synthetic" else SOURCE_SHAPES[cfg["source"]][2]


def _check_dataset(source: str, name: str, cfg: dict) -> None:
    where = f"datasets.{name}"
    if cfg["seed"] > MAX_SEED:
        raise _refuse(
            source, f"{where}.seed", f"{cfg['seed']} is above {MAX_SEED}; use a smaller seed"
        )
    if cfg["source"] in SOURCE_SHAPES:
        classes, per_class, _ = SOURCE_SHAPES[cfg["source"]]
        if cfg["num_classes"] != classes:
            raise _refuse(
                source,
                f"{where}.num_classes",
                f"{cfg['source']} has {classes} classes, not {cfg['num_classes']}; set num_classes: {classes}",
            )
        if cfg["max_per_class"] > per_class:
            raise _refuse(
                source,
                f"{where}.max_per_class",
                f"{cfg['source']} has {per_class} training images per class, not "
                f"{cfg['max_per_class']}; set max_per_class to at most {per_class}",
            )
    else:
        values = (
            cfg["num_classes"]
            * (cfg["max_per_class"] + cfg["test_per_class"])
            * cfg["channels"]
            * cfg["image_size"] ** 2
        )
        if values > MAX_SYNTHETIC_VALUES:
            raise _refuse(
                source,
                where,
                f"num_classes x (max_per_class + test_per_class) x channels x image_size^2 = "
                f"{values:,} pixels, above {MAX_SYNTHETIC_VALUES:,}; make the synthetic data smaller",
            )
    order = cfg.get("class_order")
    if order is not None and sorted(order) != list(range(cfg["num_classes"])):
        raise _refuse(
            source,
            f"{where}.class_order",
            f"{order} is not an order of the {cfg['num_classes']} classes; list each of "
            f"0..{cfg['num_classes'] - 1} once, the largest class first",
        )
    if cfg["crop_padding"] >= _side(cfg):
        raise _refuse(
            source,
            f"{where}.crop_padding",
            f"{cfg['crop_padding']} pixels of padding on {_side(cfg)}-pixel images; use less than "
            f"{_side(cfg)} (LDAM-DRW uses 4 on 32)",
        )


def _check_recipe(source: str, name: str, cfg: dict) -> None:
    where, epochs = f"recipes.{name}", cfg["epochs"]
    if cfg["batch_size"] < 2:
        raise _refuse(
            source,
            f"{where}.batch_size",
            "batch norm needs at least 2 images a batch; use 2 or more",
        )
    if cfg["warmup_epochs"] > epochs:
        raise _refuse(
            source,
            f"{where}.warmup_epochs",
            f"{cfg['warmup_epochs']} warm-up epochs in a {epochs}-epoch recipe; use at most {epochs}",
        )
    starts = [start for start, _ in cfg["lr_decays"]]
    if len(set(starts)) != len(starts):
        raise _refuse(
            source,
            f"{where}.lr_decays",
            f"two decays start at the same epoch ({sorted(starts)}): which factor applies is "
            "ambiguous; give each epoch once",
        )
    # A decay at or after the last epoch, or drw_epoch past it, is inactive, not an error: a
    # shortened run (`--config recipes.smoke.epochs=1`) keeps the recipe's later milestones.
    # A study whose DRW methods would never re-weight is refused in _check_study.


def _check_method(source: str, name: str, cfg: dict) -> None:
    mixing = cfg["mixing"]
    for i, layer in enumerate(mixing.get("layers", [])):
        if layer >= NUM_LAYERS:
            raise _refuse(
                source,
                f"methods.{name}.mixing.layers[{i}]",
                f"layer {layer} does not exist (0 = input, 1-{NUM_LAYERS - 1} = residual stages)",
            )
    end, start = mixing.get("end_epoch"), mixing.get("start_epoch", 0)
    if end is not None and end <= start:
        raise _refuse(
            source,
            f"methods.{name}.mixing.end_epoch",
            f"weakening from epoch {start} to {end} is empty; make end_epoch larger than start_epoch",
        )


def _check_study(source: str, name: str, study: dict, params: dict) -> None:
    where = f"studies.{name}"
    recipe = params["recipes"][study["recipe"]]
    for i, seed in enumerate(study["seeds"]):
        if seed > MAX_SEED:
            raise _refuse(
                source, f"{where}.seeds[{i}]", f"{seed} is above {MAX_SEED}; use a smaller seed"
            )
    uses_drw = any(params["methods"][m]["weighting"]["name"] == "drw" for m in study["methods"])
    if uses_drw and recipe["drw_epoch"] >= recipe["epochs"]:
        raise _refuse(
            source,
            f"recipes.{study['recipe']}.drw_epoch",
            f"study {name} runs deferred re-weighting, which starts at epoch {recipe['drw_epoch']} "
            f"of {recipe['epochs']}: it would never apply; use an epoch below {recipe['epochs']}",
        )
    largest = max(params["datasets"][d]["max_per_class"] for d in study["datasets"])
    if recipe["diagnostic_per_class"] > largest:
        raise _refuse(
            source,
            f"recipes.{study['recipe']}.diagnostic_per_class",
            f"{recipe['diagnostic_per_class']} images per class for the clean training pass, but "
            f"study {name}'s largest class has {largest}; use at most {largest}",
        )
    sizes: list[tuple[int, str]] = []
    for d in study["datasets"]:
        cfg = params["datasets"][d]
        for profile in study["profiles"]:
            if profile in ("step", "balanced"):
                minor = num_minor_classes(cfg["num_classes"], study["minor_fraction"])
                if not 0 < minor < cfg["num_classes"]:
                    raise _refuse(
                        source,
                        f"{where}.minor_fraction",
                        f"{study['minor_fraction']} of {cfg['num_classes']} classes makes {minor} minor "
                        f"classes; choose a fraction that leaves at least one major and one minor class",
                    )
            for ratio in study["ratios"]:
                counts = class_counts(
                    cfg["num_classes"],
                    cfg["max_per_class"],
                    profile,
                    ratio,
                    study["minor_fraction"],
                )
                if min(counts) < 1:
                    raise _refuse(
                        source,
                        f"{where}.ratios",
                        f"ratio {ratio} with the {profile} profile leaves a class of dataset {d} "
                        f"(max_per_class {cfg['max_per_class']}) with no training image; use a ratio "
                        f"of at most {cfg['max_per_class']}",
                    )
                sizes.append((sum(counts), f"{d}-{profile}-r{ratio}"))
    smallest, setting = min(sizes)
    if smallest < recipe["batch_size"]:
        raise _refuse(
            source,
            f"recipes.{study['recipe']}.batch_size",
            f"{recipe['batch_size']} is larger than the {smallest} training images of study "
            f"{name}'s smallest split ({setting}); use at most {smallest}",
        )


def check_split_request(
    params: Params, study: str, dataset: str, profile: str, ratio: int, where: str = "--ratio"
) -> None:
    """A split asked for on the command line must leave every class an image, as the study's own
    ratios must (the CLI may name any ratio)."""
    cfg, spec = params.datasets.get(dataset), params.studies.get(study)
    if cfg is None or spec is None or profile not in PROFILES:
        return  # the stage names the unknown study, dataset or profile itself
    counts = class_counts(cfg.num_classes, cfg.max_per_class, profile, ratio, spec.minor_fraction)
    if min(counts) < 1:
        raise UserError(
            f"{where}: ratio {ratio} with the {profile} profile leaves a class of dataset {dataset} "
            f"(max_per_class {cfg.max_per_class}) with no training image; use a ratio of at most "
            f"{cfg.max_per_class}"
        )
