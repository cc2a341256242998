r"""Streaming least squares by tall-skinny QR (TSQR), minimum-norm or ridge.

Problem: given samples (features $r_s \in \mathbb{R}^F$, targets $x_s \in \mathbb{R}^T$)
arriving in chunks, find

$$W = \operatorname*{arg\,min}_W \|W R - X\|_F \quad\text{with the smallest } \|W\|_F,$$

($R$ = features by samples, $X$ = targets by samples) without ever holding $R$.

Method: keep only the $(F+T)\times(F+T)$ upper-triangular factor $\mathcal{R}$ of the
augmented sample matrix $[R^\top \mid X^\top]$; for each chunk, stack $\mathcal{R}$ on
the chunk and re-factor (Householder QR, ``jnp.linalg.qr(mode="r")``), in float64. With

$$\mathcal{R} = \begin{pmatrix} R_{11} & R_{12} \\ 0 & R_{22} \end{pmatrix},\qquad
\|R^\top w - X^\top\|^2 = \|R_{11} w - R_{12}\|^2 + \|R_{22}\|^2,$$

so the solution is the min-norm solution of the small problem $R_{11} w = R_{12}$, found
by the SVD of $R_{11}$ with singular values below ``rcond`` $\times\,\sigma_1$ dropped.
$R_{11}$ has exactly the singular values of the state matrix, so ``rcond`` means what it
means for :func:`numpy.linalg.lstsq`. Ridge $\lambda$ (in Gram units, $\lambda I$ added to
$RR^\top$) appends the rows $\sqrt\lambda\,[I \mid 0]$ to $\mathcal{R}$ before the solve.

Why not the normal equations $W = X R^\top (R R^\top)^{+}$: they square the condition
number, so singular directions below $\sqrt{\epsilon}\,\sigma_1 \approx 10^{-8}\sigma_1$
are lost; the state matrices of driven reservoirs span 17 decades and the extrapolation
of Kim et al. needs directions down to about $10^{-10}\sigma_1$ (spec
chaotic-memories §2.4). Memory is $O((F+T)^2)$ plus one chunk.

References: Demmel, Grigori, Hoemmen & Langou, "Communication-optimal parallel and
sequential QR and LU factorizations", SIAM J. Sci. Comput. 34, A206 (2012),
DOI 10.1137/080731992; Golub & Van Loan, *Matrix Computations*, 4th ed., §5.5 (min-norm
least squares by SVD).
"""

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._blas import with_single_blas_thread
from .._errors import InvalidInputError

#: Default relative singular-value cutoff of the min-norm solve. Near eps x samples at the
#: paper's 800 000 samples (1.8e-10); the spec measured passes for 4e-11 ... 1e-10 and
#: failures from 1e-8 up.
DEFAULT_RCOND = 1e-10


class LeastSquaresState(NamedTuple):
    """State of :func:`streaming_least_squares`: the triangular factor of the augmented
    samples seen so far, (features + targets) square, and how many samples it holds."""

    factor: Float[Array, "augmented augmented"]
    num_samples: Array


class LeastSquaresSolution(NamedTuple):
    """Result of :meth:`StreamingLeastSquares.finalise`.

    ``weights`` (targets, features); ``singular_values`` of the feature matrix (of the
    ridge-augmented one when ``ridge > 0``), descending; ``rank`` how many were kept;
    ``rcond`` the cutoff used; ``residual_norm`` $\\|W R - X\\|_F$ (without the ridge
    term); ``num_samples``.
    """

    weights: Float[Array, "targets features"]
    singular_values: Float[Array, " features"]
    rank: Array
    rcond: float
    ridge: float
    residual_norm: Array
    num_samples: Array


class StreamingLeastSquares(NamedTuple):
    """``init() -> state``, ``update(state, features, targets) -> state``,
    ``finalise(state) -> LeastSquaresSolution``: pure functions, jit-compatible (optax
    style; ``update`` returns no parameters because they exist only after the solve)."""

    init: Callable[[], LeastSquaresState]
    update: Callable[..., LeastSquaresState]
    finalise: Callable[[LeastSquaresState], LeastSquaresSolution]


def _check_size(name: str, value) -> int:
    if not isinstance(value, int | np.integer) or value <= 0:
        raise InvalidInputError(f"{name}={value!r} must be a positive integer")
    return int(value)


def streaming_least_squares(
    num_features: int,
    num_targets: int,
    *,
    rcond: float = DEFAULT_RCOND,
    ridge: float = 0.0,
) -> StreamingLeastSquares:
    r"""Streaming min-norm (or ridge) least squares by TSQR; see the module docstring.

    ``rcond``: singular values $\sigma_i < $ ``rcond`` $\sigma_1$ of the feature matrix are
    treated as zero (default :data:`DEFAULT_RCOND` = 1e-10). ``ridge``: $\lambda \ge 0$.
    Always float64 (enable ``jax_enable_x64``).

    Example:
        >>> solver = streaming_least_squares(450, 3)
        >>> state = solver.init()
        >>> for states, inputs in chunks:  # (samples, 450), (samples, 3)
        ...     state = solver.update(state, states, inputs)
        >>> readout = solver.finalise(state).weights  # (3, 450)
    """
    num_features = _check_size("num_features", num_features)
    num_targets = _check_size("num_targets", num_targets)
    if not (np.isfinite(rcond) and 0 <= rcond < 1):
        raise InvalidInputError(
            f"rcond={rcond!r} must be in [0, 1); it is the relative singular-value cutoff, "
            f"e.g. {DEFAULT_RCOND}"
        )
    if not (np.isfinite(ridge) and ridge >= 0):
        raise InvalidInputError(f"ridge={ridge!r} must be finite and >= 0 (0: min-norm)")
    return _build(num_features, num_targets, float(rcond), float(ridge))


@functools.cache
def _build(num_features: int, num_targets: int, rcond: float, ridge: float):
    """The jitted functions, built once per size and cutoff (no recompilation per call)."""
    size = num_features + num_targets

    def init() -> LeastSquaresState:
        if not jax.config.read("jax_enable_x64"):
            raise InvalidInputError(
                "streaming least squares needs float64: call "
                'jax.config.update("jax_enable_x64", True) before using it'
            )
        return LeastSquaresState(jnp.zeros((size, size), jnp.float64), jnp.zeros((), jnp.int64))

    def update(
        state: LeastSquaresState,
        features: Float[ArrayLike, "samples features"],
        targets: Float[ArrayLike, "samples targets"],
    ) -> LeastSquaresState:
        features = jnp.asarray(features).astype(jnp.float64)
        targets = jnp.asarray(targets).astype(jnp.float64)
        if features.ndim != 2 or features.shape[1] != num_features:
            raise InvalidInputError(
                f"features have shape {features.shape}; expected (samples, {num_features})"
            )
        if targets.shape != (features.shape[0], num_targets):
            raise InvalidInputError(
                f"targets have shape {targets.shape}; expected ({features.shape[0]}, "
                f"{num_targets}), one row per feature row"
            )
        stacked = jnp.concatenate(
            [state.factor, jnp.concatenate([features, targets], axis=1)], axis=0
        )
        factor = jnp.linalg.qr(stacked, mode="r")
        return LeastSquaresState(factor, state.num_samples + features.shape[0])

    def finalise(state: LeastSquaresState) -> LeastSquaresSolution:
        factor = state.factor
        r11 = factor[:num_features, :num_features]
        r12 = factor[:num_features, num_features:]
        r22 = factor[num_features:, num_features:]
        base_residual = jnp.sum(r22**2)
        if ridge > 0:
            ridge_rows = jnp.concatenate(
                [
                    jnp.sqrt(ridge) * jnp.eye(num_features, dtype=jnp.float64),
                    jnp.zeros((num_features, num_targets), jnp.float64),
                ],
                axis=1,
            )
            augmented = jnp.linalg.qr(
                jnp.concatenate([factor[:num_features], ridge_rows], axis=0), mode="r"
            )
            r11 = augmented[:num_features, :num_features]
            r12 = augmented[:num_features, num_features:]
        u, s, vt = jnp.linalg.svd(r11)
        keep = s > rcond * s[0]
        inverse = jnp.where(keep, 1.0 / jnp.where(keep, s, 1.0), 0.0)
        w = vt.T @ (inverse[:, None] * (u.T @ r12))  # (features, targets)
        original_r11 = factor[:num_features, :num_features]
        original_r12 = factor[:num_features, num_features:]
        residual = jnp.sqrt(jnp.sum((original_r11 @ w - original_r12) ** 2) + base_residual)
        return LeastSquaresSolution(
            weights=w.T,
            singular_values=s,
            rank=jnp.sum(keep),
            rcond=float(rcond),
            ridge=float(ridge),
            residual_norm=residual,
            num_samples=state.num_samples,
        )

    # One OpenBLAS thread: its busy-waiting workers fight XLA's (see rnnlab._blas).
    return StreamingLeastSquares(
        init, with_single_blas_thread(jax.jit(update)), with_single_blas_thread(jax.jit(finalise))
    )


def least_squares(
    features: Float[ArrayLike, "samples features"],
    targets: Float[ArrayLike, "samples targets"],
    *,
    rcond: float = DEFAULT_RCOND,
    ridge: float = 0.0,
    chunk_size: int = 4096,
) -> LeastSquaresSolution:
    """Min-norm (or ridge) least squares of in-memory arrays, chunk by chunk (TSQR).

    Solves ``features @ W.T ≈ targets``; for data that do not fit in memory use
    :func:`streaming_least_squares` directly.
    """
    features = np.asarray(features)
    targets = np.asarray(targets)
    if targets.ndim == 1:
        targets = targets[:, None]
    if features.ndim != 2 or targets.shape[0] != features.shape[0]:
        raise InvalidInputError(
            f"features {features.shape} and targets {targets.shape} must be (samples, F) and "
            "(samples, T) with the same number of samples"
        )
    if not (np.all(np.isfinite(features)) and np.all(np.isfinite(targets))):
        raise InvalidInputError("features or targets contain a non-finite value")
    chunk_size = _check_size("chunk_size", chunk_size)
    solver = streaming_least_squares(features.shape[1], targets.shape[1], rcond=rcond, ridge=ridge)
    state = solver.init()
    for start in range(0, features.shape[0], chunk_size):
        state = solver.update(
            state, features[start : start + chunk_size], targets[start : start + chunk_size]
        )
    return solver.finalise(state)
