"""What every experiment provides: a typed config, ``run`` and ``figures``.

An experiment is pure: ``run(config, key=..., progress=...) -> Results`` builds data,
models and analyses and returns arrays and a flat dict of metrics. It never touches
files; :mod:`rnnlab.experiments._rundir` writes the run directory.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pydantic

from .._errors import InvalidInputError
from .._types import Key


class ExperimentConfig(pydantic.BaseModel):
    """Base of every experiment's config: frozen, unknown keys rejected, a seed."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    seed: int = pydantic.Field(0, ge=0, description="base seed; same seed, same results")
    quick: bool = pydantic.Field(False, description="smaller sizes, same code path")


Metric = float | int | bool | None


@dataclass
class Results:
    """Output of an experiment: a flat ``{name: number}`` dict and named arrays."""

    metrics: dict[str, Metric]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


class Progress(Protocol):
    """Where long work reports progress (a rich bar on a terminal, nothing in CI)."""

    def task(self, description: str, total: int) -> Any: ...


class SilentProgress:
    """A :class:`Progress` that reports nothing."""

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        yield lambda advance=1: None


@dataclass(frozen=True)
class Experiment:
    """A registered reproduction.

    ``quick`` holds the config overrides of ``--quick`` (smaller sizes, same code path).
    ``metric_docs`` documents every metric name the experiment writes. ``resumable``:
    ``run`` also takes ``checkpoint_dir`` (a folder it may write training checkpoints to
    and resume from; the run directory passes ``OUT/checkpoints``), so a killed run
    restarted on the same ``--out`` continues where it stopped. ``checkpoint_fields``: the
    config fields that enter every one of those checkpoints, so that a run whose config
    differs in one is refused up front rather than cell by cell.
    """

    id: str
    title: str
    summary: str
    config_type: type[ExperimentConfig]
    run: Callable[..., Results]
    figures: Callable[[Results, ExperimentConfig, Path], list[Path]]
    citation: str
    quick: dict[str, Any] = field(default_factory=dict)
    metric_docs: dict[str, str] = field(default_factory=dict)
    resumable: bool = False
    checkpoint_fields: tuple[str, ...] = ()

    def make_config(
        self, *, quick: bool = False, seed: int | None = None, overrides: dict[str, Any] = None
    ) -> ExperimentConfig:
        """Validated config: defaults, then ``quick`` overrides, then the user's."""
        if overrides is None:
            overrides = {}
        values: dict[str, Any] = dict(self.quick) if quick else {}
        values["quick"] = quick
        if seed is not None:
            values["seed"] = seed
        unknown = sorted(set(overrides) - set(self.config_type.model_fields))
        if unknown:
            raise InvalidInputError(
                f"unknown config field {unknown[0]!r} for {self.id}; known fields: "
                + ", ".join(sorted(self.config_type.model_fields))
            )
        for name, value in overrides.items():
            values[name] = _as_list_if_needed(self.config_type, name, value)
        try:
            return self.config_type(**values)
        except pydantic.ValidationError as error:
            first = error.errors()[0]
            if not first["loc"]:  # a check across fields: its message names the values
                raise InvalidInputError(f"invalid config: {first['msg']}") from None
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInputError(
                f"invalid value {first.get('input')!r} for {where}: {first['msg']}"
            ) from None


def _as_list_if_needed(config_type: type[ExperimentConfig], name: str, value: Any) -> Any:
    """One value given for a list field (``--set tasks=xor``) is a one-element list."""
    import typing

    annotation = config_type.model_fields[name].annotation
    if typing.get_origin(annotation) is list and not isinstance(value, list | tuple):
        return [value]
    return value


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse ``key=value`` from ``--set``; the value as JSON, else a comma list or string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not raw.strip():
        raise InvalidInputError(f"--set {text!r} is malformed; write --set key=value")
    raw = raw.strip()
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        pass
    if "," in raw:
        return key, [item.strip() for item in raw.split(",") if item.strip()]
    return key, raw


def metric_key(name: str, value: float) -> str:
    """Flat metric name for a parameter value, e.g. ``lyapunov_max_sim.g=2.0``."""
    return f"{name}={float(value)!r}"


def derived_key(key: Key, *labels: int):
    """A key derived deterministically from ``key`` and integer labels."""
    import jax.random as jr

    for label in labels:
        key = jr.fold_in(key, label)
    return key
