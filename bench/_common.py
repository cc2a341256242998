"""Helpers shared by the benchmarks: thread policy and timing.

Standard library only at module level, so a benchmark can pin threads before numpy or
jax is imported.
"""

import os
import time


def pin_threads(threads: str) -> None:
    """``"1"``: one BLAS/OpenMP thread and single-threaded XLA; ``"all"``: leave the
    defaults. Must run before numpy or jax is imported."""
    if threads == "all":
        return
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()


def timed(fn):
    """``(fn(), wall seconds, process CPU seconds)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def parse_args(description: str, quick_help: str, argv=None):
    """The common options (``--threads``, ``--repeats``, ``--quick``, ``--no-save``),
    parsed; threads are pinned at once, so call this before importing numpy or jax."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", choices=["1", "all"], default="1")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--no-save", action="store_true", help="do not write the JSON")
    args = parser.parse_args(argv)
    pin_threads(args.threads)
    return args
