"""Where sweep cells run: local worker processes (default) or a dask.distributed cluster.

Both executors take the same tasks and yield ``(task, record)`` pairs as cells finish, in
completion order. A record is plain JSON (state, metrics, error, seconds); a cell that
raises is recorded as failed and never stops the sweep. Only the calling process writes
files, so a killed sweep loses at most the cells that were in flight.
"""

import os
import re
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any

from .._errors import InvalidInputError

Task = dict[str, Any]
Record = dict[str, Any]


def run_cell(task: Task) -> Record:
    """Run one cell (in a worker): validate its config, call ``run``, return a plain record.

    ``task`` holds the experiment's ``run`` function and config type (pickled by reference)
    and the cell's config as JSON. Enables float64 and the compilation cache as the CLI
    does. Never raises.
    """
    import jax.random as jr

    from .._jax_setup import configure_jax
    from ..experiments._base import SilentProgress
    from ..experiments._rundir import clean_metrics

    start = time.perf_counter()
    try:
        configure_jax()
        config = task["config_type"].model_validate(task["config"])
        results = task["run"](config, key=jr.key(config.seed), progress=SilentProgress())
        metrics = clean_metrics(results.metrics)
    except Exception as error:  # recorded in the cell's JSON; --retry-failed reruns it
        return {
            "state": "failed",
            "metrics": {},
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
            "seconds": time.perf_counter() - start,
        }
    return {
        "state": "done",
        "metrics": metrics,
        "error": None,
        "seconds": time.perf_counter() - start,
    }


def _lost(error: BaseException) -> Record:
    """Record of a cell whose worker failed (crashed, lost, cancelled)."""
    return {"state": "failed", "metrics": {}, "error": f"{type(error).__name__}: {error}"}


def _init_worker() -> None:
    """One XLA CPU thread per worker: cells are the parallelism, and a cell's numbers must
    not depend on how many workers share the cores. Runs before the worker's XLA backend
    starts (importing rnnlab does not start it)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()
        )


class LocalExecutor:
    """``workers`` local processes (spawn start method: forking after JAX starts is unsafe)."""

    def __init__(self, workers: int | None = None):
        workers = (os.cpu_count() or 1) if workers is None else workers
        if workers < 1:
            raise InvalidInputError(f"--workers {workers} must be >= 1")
        self.workers = workers

    def describe(self) -> str:
        return f"{self.workers} local worker process(es)"

    def run(self, tasks: list[Task]) -> Iterator[tuple[Task, Record]]:
        """Run ``tasks``; yield ``(task, record)`` as each finishes."""
        if not tasks:
            return
        workers = min(self.workers, len(tasks))
        pool = ProcessPoolExecutor(
            workers, mp_context=get_context("spawn"), initializer=_init_worker
        )
        try:
            futures = {pool.submit(run_cell, task): task for task in tasks}
            for future in as_completed(futures):
                try:
                    record = future.result()
                except Exception as error:  # a worker died: the cell failed, the sweep goes on
                    record = _lost(error)
                yield futures[future], record
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


_ADDRESS = re.compile(r"^(tcp|tls)://[^\s/:]+:\d{1,5}$")


class DaskExecutor:
    """An existing dask.distributed cluster at ``address`` (``tcp://HOST:PORT``)."""

    def __init__(self, address: str):
        if not _ADDRESS.match(address):
            raise InvalidInputError(
                f"--scheduler {address!r} is not an address; write tcp://HOST:PORT "
                "(start one with `dask scheduler --host 127.0.0.1`)"
            )
        self.address = address

    def describe(self) -> str:
        return f"dask cluster at {self.address}"

    def connect(self):
        """A connected client; one clear error if no scheduler answers."""
        from distributed import Client

        try:
            return Client(self.address, timeout="10s", set_as_default=False)
        except OSError as error:
            raise InvalidInputError(
                f"--scheduler {self.address}: no scheduler answers ({error}); start one with "
                "`dask scheduler --host 127.0.0.1` and `dask worker ADDRESS`"
            ) from None

    def run(self, tasks: list[Task]) -> Iterator[tuple[Task, Record]]:
        """Run ``tasks`` on the cluster; yield ``(task, record)`` as each finishes."""
        from distributed import as_completed as dask_completed

        if not tasks:
            return
        client = self.connect()
        futures: dict = {}
        try:
            futures = {client.submit(run_cell, task, pure=False): task for task in tasks}
            for future in dask_completed(list(futures), loop=client.loop):
                try:
                    record = future.result()
                except Exception as error:
                    record = _lost(error)
                yield futures[future], record
        finally:
            client.cancel(list(futures))
            client.close()


def make_executor(workers: int | None, scheduler: str | None):
    """The executor for ``--workers`` / ``--scheduler`` (one or the other)."""
    if scheduler is not None and workers is not None:
        raise InvalidInputError("give --workers or --scheduler, not both")
    if scheduler is not None:
        return DaskExecutor(scheduler)
    return LocalExecutor(workers)
