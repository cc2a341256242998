"""The sweep directory: ``sweep.json``, one JSON file per finished cell, ``results.zarr``.

::

    DIR/sweep.json       the plan: experiment, base config, grid, seeds, every cell
    DIR/cells/<id>.json  one per finished cell (done or failed): the durable record
    DIR/results.zarr     xarray Dataset rebuilt from the cell files (Zarr format 2)

Cell files are written atomically as each cell completes, so a killed sweep loses at most
the cells in flight; ``results.zarr`` is derived from them and rebuilt on resume. Nothing
is ever unpickled: cells are JSON, the Dataset holds plain numeric arrays.
"""

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InvalidInputError
from ..experiments._rundir import atomic_write_json

STATUS = {"pending": 0, "done": 1, "failed": 2}


class SweepStore:
    """Reads and writes one sweep directory."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.cells = self.out / "cells"
        self.spec_path = self.out / "sweep.json"
        self.results_path = self.out / "results.zarr"

    def prepare(self) -> None:
        """Create the folders; refuse a path that is a file; clear leftovers of a killed run."""
        if self.out.exists() and not self.out.is_dir():
            raise InvalidInputError(f"--out {str(self.out)!r} is a file; give a directory path")
        self.cells.mkdir(parents=True, exist_ok=True)
        for stale in self.out.glob(".results.zarr.*"):
            shutil.rmtree(stale, ignore_errors=True)

    def write_spec(self, spec: dict[str, Any]) -> None:
        atomic_write_json(self.spec_path, spec)

    def read_spec(self) -> dict[str, Any]:
        return json.loads(self.spec_path.read_text())

    def write_record(self, cell_id: str, record: dict[str, Any]) -> None:
        """Write one finished cell's record (atomic: complete or absent)."""
        atomic_write_json(self.cells / f"{cell_id}.json", record)

    def read_records(self) -> dict[str, dict[str, Any]]:
        """Every finished cell's record, by cell id (unreadable files count as not run)."""
        records = {}
        for path in self.cells.glob("*.json"):
            try:
                records[path.stem] = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
        return records

    def write_results(self, dataset) -> Path:
        """Write ``results.zarr``: to a temporary store first, then swapped in."""
        temporary = self.out / f".results.zarr.{os.getpid()}"
        shutil.rmtree(temporary, ignore_errors=True)
        dataset.to_zarr(temporary, mode="w", zarr_format=2, consolidated=True)
        previous = self.out / f".results.zarr.old.{os.getpid()}"
        if self.results_path.exists():
            self.results_path.rename(previous)
        temporary.rename(self.results_path)
        shutil.rmtree(previous, ignore_errors=True)
        return self.results_path


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def build_dataset(spec: dict[str, Any], records: dict[str, dict[str, Any]]):
    """The sweep's xarray Dataset: dims = grid parameters and ``seed`` (replicate index).

    Variables are the union of the metric names of finished cells (NaN where a cell has no
    such metric, failed or has not run; booleans as 0/1; a metric named like a grid
    parameter becomes ``metric_<name>``), plus ``cell_status`` (0 pending,
    1 done, 2 failed) and ``cell_seed`` (the seed the cell ran with). Timings are left out,
    so the same sweep gives an identical Dataset whichever executor ran it.
    """
    import xarray as xr

    names = [name for name, _ in spec["grid"]]
    shape = [len(values) for _, values in spec["grid"]] + [spec["seeds"]]
    dims = [*names, "seed"]
    status = np.zeros(shape, dtype=np.int8)
    seeds = np.zeros(shape, dtype=np.int64)
    metrics: dict[str, np.ndarray] = {}
    errors = []
    for cell in spec["cells"]:
        index = tuple(cell["index"])
        seeds[index] = cell["seed"]
        record = records.get(cell["id"])
        if record is None:
            continue
        status[index] = STATUS[record["state"]]
        if record["state"] == "failed":
            errors.append(
                {
                    "params": cell["params"],
                    "replicate": cell["replicate"],
                    "error": record["error"],
                }
            )
        for name, value in record.get("metrics", {}).items():
            if name not in metrics:
                metrics[name] = np.full(shape, np.nan)
            metrics[name][index] = _number(value)
    # A metric named like a grid parameter (or "seed") is stored as "metric_<name>".
    variables = {
        (f"metric_{name}" if name in dims else name): (dims, metrics[name])
        for name in sorted(metrics)
    }
    variables["cell_status"] = (
        dims,
        status,
        {"flag_values": [0, 1, 2], "flag_meanings": "pending done failed"},
    )
    variables["cell_seed"] = (dims, seeds, {"meaning": "seed of the cell's config"})
    coords = {name: list(values) for name, values in spec["grid"]}
    coords["seed"] = list(range(spec["seeds"]))
    return xr.Dataset(
        variables,
        coords=coords,
        attrs={
            "experiment": spec["experiment"],
            "quick": int(spec["quick"]),
            "base_seed": spec["base_seed"],
            "overrides": json.dumps(spec["overrides"], sort_keys=True),
            "failed_cells": json.dumps(errors, sort_keys=True),
        },
    )


def load_results(out: Path):
    """The Dataset of the sweep in ``out``, rebuilt from its cell files (the durable record)."""
    store = SweepStore(out)
    if not store.spec_path.is_file():
        raise InvalidInputError(f"{str(out)!r} is not a sweep directory (no sweep.json)")
    return build_dataset(store.read_spec(), store.read_records())
