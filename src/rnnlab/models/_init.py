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


def orthogonal(key: Key, shape: tuple[int, int], dtype=jnp.float64) -> Array:
    r"""A Haar-random orthogonal matrix (rows or columns orthonormal if not square).

    QR decomposition of a standard Gaussian matrix with the sign fix
    $Q \leftarrow Q\,\mathrm{diag}(\mathrm{sign}\,\mathrm{diag}\,R)$, which makes the
    distribution exactly Haar (Mezzadri, Notices AMS 54, 592 (2007), arXiv:math-ph/0609050).
    Square: every eigenvalue has $|\lambda| = 1$. Keras' ``Orthogonal`` with gain 1.

    References: Saxe, McClelland & Ganguli, arXiv:1312.6120.
    """
    rows, cols = shape
    gaussian = jr.normal(key, (max(rows, cols), min(rows, cols)), dtype)
    q, r = jnp.linalg.qr(gaussian)
    q = q * jnp.sign(jnp.diagonal(r))[None, :]
    return q if rows >= cols else q.T


def identity(key: Key, shape: tuple[int, int], dtype=jnp.float64) -> Array:
    """The identity matrix (IRNN, Le, Jaitly & Hinton, arXiv:1504.00941); ``key`` is unused.

    Scale it with :func:`scale_by_gain` (PsychRNN's ``AlphaIdentity``).
    """
    del key
    return jnp.eye(shape[0], shape[1], dtype=dtype)


def glorot_uniform(key: Key, shape: tuple[int, int], dtype=jnp.float64) -> Array:
    r"""Entries i.i.d. $U(-a, a)$, $a = \sqrt{6/(n_\mathrm{in} + n_\mathrm{out})}$.

    Keras' default kernel initialiser. References: Glorot & Bengio, AISTATS 2010.
    """
    limit = jnp.sqrt(6.0 / (shape[0] + shape[1]))
    return jr.uniform(key, shape, dtype, minval=-limit, maxval=limit)


_INITIALISERS = {
    "orthogonal": orthogonal,
    "normal": random_normal,
    "random_normal": random_normal,
    "identity": identity,
    "glorot_uniform": glorot_uniform,
    "glorot": glorot_uniform,
}


def make_initialiser(name: str):
    """The initialiser ``(key, shape, dtype) -> Array`` called ``name``.

    Names: ``orthogonal``, ``normal`` (= ``random_normal``, $\\mathcal{N}(0, 1/n)$),
    ``identity``, ``glorot_uniform`` (= ``glorot``). An unknown name raises
    :class:`rnnlab.InvalidInputError` listing the known ones.
    """
    if name not in _INITIALISERS:
        from .._errors import InvalidInputError

        raise InvalidInputError(
            f"initialiser {name!r} is unknown; choose one of {sorted(_INITIALISERS)}"
        )
    return _INITIALISERS[name]
