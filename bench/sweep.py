"""Sweep runner: parallel efficiency with 1 and 2 local workers, and overhead per cell.

* CPU-bound sweep: the largest Lyapunov exponent of ``RateRNN(N, gain=g)`` over a grid of
  gains (``lyapunov_spectrum``, RK4, one exponent), run by :func:`rnnlab.sweep.run_sweep`
  with 1 and with 2 local worker processes, and as a plain loop calling ``run`` in this
  process (no processes, no files: the baseline a user writes by hand). Efficiency =
  T(1 worker) / (2 T(2 workers)), both measured end to end (worker start-up and the
  per-process JIT compile included) and without start-up (seconds per extra cell beyond
  a sweep with one cell per worker on the same pool size).
* Overhead per cell (scheduling, pickling to the worker, writing the cell's JSON and the
  amortised ``results.zarr`` rebuilds): wall time of a sweep of cells that do nothing,
  minus that of a sweep with one such cell per worker, divided by the extra cells.

Usage: ``python bench/sweep.py [--cells 16] [--trivial 200]``. The last line printed is
``ratio=<plain loop time / rnnlab 2-worker time>``; ``bench/results/sweep.json`` records
every figure. Run it on an otherwise idle machine: other load shares the cores.
"""

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import pydantic

from rnnlab.experiments import Experiment, ExperimentConfig, Results


class LyapunovCell(ExperimentConfig):
    """One cell: lambda_max of a random rate network of ``hidden_size`` units at ``gain``."""

    hidden_size: int = pydantic.Field(100, gt=0)
    gain: float = pydantic.Field(2.0, gt=0)
    t_obs: float = pydantic.Field(300.0, gt=0)


def lyapunov_run(config: LyapunovCell, *, key, progress) -> Results:
    import jax.random as jr

    from rnnlab.analysis import LyapunovOptions, lyapunov_spectrum
    from rnnlab.models import RateRNN

    net_key, state_key, frame_key = jr.split(key, 3)
    net = RateRNN(config.hidden_size, gain=config.gain, key=net_key)
    options = LyapunovOptions(
        num_exponents=1, dt=0.1, solver="rk4", qr_every=5, t_burn=50.0, t_obs=config.t_obs
    )
    result = lyapunov_spectrum(
        net, jr.normal(state_key, (config.hidden_size,)), key=frame_key, options=options
    )
    return Results({"lyapunov_max": float(result.exponents[0])})


class NothingCell(ExperimentConfig):
    """A cell that does nothing: measures the runner's own cost."""

    index: int = 0


def nothing_run(config: NothingCell, *, key, progress) -> Results:
    return Results({"value": float(config.index)})


def _experiment(id_, config_type, run) -> Experiment:
    return Experiment(id_, id_, id_, config_type, run, lambda *a: [], "")


LYAPUNOV = _experiment("bench-lyapunov", LyapunovCell, lyapunov_run)
NOTHING = _experiment("bench-nothing", NothingCell, nothing_run)


def _sweep(experiment, grid, workers) -> float:
    from rnnlab.sweep import LocalExecutor, plan_sweep, run_sweep

    plan = plan_sweep(experiment, grid)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = run_sweep(plan, Path(out), LocalExecutor(workers))
        seconds = time.perf_counter() - start
    assert summary.failed == 0 and summary.ran == len(plan.cells)
    return seconds


def _plain_loop(experiment, grid) -> float:
    import jax.random as jr

    from rnnlab.experiments import SilentProgress
    from rnnlab.sweep import plan_sweep

    plan = plan_sweep(experiment, grid)
    start = time.perf_counter()
    for cell in plan.cells:
        config = experiment.config_type.model_validate(cell.config)
        experiment.run(config, key=jr.key(config.seed), progress=SilentProgress())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=32, help="cells of the CPU-bound sweep")
    parser.add_argument("--trivial", type=int, default=200, help="cells of the overhead sweep")
    parser.add_argument(
        "--t-obs", type=float, default=10000.0, help="observation time of each CPU-bound cell"
    )
    args = parser.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    gains = [f"{1.5 + 0.05 * i:.2f}" for i in range(args.cells)]
    grid = [f"gain={','.join(gains)}", f"t_obs={args.t_obs}"]
    figures: dict = {"cells": args.cells, "trivial_cells": args.trivial, "t_obs": args.t_obs}
    figures["plain_loop_s"] = _plain_loop(LYAPUNOV, grid)
    for workers in (1, 2):
        figures[f"workers{workers}_s"] = _sweep(LYAPUNOV, grid, workers)
        figures[f"workers{workers}_startup_s"] = _sweep(
            LYAPUNOV, [f"gain={','.join(gains[:workers])}", f"t_obs={args.t_obs}"], workers
        )
    t1, t2 = figures["workers1_s"], figures["workers2_s"]
    figures["efficiency"] = t1 / (2 * t2)
    per_cell_1 = (t1 - figures["workers1_startup_s"]) / (args.cells - 1)
    per_cell_2 = (t2 - figures["workers2_startup_s"]) / (args.cells - 2)
    figures["efficiency_without_startup"] = per_cell_1 / (2 * per_cell_2)
    trivial = [f"index=0:{args.trivial - 1}:{args.trivial}"]
    for workers in (1, 2):
        many = _sweep(NOTHING, trivial, workers)
        few = _sweep(NOTHING, [f"index={','.join(map(str, range(workers)))}"], workers)
        figures[f"overhead_per_cell_ms_workers{workers}"] = (
            1e3 * (many - few) / (args.trivial - workers)
        )
    rows = [
        ("plain loop in one process", figures["plain_loop_s"]),
        ("rnnlab sweep, 1 worker", t1),
        ("rnnlab sweep, 2 workers", t2),
        ("one cell per worker, 1 worker (start-up)", figures["workers1_startup_s"]),
        ("one cell per worker, 2 workers (start-up)", figures["workers2_startup_s"]),
    ]
    print(f"{args.cells} cells of lambda_max, RateRNN(100), t_obs={args.t_obs:g}, RK4 dt=0.1")
    for name, seconds in rows:
        print(f"  {name:40s} {seconds:8.2f} s")
    print(f"  parallel efficiency (2 workers)          {figures['efficiency']:8.2f}")
    print(
        f"  ... without start-up                     {figures['efficiency_without_startup']:8.2f}"
    )
    for workers in (1, 2):
        value = figures[f"overhead_per_cell_ms_workers{workers}"]
        print(f"  overhead per cell, {workers} worker(s)              {value:8.1f} ms")
    record = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "load_average_1min": os.getloadavg()[0],
        **figures,
    }
    folder = Path(__file__).parent / "results"
    folder.mkdir(exist_ok=True)
    (folder / "sweep.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"ratio={figures['plain_loop_s'] / t2:.3f}")


if __name__ == "__main__":
    main()
