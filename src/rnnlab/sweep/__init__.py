"""Sweeps: run an experiment over a grid of config values, locally or on a Dask cluster.

Results are an xarray Dataset (dims = grid parameters and ``seed``) stored as Zarr; a
re-run resumes, skipping finished cells. See :func:`plan_sweep` and :func:`run_sweep`.
"""

from ._executors import DaskExecutor as DaskExecutor
from ._executors import LocalExecutor as LocalExecutor
from ._executors import make_executor as make_executor
from ._executors import run_cell as run_cell
from ._grid import Cell as Cell
from ._grid import GridAxis as GridAxis
from ._grid import SweepPlan as SweepPlan
from ._grid import cell_seed as cell_seed
from ._grid import parse_grid_option as parse_grid_option
from ._grid import plan_sweep as plan_sweep
from ._plots import sweep_figures as sweep_figures
from ._runner import RichSweepProgress as RichSweepProgress
from ._runner import SilentSweepProgress as SilentSweepProgress
from ._runner import SweepSummary as SweepSummary
from ._runner import run_sweep as run_sweep
from ._store import SweepStore as SweepStore
from ._store import build_dataset as build_dataset
from ._store import load_results as load_results
