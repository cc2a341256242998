"""Sweep plans: parse ``--grid`` options, validate every cell, derive each cell's seed.

A cell is one run of an experiment: one value per grid axis and one replicate index. Its
seed is derived from the base seed, the cell's parameters and the replicate by hashing,
so a cell's result does not depend on which worker ran it, in what order, or on the rest
of the grid (extending a grid keeps the finished cells valid). Every cell's config is
validated before anything runs.
"""

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InvalidInputError
from ..experiments._base import Experiment

_RESERVED = {"seed": "use --seeds K for replicates and --seed N for the base seed", "quick": ""}
Scalar = int | float | str | bool


@dataclass(frozen=True)
class GridAxis:
    """One grid parameter: a config field and its validated values, in the given order."""

    name: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: its position, parameters, replicate, derived seed and config."""

    id: str
    index: tuple[int, ...]
    params: dict[str, Scalar]
    replicate: int
    seed: int
    config: dict[str, Any]


@dataclass(frozen=True)
class SweepPlan:
    """A validated sweep: the experiment, the base config, the axes and every cell."""

    experiment: Experiment
    quick: bool
    base_seed: int
    overrides: dict[str, Any]
    axes: tuple[GridAxis, ...]
    seeds: int
    cells: tuple[Cell, ...]

    def spec(self) -> dict[str, Any]:
        """Plain-JSON description stored as ``DIR/sweep.json`` (enough to rebuild results)."""
        return {
            "experiment": self.experiment.id,
            "quick": self.quick,
            "base_seed": self.base_seed,
            "overrides": self.overrides,
            "grid": [[axis.name, list(axis.values)] for axis in self.axes],
            "seeds": self.seeds,
            "cells": [
                {
                    "id": cell.id,
                    "index": list(cell.index),
                    "params": cell.params,
                    "replicate": cell.replicate,
                    "seed": cell.seed,
                }
                for cell in self.cells
            ],
        }


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def cell_seed(base_seed: int, params: dict[str, Scalar], replicate: int) -> int:
    """Seed of a cell: a 31-bit hash of the base seed, its parameters and replicate index."""
    digest = hashlib.sha256(
        _canonical({"base_seed": base_seed, "params": params, "replicate": replicate})
    ).digest()
    return int.from_bytes(digest[:4], "big") >> 1


def cell_id(experiment_id: str, config: dict[str, Any]) -> str:
    """Identity of a cell: a hash of the experiment id and its full config (seed included)."""
    return hashlib.sha256(_canonical({"experiment": experiment_id, "config": config})).hexdigest()[
        :20
    ]


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_grid_option(text: str) -> tuple[str, list[Any]]:
    """Parse ``key=v1,v2,...`` or ``key=start:stop:num`` (``num`` evenly spaced values)."""
    fix = "write --grid key=v1,v2,... or --grid key=start:stop:num"
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise InvalidInputError(f"--grid {text!r} is malformed; {fix}")
    if ":" in raw and "," not in raw:
        parts = raw.split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise InvalidInputError(
                f"--grid {text!r}: range must be start:stop:num; {fix}"
            ) from None
        if num < 1 or not (math.isfinite(start) and math.isfinite(stop)):
            raise InvalidInputError(
                f"--grid {text!r} is an empty range (num={num}); give num >= 1 and finite ends"
            )
        values = [float(v) for v in np.linspace(start, stop, num)]
    else:
        items = [item.strip() for item in raw.split(",")]
        if not all(items):
            raise InvalidInputError(f"--grid {text!r} has an empty value; {fix}")
        values = [_parse_value(item) for item in items]
    return key, values


def _validated(experiment, quick, seed, overrides, where: str):
    try:
        return experiment.make_config(quick=quick, seed=seed, overrides=overrides)
    except InvalidInputError as error:
        raise InvalidInputError(f"{where}: {error}") from None


def plan_sweep(
    experiment: Experiment,
    grid: list[str],
    *,
    quick: bool = False,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    seeds: int = 1,
) -> SweepPlan:
    """Parse and validate a sweep; raises :class:`InvalidInputError` before anything runs."""
    overrides = dict(overrides or {})
    if not grid:
        raise InvalidInputError("a sweep needs at least one --grid key=v1,v2,...")
    if seeds < 1:
        raise InvalidInputError(f"--seeds {seeds} must be >= 1")
    if seed is not None and seed < 0:
        raise InvalidInputError(f"--seed {seed} must be >= 0")
    base = _validated(experiment, quick, seed, overrides, "--set")
    axes: list[GridAxis] = []
    for text in grid:
        name, raw_values = parse_grid_option(text)
        if name in _RESERVED:
            raise InvalidInputError(
                f"--grid {name} is not allowed; {_RESERVED[name]}".rstrip("; ")
            )
        if name in overrides or any(axis.name == name for axis in axes):
            raise InvalidInputError(
                f"--grid {name} is given twice (or also in --set); give it once"
            )
        values = []
        for raw in raw_values:
            config = _validated(
                experiment, quick, seed, {**overrides, name: raw}, f"--grid {name}={raw!r}"
            )
            value = config.model_dump()[name]
            if not isinstance(value, Scalar):
                raise InvalidInputError(
                    f"--grid {name}: field {name!r} is not a scalar; sweep scalar fields only"
                )
            values.append(value)
        if len(set(map(repr, values))) != len(values):
            raise InvalidInputError(f"--grid {text!r} repeats a value; give each value once")
        axes.append(GridAxis(name, tuple(values)))
    cells = []
    for index in itertools.product(*(range(len(axis.values)) for axis in axes)):
        params = {axis.name: axis.values[i] for axis, i in zip(axes, index, strict=True)}
        for replicate in range(seeds):
            derived = cell_seed(base.seed, params, replicate)
            where = "--grid cell " + ", ".join(f"{k}={v!r}" for k, v in params.items())
            config = _validated(experiment, quick, derived, {**overrides, **params}, where)
            dumped = config.model_dump(mode="json")
            cells.append(
                Cell(
                    cell_id(experiment.id, dumped),
                    (*index, replicate),
                    params,
                    replicate,
                    derived,
                    dumped,
                )
            )
    return SweepPlan(experiment, quick, base.seed, overrides, tuple(axes), seeds, tuple(cells))
