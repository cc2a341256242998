r"""Lyapunov exponents by tangent-space propagation with QR re-orthonormalisation.

Algorithm (Benettin et al. 1980; the "H2" method of Geist, Parlitz & Lauterborn 1990):

1. burn the state in for ``t_burn``;
2. start a random orthonormal frame $Q \in \mathbb{R}^{d \times k}$;
3. propagate $Q$ with the exact tangent of the one-step map, $Q \leftarrow D\Phi(x)\,Q$,
   obtained with :func:`jax.jvp` vmapped over the frame's columns (so a top-$k$ run never
   forms the $d \times d$ Jacobian);
4. every ``qr_every`` steps factor $Q, R = \mathrm{qr}(Q)$ and record $\ln|R_{ii}|$;
5. discard ``t_tangent_burn`` of frame time;
6. $\lambda_i = \sum \ln|R_{ii}| / T_\mathrm{obs}$.

Exponents are natural-log rates per unit time for flows and per step for maps.

References: Benettin, Galgani, Giorgilli & Strelcyn, Meccanica 15, 9 (1980);
Geist, Parlitz & Lauterborn, Prog. Theor. Phys. 83, 875 (1990), DOI 10.1143/PTP.83.875;
Engelken, Wolf & Abbott, arXiv:2006.02427.
"""

import math
import warnings
from dataclasses import dataclass
from typing import Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PyTree

from .._errors import DivergenceError, InvalidInputError
from .._types import Key, State
from ..models._base import AbstractContinuousModel, AbstractDiscreteModel
from ..models._simulate import SolverName, step_map

Status = Literal["converged", "max_steps_reached", "diverged"]


@dataclass(frozen=True)
class LyapunovOptions:
    """Options of :func:`lyapunov_spectrum`.

    Times are in the model's time unit (steps for maps). ``num_exponents=None`` computes
    the full spectrum. ``tolerance`` is the standard error (over ``num_segments``
    independent segments) below which the result counts as ``converged``.
    """

    num_exponents: int | None = None
    dt: float = 0.01
    solver: SolverName = "rk4"
    qr_every: int = 10
    t_burn: float = 100.0
    t_tangent_burn: float = 10.0
    t_obs: float = 1000.0
    num_segments: int = 10
    tolerance: float = 1e-2

    def __post_init__(self):
        if self.num_exponents is not None and self.num_exponents <= 0:
            raise InvalidInputError(f"num_exponents={self.num_exponents} must be >= 1 or None")
        for name in ("dt", "t_obs", "tolerance"):
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"{name}={getattr(self, name)!r} must be > 0")
        for name in ("t_burn", "t_tangent_burn"):
            if not getattr(self, name) >= 0:
                raise InvalidInputError(f"{name}={getattr(self, name)!r} must be >= 0")
        if self.qr_every < 1:
            raise InvalidInputError(f"qr_every={self.qr_every} must be >= 1")
        if self.num_segments < 2:
            raise InvalidInputError(f"num_segments={self.num_segments} must be >= 2")


class LyapunovResult(NamedTuple):
    """Result of :func:`lyapunov_spectrum`.

    ``exponents`` (k,), sorted as the QR delivers them (descending for a converged run);
    ``standard_error`` (k,) from ``num_segments`` independent segments;
    ``split_half_difference`` (k,) between the estimates of the two halves;
    ``running`` (intervals, k): the cumulative estimate after each QR interval, and
    ``running_times`` the observation time at each; ``max_log_condition`` the largest
    $\\ln(R_{11}/R_{kk})$ seen in one interval; ``final_state`` the state at the end.
    """

    exponents: np.ndarray
    standard_error: np.ndarray
    split_half_difference: np.ndarray
    running: np.ndarray
    running_times: np.ndarray
    max_log_condition: float
    final_state: np.ndarray
    status: Status


def _check_model(model) -> int:
    if not isinstance(model, AbstractContinuousModel | AbstractDiscreteModel):
        raise InvalidInputError(
            f"{type(model).__name__} is not an rnnlab model; wrap a vector field in "
            "rnnlab.systems.ODESystem"
        )
    return model.state_size


def _burn_in(step, state0, n_burn: int, step_dt: float):
    """Advance ``n_burn`` steps from t = 0; returns (t, state)."""

    def burn(i, carry):
        t, x = carry
        return t + step_dt, step(t, x)

    return jax.lax.fori_loop(0, n_burn, burn, (jnp.zeros((), state0.dtype), state0))


@eqx.filter_jit
def _run(model, state0, frame0, args, dt, solver, qr_every, n_burn, n_tangent_burn, n_obs):
    step, _ = step_map(model, dt=dt, solver=solver, args=args)
    step_dt = 1.0 if isinstance(model, AbstractDiscreteModel) else dt

    t, state = _burn_in(step, state0, n_burn, step_dt)

    def tangent_step(carry, _):
        t, x, frame = carry

        def push(v):
            return jax.jvp(lambda y: step(t, y), (x,), (v,))

        new_x, new_frame = jax.vmap(push, in_axes=1, out_axes=(None, 1))(frame)
        return (t + step_dt, new_x, new_frame), None

    def interval(carry, _):
        carry, _ = jax.lax.scan(tangent_step, carry, None, length=qr_every)
        t, x, frame = carry
        q, r = jnp.linalg.qr(frame.astype(jnp.float64))
        logs = jnp.log(jnp.abs(jnp.diagonal(r)))
        return (t, x, q.astype(frame.dtype)), logs

    carry = (t, state, frame0)
    carry, _ = jax.lax.scan(interval, carry, None, length=n_tangent_burn)
    carry, logs = jax.lax.scan(interval, carry, None, length=n_obs)
    return carry[1], logs


def lyapunov_spectrum(
    model: AbstractContinuousModel | AbstractDiscreteModel,
    state0: State,
    *,
    key: Key,
    options: LyapunovOptions = LyapunovOptions(),
    args: PyTree = None,
    throw: bool = False,
) -> LyapunovResult:
    """Lyapunov spectrum (full or top-k) of any model's flow or map.

    Example:
        >>> from rnnlab.systems import Lorenz
        >>> result = lyapunov_spectrum(Lorenz(), jnp.ones(3), key=jr.key(0))
        >>> result.exponents  # approximately (0.906, 0, -14.57)

    ``throw=True`` raises :class:`~rnnlab.DivergenceError` instead of returning a
    ``diverged`` status.
    """
    dim = _check_model(model)
    state0 = jnp.asarray(state0)
    if state0.shape != (dim,):
        raise InvalidInputError(f"state0 has shape {state0.shape}; expected ({dim},)")
    k = dim if options.num_exponents is None else options.num_exponents
    if k > dim:
        raise InvalidInputError(f"num_exponents={k} exceeds the state dimension {dim}")
    discrete = isinstance(model, AbstractDiscreteModel)
    dt = 1.0 if discrete else options.dt
    interval_time = dt * options.qr_every
    n_burn = round(options.t_burn / dt)
    n_tangent_burn = math.ceil(options.t_tangent_burn / interval_time)
    n_obs = max(options.num_segments, round(options.t_obs / interval_time))
    frame0, _ = jnp.linalg.qr(jr.normal(key, (dim, k), dtype=state0.dtype))
    final_state, logs = _run(
        model,
        state0,
        frame0,
        args,
        dt,
        options.solver,
        options.qr_every,
        n_burn,
        n_tangent_burn,
        n_obs,
    )
    logs = np.asarray(logs, dtype=np.float64)
    final_state = np.asarray(final_state)
    if not (np.all(np.isfinite(logs)) and np.all(np.isfinite(final_state))):
        if throw:
            raise DivergenceError(
                "Lyapunov run diverged (non-finite state or frame); reduce dt or check "
                "that the attractor is bounded"
            )
        nan = np.full(k, np.nan)
        return LyapunovResult(nan, nan, nan, logs, np.array([]), np.nan, final_state, "diverged")
    return _summarise(logs, interval_time, options, final_state)


def _summarise(logs, interval_time, options, final_state) -> LyapunovResult:
    n_obs, k = logs.shape
    cumulative = np.cumsum(logs, axis=0)
    times = interval_time * np.arange(1, n_obs + 1)
    running = cumulative / times[:, None]
    exponents = running[-1]
    segments = np.array_split(logs, options.num_segments, axis=0)
    per_segment = np.stack([s.sum(0) / (len(s) * interval_time) for s in segments])
    standard_error = per_segment.std(axis=0, ddof=1) / np.sqrt(options.num_segments)
    half = n_obs // 2
    first = logs[:half].sum(0) / (half * interval_time)
    second = logs[half:].sum(0) / ((n_obs - half) * interval_time)
    log_condition = float(np.max(logs[:, 0] - logs[:, -1])) if k > 1 else 0.0
    if log_condition > math.log(1e8):
        warnings.warn(
            f"QR interval too long: R_11/R_kk reached e^{log_condition:.1f} > 1e8; "
            f"lower qr_every below ln(1e8)/(lambda_1 - lambda_k)",
            RuntimeWarning,
            stacklevel=3,
        )
    status: Status = (
        "converged" if np.max(standard_error) <= options.tolerance else "max_steps_reached"
    )
    return LyapunovResult(
        exponents=exponents,
        standard_error=standard_error,
        split_half_difference=second - first,
        running=running,
        running_times=times,
        max_log_condition=log_condition,
        final_state=final_state,
        status=status,
    )


def max_lyapunov(
    model: AbstractContinuousModel | AbstractDiscreteModel,
    state0: State,
    *,
    key: Key,
    options: LyapunovOptions = LyapunovOptions(),
    args: PyTree = None,
    throw: bool = False,
) -> LyapunovResult:
    """Largest exponent alone: one tangent vector (the k = 1 spectrum)."""
    from dataclasses import replace

    return lyapunov_spectrum(
        model,
        state0,
        key=key,
        options=replace(options, num_exponents=1),
        args=args,
        throw=throw,
    )


@eqx.filter_jit
def _two_trajectory(model, state0, offset, args, dt, solver, n_burn, steps_per_renorm, n_renorm):
    step, _ = step_map(model, dt=dt, solver=solver, args=args)
    step_dt = 1.0 if isinstance(model, AbstractDiscreteModel) else dt
    separation = jnp.linalg.norm(offset)

    def advance(carry, _):
        t, x, y = carry
        return (t + step_dt, step(t, x), step(t, y)), None

    t, x = _burn_in(step, state0, n_burn, step_dt)

    def renormalise(carry, _):
        carry, _ = jax.lax.scan(advance, carry, None, length=steps_per_renorm)
        t, x, y = carry
        distance = jnp.linalg.norm(y - x)
        y = x + (y - x) * (separation / distance)
        return (t, x, y), jnp.log(distance / separation)

    _, logs = jax.lax.scan(renormalise, (t, x, x + offset), None, length=n_renorm)
    return logs


def max_lyapunov_two_trajectory(
    model: AbstractContinuousModel | AbstractDiscreteModel,
    state0: State,
    *,
    key: Key,
    options: LyapunovOptions = LyapunovOptions(),
    separation: float = 1e-8,
    args: PyTree = None,
) -> float:
    """Largest exponent from two nearby trajectories, renormalised to ``separation``.

    An estimate independent of the tangent map (no derivative is taken).
    """
    dim = _check_model(model)
    discrete = isinstance(model, AbstractDiscreteModel)
    dt = 1.0 if discrete else options.dt
    direction = jr.normal(key, (dim,), dtype=jnp.asarray(state0).dtype)
    offset = separation * direction / jnp.linalg.norm(direction)
    n_renorm = max(1, round(options.t_obs / (dt * options.qr_every)))
    logs = _two_trajectory(
        model,
        jnp.asarray(state0),
        offset,
        args,
        dt,
        options.solver,
        round(options.t_burn / dt),
        options.qr_every,
        n_renorm,
    )
    return float(np.sum(np.asarray(logs)) / (n_renorm * options.qr_every * dt))


class KaplanYorke(NamedTuple):
    """Kaplan-Yorke dimension; ``status`` is ``"ok"`` or ``"spectrum_too_short"``."""

    dimension: float
    status: Literal["ok", "spectrum_too_short"]


def kaplan_yorke_dimension(exponents, *, full_spectrum: bool = True) -> KaplanYorke:
    r"""$D_{KY} = j + \sum_{i \le j} \lambda_i / |\lambda_{j+1}|$.

    $j$ is the largest index whose cumulative sum is $\ge 0$. With a partial (top-k)
    spectrum the value is defined only if the cumulative sum turns negative within k;
    otherwise the status is ``"spectrum_too_short"`` and the dimension NaN.

    References: Kaplan & Yorke, Lecture Notes in Math. 730, 204 (1979).
    """
    lam = np.sort(np.asarray(exponents, dtype=np.float64))[::-1]
    cumulative = np.cumsum(lam)
    if cumulative[0] < 0:
        return KaplanYorke(0.0, "ok")
    nonnegative = np.nonzero(cumulative >= 0)[0]
    j = int(nonnegative[-1]) + 1  # number of exponents in the non-negative partial sum
    if j == len(lam):
        if full_spectrum:
            return KaplanYorke(float(len(lam)), "ok")
        return KaplanYorke(float("nan"), "spectrum_too_short")
    return KaplanYorke(float(j + cumulative[j - 1] / abs(lam[j])), "ok")


def entropy_rate(exponents) -> float:
    r"""Kolmogorov-Sinai entropy rate by Pesin's identity, $h_{KS} = \sum_{\lambda_i>0}\lambda_i$.

    Valid for partial spectra as long as they include every positive exponent.
    """
    lam = np.asarray(exponents, dtype=np.float64)
    return float(lam[lam > 0].sum())
