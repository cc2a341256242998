"""The run directory every experiment writes (see DESIGN.md, "Run directory").

::

    OUT/config.json  metrics.json  arrays.npz  figures/*.png  report.html  status.json

Every file is written atomically (temporary file in the same folder, then ``os.replace``),
so a killed run never leaves a half-written file that looks complete. No pickle.
"""

import io
import json
import math
import os
import platform
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DivergenceError, InvalidInputError
from ._base import Experiment, ExperimentConfig, Progress, Results, SilentProgress


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def atomic_write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays to an ``.npz`` atomically (object arrays are refused: no pickle)."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise TypeError(f"array {name!r} holds Python objects, which npz would pickle")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def clean_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON numbers; non-finite values become ``null`` (never a number that looks valid)."""
    cleaned: dict[str, Any] = {}
    for name, value in metrics.items():
        if isinstance(value, bool | np.bool_):
            cleaned[name] = bool(value)
        elif value is None:
            cleaned[name] = None
        elif isinstance(value, int | np.integer):
            cleaned[name] = int(value)
        else:
            number = float(value)
            cleaned[name] = number if math.isfinite(number) else None
    return cleaned


def versions() -> dict[str, str]:
    """Versions of rnnlab, Python, JAX and friends, recorded in ``config.json``."""
    import diffrax
    import equinox
    import jax

    from .. import __version__

    return {
        "rnnlab": __version__,
        "python": sys.version.split()[0],
        "jax": jax.__version__,
        "equinox": equinox.__version__,
        "diffrax": diffrax.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def prepare_output(out: Path) -> Path:
    """Create the run directory; refuse a path that is a file."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {str(out)!r} is a file; give a directory path")
    (out / "figures").mkdir(parents=True, exist_ok=True)
    return out


def check_resumable(out: Path, experiment: Experiment, config: ExperimentConfig) -> None:
    """Refuse, before anything in ``out`` is touched, to start a resumable run where
    ``out/checkpoints`` holds the training state of a run that differs in one of the
    experiment's ``checkpoint_fields``: every cell would be refused in turn, after the
    earlier results were cleared. Other fields (which tasks, sweeps, analyses) may change:
    cells that match resume, the others train afresh."""
    checkpoints, stored = Path(out) / "checkpoints", Path(out) / "config.json"
    if not (experiment.resumable and checkpoints.is_dir() and stored.is_file()):
        return
    if not any(checkpoints.rglob("*.eqx")):
        return
    try:
        earlier = json.loads(stored.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(earlier, dict) or not isinstance(earlier.get("config"), dict):
        return
    ours = json.loads(json.dumps(config.model_dump()))
    theirs = earlier["config"]
    compared = set(experiment.checkpoint_fields) & ours.keys() & theirs.keys()
    changed = sorted(k for k in compared if ours[k] != theirs[k])
    if earlier.get("experiment") != experiment.id:
        changed = ["experiment", *changed]
    if changed:
        shown = ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "")
        raise InvalidInputError(
            f"--out {str(out)!r} holds the checkpoints of a run with another config (it "
            f"differs in {shown}); give another --out, or delete {str(checkpoints)!r} to "
            "start afresh"
        )


def run_experiment(
    experiment: Experiment,
    config: ExperimentConfig,
    out: Path,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run ``experiment`` and write its run directory; returns the final status.

    A diverging run (or any error inside ``run``) leaves ``status.json`` with
    ``state = "failed"`` and the reason, and writes no ``metrics.json``.
    """
    import jax.random as jr

    from ..report import write_run_report

    out = prepare_output(out)
    check_resumable(out, experiment, config)
    for stale in ("metrics.json", "arrays.npz"):
        (out / stale).unlink(missing_ok=True)
    atomic_write_json(out / "status.json", {"state": "running", "error": None})
    atomic_write_json(
        out / "config.json",
        {"experiment": experiment.id, "config": config.model_dump(), "versions": versions()},
    )
    try:
        extra = {"checkpoint_dir": out / "checkpoints"} if experiment.resumable else {}
        results: Results = experiment.run(
            config, key=jr.key(config.seed), progress=progress or SilentProgress(), **extra
        )
        figures = experiment.figures(results, config, out / "figures")
    except (DivergenceError, FloatingPointError, ArithmeticError) as error:
        status = {"state": "failed", "error": f"{type(error).__name__}: {error}"}
        atomic_write_json(out / "status.json", status)
        return status
    except InvalidInputError as error:  # the CLI prints it and exits 2
        atomic_write_json(out / "status.json", {"state": "failed", "error": str(error)})
        raise
    except Exception as error:  # a failed run records why, then the CLI exits 1
        status = {
            "state": "failed",
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
        }
        atomic_write_json(out / "status.json", status)
        return status
    atomic_write_npz(out / "arrays.npz", results.arrays)
    metrics = clean_metrics(results.metrics)
    atomic_write_json(out / "metrics.json", metrics)
    write_run_report(out, experiment, config, metrics, figures)
    status = {"state": "done", "error": None}
    atomic_write_json(out / "status.json", status)
    return status
