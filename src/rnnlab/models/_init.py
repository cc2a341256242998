"""Weight initialisers: pure functions ``(key, shape, dtype) -> Array``.

Scalings (spectral radius, gain) are separate named functions, so that a matrix's
distribution and its scale are chosen independently.
"""

import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array

from .._types import Key


def random_normal(key: Key, shape: tuple[int, int], dtype=jnp.float64) -> Array:
    r"""Entries i.i.d. $\mathcal{N}(0, 1/n)$ with $n$ = ``shape[1]`` (fan-in).

    For square ``shape`` the eigenvalues fill the unit disk as $n \to \infty$
    (circular law; Girko 1985, Bai 1997).
    """
    return jr.normal(key, shape, dtype) / jnp.sqrt(shape[1])


def scale_by_gain(weights: Array, gain: float) -> Array:
    """Multiply a unit-variance-scaled matrix by ``gain`` (so its std is gain/sqrt(n))."""
    return gain * weights


def zero_diagonal(weights: Array) -> Array:
    """Remove self-couplings (autapses), as in Engelken's Lyapunov-spectrum demos."""
    return weights * (1.0 - jnp.eye(weights.shape[0], dtype=weights.dtype))
