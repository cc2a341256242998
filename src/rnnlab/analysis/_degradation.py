r"""Degradation and spectra of recurrent weight matrices.

Pruning (Jarne & Laje, arXiv:1906.01094, §5.4 of the spec): zero the weakest fraction
$p$ of the recurrent weights (by $|w|$), of both signs, or only the positive or negative
ones among them; random pruning at the same $p$ is the control. Every pruning function is
pure and ``vmap``-pable over the fraction.

Spectra: Henrici's departure from normality
$H(W) = \sqrt{\lVert W\rVert_F^2 - \sum_i |\lambda_i|^2}$ (0 iff $W$ is normal), usually
reported relative to $\lVert W\rVert_F$; the leading eigenvalue and its angle read as an
oscillation frequency $f = |\arg\lambda| / (2\pi\,dt)$, exact for the linear map
$h \mapsto W h$ (the tanh network linearised at the origin).

References: Henrici, Numer. Math. 4, 24 (1962); Jarne & Laje, arXiv:1906.01094;
Jarne, Cogn. Neurodyn. 17, 257 (2023), DOI 10.1007/s11571-022-09802-5.
"""

from typing import Literal

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._errors import InvalidInputError
from .._types import Key

PruneSign = Literal["both", "positive", "negative"]


def _check_sign(sign: str) -> None:
    if sign not in ("both", "positive", "negative"):
        raise InvalidInputError(
            f"sign={sign!r} is unknown; choose 'both', 'positive' or 'negative'"
        )


def _check_fraction(fraction) -> None:
    if isinstance(fraction, int | float) and not 0.0 <= fraction <= 1.0:
        raise InvalidInputError(f"fraction={fraction!r} must lie in [0, 1]; e.g. 0.1 for 10 %")


def pruning_mask(
    weights: Float[Array, "rows cols"], fraction: Float[ArrayLike, ""], *, sign: PruneSign = "both"
) -> Array:
    r"""Boolean mask of the entries :func:`prune_weakest` removes.

    The $k = \mathrm{round}(p\,n)$ entries of smallest $|w|$ (ties broken by position) are
    candidates; ``sign="positive"`` keeps only the positive candidates, ``"negative"``
    the negative ones (so about half of $k$ is removed, as in the authors' scripts, which
    prune $0 < w < \theta$ or $-\theta < w < 0$ at the same threshold $\theta$).
    ``fraction`` may be traced.
    """
    _check_sign(sign)
    _check_fraction(fraction)
    flat = jnp.abs(weights).ravel()
    rank = jnp.argsort(jnp.argsort(flat, stable=True), stable=True)
    count = jnp.round(jnp.asarray(fraction, flat.dtype) * flat.size).astype(rank.dtype)
    candidate = (rank < count).reshape(weights.shape)
    if sign == "positive":
        candidate = candidate & (weights > 0)
    elif sign == "negative":
        candidate = candidate & (weights < 0)
    return candidate


def prune_weakest(
    weights: Float[Array, "rows cols"], fraction: Float[ArrayLike, ""], *, sign: PruneSign = "both"
) -> Float[Array, "rows cols"]:
    """Zero the weakest ``fraction`` of ``weights`` (see :func:`pruning_mask`).

    Example:
        >>> w = jnp.array([[0.1, -0.5], [2.0, -0.05]])
        >>> prune_weakest(w, 0.5).tolist()
        [[0.0, -0.5], [2.0, 0.0]]
    """
    return jnp.where(pruning_mask(weights, fraction, sign=sign), 0.0, weights).astype(
        weights.dtype
    )


def prune_below(
    weights: Float[Array, "rows cols"],
    threshold: Float[ArrayLike, ""],
    *,
    sign: PruneSign = "both",
) -> Float[Array, "rows cols"]:
    r"""Zero entries with $|w| < \theta$ (the authors' definition), of the chosen sign."""
    _check_sign(sign)
    remove = jnp.abs(weights) < threshold
    if sign == "positive":
        remove = remove & (weights > 0)
    elif sign == "negative":
        remove = remove & (weights < 0)
    return jnp.where(remove, 0.0, weights).astype(weights.dtype)


def prune_random(
    weights: Float[Array, "rows cols"], fraction: Float[ArrayLike, ""], *, key: Key
) -> Float[Array, "rows cols"]:
    """Zero a uniformly random ``fraction`` of the entries (the control of pruning)."""
    _check_fraction(fraction)
    rank = jnp.argsort(jr.permutation(key, weights.size))
    count = jnp.round(jnp.asarray(fraction, weights.dtype) * weights.size).astype(rank.dtype)
    remove = (rank < count).reshape(weights.shape)
    return jnp.where(remove, 0.0, weights).astype(weights.dtype)


def henrici_departure(weights: ArrayLike, *, relative: bool = True) -> float:
    r"""Henrici's departure from normality $\sqrt{\lVert W\rVert_F^2 - \sum|\lambda_i|^2}$.

    Divided by $\lVert W\rVert_F$ when ``relative`` (the spec's $H$; $\approx 1/\sqrt2$
    for a large Gaussian matrix, 0 for any normal matrix). Computed in float64 with NumPy;
    a tiny negative difference from rounding is clipped to 0.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise InvalidInputError(f"weights has shape {w.shape}; expected a square matrix")
    frobenius2 = float(np.sum(w**2))
    eigenvalue2 = float(np.sum(np.abs(np.linalg.eigvals(w)) ** 2))
    departure = np.sqrt(max(frobenius2 - eigenvalue2, 0.0))
    if relative:
        return float(departure / np.sqrt(frobenius2)) if frobenius2 > 0 else 0.0
    return float(departure)


def leading_eigenvalue(weights: ArrayLike, *, by: Literal["real", "modulus"] = "real") -> complex:
    """Eigenvalue of largest real part (the authors' choice) or of largest modulus.

    Of a complex pair the one with non-negative imaginary part is returned.
    """
    if by not in ("real", "modulus"):
        raise InvalidInputError(f"by={by!r} is unknown; choose 'real' or 'modulus'")
    eig = np.linalg.eigvals(np.asarray(weights, dtype=np.float64))
    score = eig.real if by == "real" else np.abs(eig)
    # Round so that the members of a conjugate pair tie, then prefer Im >= 0.
    order = np.lexsort((-eig.imag, -np.round(score, 12)))
    return complex(eig[order[0]])


def oscillation_frequency(eigenvalue: complex, *, dt: float = 1.0) -> float:
    r"""$f = |\arg\lambda| / (2\pi\,dt)$: the rotation per step of $\lambda$ as a frequency.

    With ``dt`` in ms this is in kHz (multiply by 1000 for Hz).
    """
    if not dt > 0:
        raise InvalidInputError(f"dt={dt!r} must be > 0")
    return float(abs(np.angle(eigenvalue)) / (2 * np.pi * dt))


def spectrum_summary(weights: ArrayLike, *, dt: float = 1.0) -> dict[str, float]:
    r"""Spectral numbers of a recurrent matrix (spec §5.1), in float64.

    ``spectral_radius``; ``num_outside_unit_circle`` ($|\lambda| > 1 + 10^{-6}$);
    ``leading_real``/``leading_imag`` (max real part), its ``leading_angle`` and
    ``leading_frequency`` (cycles per ``dt``-unit); the same for the largest-modulus
    eigenvalue (``modulus_*``); ``henrici`` (relative); ``oscillation_index``
    $|\mathrm{Im}\,\lambda|/|\lambda|$ of the max-real eigenvalue.
    """
    w = np.asarray(weights, dtype=np.float64)
    eig = np.linalg.eigvals(w)
    leading = leading_eigenvalue(w, by="real")
    largest = leading_eigenvalue(w, by="modulus")
    return {
        "spectral_radius": float(np.max(np.abs(eig))),
        "num_outside_unit_circle": int(np.sum(np.abs(eig) > 1 + 1e-6)),
        "leading_real": leading.real,
        "leading_imag": abs(leading.imag),
        "leading_angle": float(abs(np.angle(leading))),
        "leading_frequency": oscillation_frequency(leading, dt=dt),
        "modulus_real": largest.real,
        "modulus_imag": abs(largest.imag),
        "modulus_frequency": oscillation_frequency(largest, dt=dt),
        "henrici": henrici_departure(w),
        "oscillation_index": float(abs(leading.imag) / max(abs(leading), 1e-300)),
    }


def spectral_label(
    weights: ArrayLike, *, oscillatory_index: float = 0.15
) -> Literal["fixed_point", "oscillatory"]:
    """Spectral class of a trained network (Jarne 2023): how the held state is kept.

    ``oscillatory`` if the max-real-part eigenvalue is a complex pair with oscillation
    index $|\\mathrm{Im}\\,\\lambda|/|\\lambda| \\ge$ ``oscillatory_index`` (0.15, the
    authors' 2025 rule), else ``fixed_point`` (a real leading outlier). The exact rule of
    the paper is unverified (spec §5.2).
    """
    summary = spectrum_summary(weights)
    return "oscillatory" if summary["oscillation_index"] >= oscillatory_index else "fixed_point"


Label = Literal["fixed_point", "limit_cycle", "slow", "quasi_periodic", "irregular"]

QUASI_PERIODIC_EXPONENT = 2e-3
"""Largest Lyapunov exponent (per step) below which motion that neither settles nor
returns is labelled ``quasi_periodic`` (an invariant circle or torus has exponent 0; a
window of 1,000 steps estimates it to within a few 1e-4)."""


def classify_trajectory(
    states: Float[ArrayLike, "time dim"],
    *,
    fixed_tolerance: float = 1e-4,
    cycle_tolerance: float = 1e-3,
    lyapunov_exponent: float | None = None,
) -> tuple[Label, int]:
    """Label the end of a hidden-state trajectory and return ``(label, period)``.

    ``fixed_point`` if no unit moves more than ``fixed_tolerance`` over ``states``;
    ``limit_cycle`` if the path leaves the ``cycle_tolerance`` ball (max norm) around the
    last state and comes back into it (``period`` = the smallest such lag in steps, >= 2,
    and at most a third of the window, so that the cycle is seen to repeat);
    ``slow`` if it never comes back but only drifts steadily towards (or away from) the
    last state, i.e. the distance to it never shrinks with the lag by more than
    ``cycle_tolerance`` (a slow approach to a fixed point, or a slow escape); else, given
    the largest Lyapunov exponent along the window (``lyapunov_exponent``, per step),
    ``quasi_periodic`` if it is below :data:`QUASI_PERIODIC_EXPONENT` (motion on an
    invariant circle whose period is not a whole number of steps, so it never returns
    within tolerance; its exponent is 0) and ``irregular`` otherwise (chaotic, or not yet
    settled). Without an exponent such motion is ``irregular`` too.
    Pass the last ~1,000 steps of a long run with zero input (spec §5.2).
    """
    x = np.asarray(states, dtype=np.float64)
    last = x[-1]
    if np.max(np.abs(x - last)) <= fixed_tolerance:
        return "fixed_point", 0
    distance = np.max(np.abs(x[:-1] - last), axis=1)[::-1]  # lag 1, 2, ...
    has_left = np.maximum.accumulate(distance) > cycle_tolerance
    returned = np.nonzero(has_left & (distance <= cycle_tolerance))[0]
    # a cycle must repeat in the window: quasi-periodic motion also comes close again
    # (after hundreds of steps, by Dirichlet's approximation theorem), but only once
    if returned.size and 3 * (returned[0] + 1) <= len(x):
        return "limit_cycle", int(returned[0] + 1)
    if np.all(np.diff(distance) >= -cycle_tolerance):
        return "slow", 0
    if lyapunov_exponent is not None and lyapunov_exponent < QUASI_PERIODIC_EXPONENT:
        return "quasi_periodic", 0
    return "irregular", 0


def silent_window(model, state, num_steps: int, window: int):
    r"""Run ``model`` from ``state`` for ``num_steps`` steps of zero input; return the last
    ``window`` states and the largest Lyapunov exponent along them (per step).

    A tangent vector rides along, $v_{t+1} = DF(h_t)\,v_t / \|DF(h_t)\,v_t\|$ (by
    ``jax.jvp`` of ``model.step``), aligning with the most expanding direction during
    the first ``num_steps - window`` steps; the exponent is the mean of
    $\log\|DF(h_t)\,v_t\|$ over the window (Benettin et al., Meccanica 15, 9 (1980)).
    Pure JAX, so it vmaps over networks and stimuli.
    """

    def advance(carry, _):
        h, v = carry
        h, v = jax.jvp(lambda x: model.step(x, None), (h,), (v,))
        norm = jnp.linalg.norm(v)
        return (h, v / norm), (h, jnp.log(norm))

    v0 = jnp.ones_like(state) / jnp.sqrt(state.shape[0])
    carry, _ = jax.lax.scan(advance, (state, v0), None, length=num_steps - window)
    _, (recorded, logs) = jax.lax.scan(advance, carry, None, length=window)
    return recorded, jnp.mean(logs)


def dynamical_label(
    model,
    inputs: Float[ArrayLike, "time input"],
    *,
    num_steps: int = 5000,
    window: int = 1000,
    fixed_tolerance: float = 1e-4,
    cycle_tolerance: float = 1e-3,
) -> tuple[Label, int]:
    """Give ``inputs`` (a stimulus) to ``model``, run ``num_steps`` more with zero input
    and label the last ``window`` hidden states with :func:`classify_trajectory`, with
    the largest Lyapunov exponent along them (:func:`silent_window`).

    ``model`` needs ``run(inputs) -> (states, outputs)`` and ``step(state, None)`` (e.g.
    :class:`rnnlab.models.ElmanRNN`). The hidden state, not the output, is classified:
    the read-out can cancel large oscillations.
    """
    if window > num_steps:
        raise InvalidInputError(f"window={window} must not exceed num_steps={num_steps}")
    states, _ = model.run(jnp.asarray(inputs))
    after, exponent = silent_window(model, states[-1], num_steps, window)
    return classify_trajectory(
        np.asarray(after),
        fixed_tolerance=fixed_tolerance,
        cycle_tolerance=cycle_tolerance,
        lyapunov_exponent=float(exponent),
    )
