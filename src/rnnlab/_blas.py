"""One BLAS/LAPACK thread around dense factorisations on the CPU.

JAX's CPU LAPACK calls (QR, SVD, eig) run in SciPy's OpenBLAS, whose worker threads
busy-wait and fight XLA's own thread pool: one 5453 x 453 QR took 0.16 s with OpenBLAS's
default 2 threads and 0.08 s with 1 on an idle 2-core machine, and 3.2 s against 0.013 s
under load. :func:`single_blas_thread` limits OpenBLAS to one thread for the duration of
a block; threads of the process outside the block are untouched.
"""

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import scipy.linalg  # noqa: F401  (loads SciPy's OpenBLAS, the one jaxlib's LAPACK uses)
from threadpoolctl import ThreadpoolController

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Context manager: BLAS libraries loaded in this process use one thread inside."""
    with _controller().limit(limits=1, user_api="blas"):
        yield


def with_single_blas_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`single_blas_thread`."""

    @functools.wraps(function)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with single_blas_thread():
            return function(*args, **kwargs)

    return wrapped
