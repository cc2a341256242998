r"""The controlled continuous-time reservoir of Kim, Lu, Nozari, Pappas & Bassett (2020).

Three models share one set of weights:

* :class:`ControlledReservoir`, driven by an input $x(t)$ and a control $c(t)$;
* :class:`ClosedLoopReservoir`, the same network with a fitted readout $W$ fed back, so
  that $c(t)$ is its only input;
* :class:`DrivenReservoir`, the reservoir and the system that produces its input
  integrated as one joint ODE, so that every Runge-Kutta stage of the reservoir sees the
  input at that stage (what the authors do by storing the RK4 stage values of the input).

All three are :class:`~rnnlab.models.AbstractContinuousModel`, so Jacobians, fixed points
and Lyapunov spectra apply to them unchanged. Initialisers are pure functions
``(key, shape, dtype) -> Array``; the eigenvalue scaling is a separate function.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._errors import InvalidInputError
from .._types import Key, State
from ._base import AbstractContinuousModel

# --------------------------------------------------------------------------------------
# Initialisers and scalings


def uniform_symmetric(key: Key, shape: tuple[int, ...], dtype=jnp.float64) -> Array:
    """Entries i.i.d. uniform on $[-1, 1]$ (scale them with a separate multiplication)."""
    return jr.uniform(key, shape, dtype, minval=-1.0, maxval=1.0)


def sparse_uniform(
    key: Key, shape: tuple[int, int], dtype=jnp.float64, *, density: float = 0.1
) -> Array:
    """Entries uniform on $[-1, 1]$ with probability ``density``, else exactly 0.

    As the authors' ``sprand``-style recurrent matrix: every entry is kept independently.
    """
    if not 0 < density <= 1:
        raise InvalidInputError(f"density={density!r} must be in (0, 1]; the paper uses 0.1")
    value_key, mask_key = jr.split(key)
    mask = jr.bernoulli(mask_key, density, shape)
    return jnp.where(mask, uniform_symmetric(value_key, shape, dtype), jnp.zeros((), dtype))


def saturated_rest_state(
    key: Key,
    shape: tuple[int],
    dtype=jnp.float64,
    *,
    magnitude: tuple[float, float] = (0.8, 1.0),
) -> Array:
    r"""Rest state $r^*$: $|r^*_i| \sim U[\mathrm{low}, \mathrm{high})$, random sign.

    The range is half-open, so ``high = 1`` (the paper's value) keeps $|r^*_i| < 1$ and the
    bias $\operatorname{atanh}(r^*)$ finite.
    """
    low, high = magnitude
    if not 0 <= low <= high <= 1:
        raise InvalidInputError(
            f"rest magnitude {magnitude!r} must satisfy 0 <= low <= high <= 1; e.g. (0.8, 1.0)"
        )
    size_key, sign_key = jr.split(key)
    size = jr.uniform(size_key, shape, dtype, minval=low, maxval=high)
    sign = jnp.where(jr.bernoulli(sign_key, 0.5, shape), 1.0, -1.0).astype(dtype)
    return sign * size


def max_real_eigenvalue(weights: ArrayLike) -> float:
    """Largest real part over the eigenvalues of a square matrix (computed in NumPy)."""
    return float(np.max(np.linalg.eigvals(np.asarray(weights, dtype=np.float64)).real))


def scale_to_max_real_eigenvalue(weights: Array, target: float) -> Array:
    r"""Rescale ``weights`` so that $\max_i \mathrm{Re}\,\lambda_i = $ ``target``.

    This is the paper's normalisation (0.95), not the spectral radius, which is at least
    as large. Raises :class:`~rnnlab.InvalidInputError` if the largest real part is not
    positive (a positive scale cannot then reach a positive target).
    """
    current = max_real_eigenvalue(weights)
    if not current > 0:
        raise InvalidInputError(
            f"the largest real eigenvalue of the matrix is {current:.3g} <= 0, so it cannot be "
            f"scaled to {target}; draw a denser matrix (raise connectivity)"
        )
    return weights * (target / current)


def rest_bias(
    recurrent_weights: Array,
    input_weights: Array,
    control_weights: Array,
    rest_state: Array,
    rest_input: Array,
    rest_control: Array,
) -> Array:
    r"""The bias that makes $r^*$ a fixed point at $(x^*, c^*)$:
    $d = \operatorname{atanh}(r^*) - A r^* - B x^* - C c^*$."""
    return (
        jnp.arctanh(rest_state)
        - recurrent_weights @ rest_state
        - input_weights @ rest_input
        - control_weights @ rest_control
    )


@dataclass(frozen=True)
class ReservoirInit:
    """How :meth:`ControlledReservoir.random` draws its weights (the paper's defaults).

    ``connectivity``: density of $A$; ``max_real_eigenvalue``: target of the largest real
    part of eig($A$); ``input_scaling`` $\\sigma_B$ and ``control_scaling`` $\\sigma_C$:
    half-widths of the uniform entries of $B$ and $C$; ``rest_magnitude``: range of
    $|r^*_i|$.
    """

    connectivity: float = 0.1
    max_real_eigenvalue: float = 0.95
    input_scaling: float = 0.008
    control_scaling: float = 0.004
    rest_magnitude: tuple[float, float] = (0.8, 1.0)

    def __post_init__(self):
        if not 0 < self.connectivity <= 1:
            raise InvalidInputError(
                f"connectivity={self.connectivity!r} must be in (0, 1]; the paper uses 0.1"
            )
        for name in ("input_scaling", "control_scaling"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise InvalidInputError(f"{name}={value!r} must be finite and >= 0")
        if not np.isfinite(self.max_real_eigenvalue):
            raise InvalidInputError(
                f"max_real_eigenvalue={self.max_real_eigenvalue!r} must be finite; e.g. 0.95"
            )
        low, high = self.rest_magnitude
        if not 0 <= low <= high <= 1:
            raise InvalidInputError(
                f"rest_magnitude={self.rest_magnitude!r} must satisfy 0 <= low <= high <= 1 "
                "(drawn half-open, so |r*| < 1); the paper uses (0.8, 1.0)"
            )


# --------------------------------------------------------------------------------------
# Inputs and control schedules


def _evaluate(value, t) -> Array:
    """A time-dependent input given as a constant array or a callable ``t -> array``."""
    return value(t) if callable(value) else jnp.asarray(value)


class ReservoirInputs(NamedTuple):
    """``args`` of :meth:`ControlledReservoir.vector_field`: input $x$ and control $c$,
    each an array (constant) or a callable ``t -> array``."""

    input: Array | Callable[[Array], Array]
    control: Array | Callable[[Array], Array]


class PiecewiseLinear(eqx.Module):
    """A control $c(t)$ linear between knots ``(times[i], values[i])``, constant outside.

    Fed at the RK4 stages this gives the authors' ramp feed
    $(c_n, c_n + \\Delta c/2, c_n + \\Delta c/2, c_n + \\Delta c)$.
    """

    times: Float[Array, " knots"]
    values: Float[Array, "knots control"]

    def __check_init__(self):
        times, values = np.asarray(self.times), np.asarray(self.values)
        if times.ndim != 1 or values.ndim != 2 or values.shape[0] != times.shape[0]:
            raise InvalidInputError(
                f"times {times.shape} and values {values.shape} must be (knots,) and "
                "(knots, control_size)"
            )
        if not (np.all(np.isfinite(times)) and np.all(np.isfinite(values))):
            raise InvalidInputError("control schedule has a non-finite time or value")
        if np.any(np.diff(times) < 0):
            raise InvalidInputError("control schedule times must be non-decreasing")

    def __call__(self, t) -> Array:
        return jnp.stack(
            [jnp.interp(t, self.times, self.values[:, k]) for k in range(self.values.shape[1])]
        )

    @property
    def duration(self) -> float:
        return float(self.times[-1] - self.times[0])


def ramp_schedule(
    start: ArrayLike, segments: list[tuple[ArrayLike, float]], *, t0: float = 0.0
) -> PiecewiseLinear:
    """Schedule from ``start``: each segment ``(target, duration)`` ramps linearly to
    ``target`` over ``duration`` (a hold repeats the previous target).

    Example:
        >>> schedule = ramp_schedule(0.0, [(-40.0, 40.0), (-40.0, 80.0)])  # ramp, hold
    """
    current = np.atleast_1d(np.asarray(start, dtype=np.float64))
    times, values = [float(t0)], [current]
    for target, duration in segments:
        target = np.atleast_1d(np.asarray(target, dtype=np.float64))
        if target.shape != current.shape:
            raise InvalidInputError(
                f"schedule target {target.tolist()} has shape {target.shape}; expected "
                f"{current.shape} like the start value"
            )
        if not (np.isfinite(duration) and duration > 0):
            raise InvalidInputError(f"segment duration {duration!r} must be finite and > 0")
        times.append(times[-1] + float(duration))
        values.append(target)
    return PiecewiseLinear(jnp.asarray(times), jnp.asarray(np.stack(values)))


# --------------------------------------------------------------------------------------
# Models


def _as_matrix(name: str, value, rows: int | None, cols: int | None) -> Array:
    array = jnp.asarray(value)
    if array.ndim != 2 or (rows is not None and array.shape[0] != rows):
        raise InvalidInputError(
            f"{name} has shape {array.shape}; expected ({rows}, {cols if cols else 'k'})"
        )
    if cols is not None and array.shape[1] != cols:
        raise InvalidInputError(f"{name} has shape {array.shape}; expected ({rows}, {cols})")
    if not bool(jnp.all(jnp.isfinite(array))):
        raise InvalidInputError(f"{name} has a non-finite entry; check how it was built")
    return array


class ControlledReservoir(AbstractContinuousModel):
    r"""Continuous-time tanh reservoir with an input and a control

    $$\frac{1}{\gamma}\dot r = -r + \tanh(A r + B x(t) + C c(t) + d),\qquad
    d = \operatorname{atanh}(r^*) - A r^* - B x^* - C c^*,$$

    so that $r^*$ is a fixed point at input $x^*$ and control $c^*$ (both zero by default).

    Symbols and fields: $A$ = ``recurrent_weights`` (N x N), $B$ = ``input_weights``
    (N x M), $C$ = ``control_weights`` (N x K), $d$ = ``bias`` (N,, computed, never
    sampled), $r^*$ = ``rest_state`` (N,), $x^*$ = ``rest_input`` (M,),
    $c^*$ = ``rest_control`` (K,), $\gamma$ = ``rate``.

    :meth:`random` draws the authors' construction: $A$ 10 % dense with entries
    $U[-1, 1]$, scaled so that the largest *real part* of its eigenvalues is 0.95; $B$,
    $C$ uniform on $[-\sigma_B, \sigma_B]$, $[-\sigma_C, \sigma_C]$; $|r^*_i| \sim
    U[0.8, 1)$ with random signs (saturated units).

    ``args`` of :meth:`vector_field` is a :class:`ReservoirInputs` (input, control), each
    an array or a callable of time. :meth:`close_loop` feeds a readout back.

    Example:
        >>> net = ControlledReservoir.random(key=jr.key(0), hidden_size=450)
        >>> f = net.vector_field(0.0, net.rest_state, ReservoirInputs(jnp.zeros(3), jnp.zeros(1)))
        >>> float(jnp.abs(f).max())  # r* is a fixed point at zero input: ~1e-13

    References: J. Z. Kim, Z. Lu, E. Nozari, G. J. Pappas, D. S. Bassett, "Teaching
    recurrent neural networks to modify chaotic memories by example", arXiv:2005.01186;
    Nat. Mach. Intell. 3, 316 (2021), DOI 10.1038/s42256-021-00321-2.
    Differences: none in the equations; the draws are ours (JAX keys), not the authors'.
    """

    recurrent_weights: Float[Array, "hidden hidden"]
    input_weights: Float[Array, "hidden input"]
    control_weights: Float[Array, "hidden control"]
    rest_state: Float[Array, " hidden"]
    rest_input: Float[Array, " input"]
    rest_control: Float[Array, " control"]
    bias: Float[Array, " hidden"]
    rate: float = eqx.field(static=True)

    def __init__(
        self,
        recurrent_weights: ArrayLike,
        input_weights: ArrayLike,
        control_weights: ArrayLike,
        rest_state: ArrayLike,
        *,
        rate: float = 100.0,
        rest_input: ArrayLike | None = None,
        rest_control: ArrayLike | None = None,
    ):
        a = _as_matrix("recurrent_weights", recurrent_weights, None, None)
        n = a.shape[0]
        if a.shape != (n, n):
            raise InvalidInputError(f"recurrent_weights has shape {a.shape}; must be square")
        b = _as_matrix("input_weights", input_weights, n, None)
        c = _as_matrix("control_weights", control_weights, n, None)
        r_star = jnp.asarray(rest_state)
        if r_star.shape != (n,):
            raise InvalidInputError(f"rest_state has shape {r_star.shape}; expected ({n},)")
        if not bool(jnp.all(jnp.abs(r_star) < 1)):
            raise InvalidInputError(
                "rest_state must lie strictly inside (-1, 1) (the bias is atanh(r*)); "
                f"max |r*| = {float(jnp.abs(r_star).max())!r}"
            )
        if not (np.isfinite(rate) and rate > 0):
            raise InvalidInputError(f"rate={rate!r} must be finite and > 0; the paper uses 100")
        x_star = jnp.zeros(b.shape[1], a.dtype) if rest_input is None else jnp.asarray(rest_input)
        c_star = (
            jnp.zeros(c.shape[1], a.dtype) if rest_control is None else jnp.asarray(rest_control)
        )
        if x_star.shape != (b.shape[1],) or c_star.shape != (c.shape[1],):
            raise InvalidInputError(
                f"rest_input {x_star.shape} / rest_control {c_star.shape} must have shapes "
                f"({b.shape[1]},) / ({c.shape[1]},)"
            )
        self.recurrent_weights = a
        self.input_weights = b
        self.control_weights = c
        self.rest_state = r_star
        self.rest_input = x_star
        self.rest_control = c_star
        self.bias = rest_bias(a, b, c, r_star, x_star, c_star)
        self.rate = float(rate)

    @classmethod
    def random(
        cls,
        *,
        key: Key,
        hidden_size: int = 450,
        input_size: int = 3,
        control_size: int = 1,
        rate: float = 100.0,
        init: ReservoirInit = ReservoirInit(),
        dtype=jnp.float64,
    ) -> "ControlledReservoir":
        """Draw the authors' construction (see the class docstring and :class:`ReservoirInit`)."""
        for name, value in (
            ("hidden_size", hidden_size),
            ("input_size", input_size),
            ("control_size", control_size),
        ):
            if not isinstance(value, int | np.integer) or value <= 0:
                raise InvalidInputError(
                    f"{name}={value!r} must be a positive integer (paper: 450, 3, 1)"
                )
        recurrent_key, input_key, control_key, rest_key = jr.split(key, 4)
        recurrent = scale_to_max_real_eigenvalue(
            sparse_uniform(
                recurrent_key, (hidden_size, hidden_size), dtype, density=init.connectivity
            ),
            init.max_real_eigenvalue,
        )
        return cls(
            recurrent,
            init.input_scaling * uniform_symmetric(input_key, (hidden_size, input_size), dtype),
            init.control_scaling
            * uniform_symmetric(control_key, (hidden_size, control_size), dtype),
            saturated_rest_state(rest_key, (hidden_size,), dtype, magnitude=init.rest_magnitude),
            rate=rate,
        )

    @property
    def state_size(self) -> int:
        return self.recurrent_weights.shape[0]

    @property
    def input_size(self) -> int:
        return self.input_weights.shape[1]

    @property
    def control_size(self) -> int:
        return self.control_weights.shape[1]

    def drive(self, state: State, inputs: Array, control: Array) -> State:
        """$\\gamma(-r + \\tanh(A r + B x + C c + d))$ at one input and control value."""
        pre = (
            self.recurrent_weights @ state
            + self.input_weights @ inputs
            + self.control_weights @ control
            + self.bias
        )
        return self.rate * (jnp.tanh(pre) - state)

    def vector_field(self, t, state: State, args: ReservoirInputs) -> State:
        if args is None:
            return self.drive(state, self.rest_input, self.rest_control)
        return self.drive(state, _evaluate(args.input, t), _evaluate(args.control, t))

    def close_loop(self, readout_weights: ArrayLike) -> "ClosedLoopReservoir":
        """The network with $x = W r$ fed back: see :class:`ClosedLoopReservoir`."""
        return ClosedLoopReservoir(self, readout_weights)


class ClosedLoopReservoir(AbstractContinuousModel):
    r"""A :class:`ControlledReservoir` whose input is its own readout $\hat x = W r$:

    $$\frac{1}{\gamma}\dot r = -r + \tanh\big((A + B W) r + C c(t) + d\big),
    \qquad \hat x(t) = W r(t).$$

    Fields: ``reservoir`` (the open-loop network), $W$ = ``readout_weights`` (M x N),
    $A + BW$ = ``feedback_weights`` (computed once). ``args`` of :meth:`vector_field` is
    the control: ``None`` (the rest control $c^*$), an array (K,) or a callable of time
    such as :class:`PiecewiseLinear`. It is an ordinary model, so fixed points, Jacobians
    and Lyapunov spectra of the closed loop take it unchanged.

    Example:
        >>> loop = net.close_loop(readout)  # readout (3, 450) from rnnlab.learning
        >>> loop.vector_field(0.0, r, jnp.array([2.0]))

    References: arXiv:2005.01186 (Kim et al. 2020), equation of the closed-loop network.
    """

    reservoir: ControlledReservoir
    readout_weights: Float[Array, "input hidden"]
    feedback_weights: Float[Array, "hidden hidden"]

    def __init__(self, reservoir: ControlledReservoir, readout_weights: ArrayLike):
        w = _as_matrix(
            "readout_weights", readout_weights, reservoir.input_size, reservoir.state_size
        )
        self.reservoir = reservoir
        self.readout_weights = w
        self.feedback_weights = reservoir.recurrent_weights + reservoir.input_weights @ w

    @property
    def state_size(self) -> int:
        return self.reservoir.state_size

    @property
    def control_size(self) -> int:
        return self.reservoir.control_size

    def output(self, state: Float[Array, "... hidden"]) -> Float[Array, "... input"]:
        """$\\hat x = W r$ (for one state or a (time, hidden) trajectory)."""
        return state @ self.readout_weights.T

    def vector_field(self, t, state: State, args) -> State:
        net = self.reservoir
        control = net.rest_control if args is None else _evaluate(args, t)
        pre = self.feedback_weights @ state + net.control_weights @ control + net.bias
        return net.rate * (jnp.tanh(pre) - state)


class DrivenReservoir(AbstractContinuousModel):
    r"""A reservoir and the controlled system that drives it, as one joint ODE

    $$\dot z = f_c(z),\qquad \dot r = \gamma\big(-r + \tanh(A r + B\,g_c(z) + C c + d)\big),$$

    with state ``concatenate([z, r])``. ``source`` is any controlled system with
    ``vector_field(t, z, c)``, ``observe(z, c)`` and ``state_size`` (see
    :mod:`rnnlab.systems`): $f_c$ its vector field, $g_c$ its observation (translation,
    linear map or identity). ``args`` is the control: an array (K,) or a callable of time.

    Classic RK4 on this joint system is exactly the authors' scheme of feeding the four
    RK4 stage values of the input to the four reservoir stages [arXiv:2005.01186; their
    ``ReservoirTanh`` code], with no interpolation of $x$.
    """

    reservoir: ControlledReservoir
    source: AbstractContinuousModel

    def __check_init__(self):
        for name in ("observe", "vector_field"):
            if not hasattr(self.source, name):
                raise InvalidInputError(
                    f"source {type(self.source).__name__} has no {name}(); use a controlled "
                    "system from rnnlab.systems (e.g. Translated(Lorenz(), ...))"
                )

    @property
    def state_size(self) -> int:
        return self.source.state_size + self.reservoir.state_size

    def split(self, state: Float[Array, "... dim"]) -> tuple[Array, Array]:
        """``(z, r)`` from a joint state (or a (time, dim) trajectory of them)."""
        m = self.source.state_size
        return state[..., :m], state[..., m:]

    def vector_field(self, t, state: State, args) -> State:
        z, r = self.split(state)
        control = _evaluate(args, t)
        dz = self.source.vector_field(t, z, control)
        dr = self.reservoir.drive(r, self.source.observe(z, control), control)
        return jnp.concatenate([dz, dr])


def check_step_size(rate: float, dt: float, solver: str = "rk4") -> None:
    r"""Refuse a step with $\gamma\,\Delta t$ beyond the solver's stability bound.

    The leak $-\gamma r$ alone is stable for $\gamma\Delta t < 2$ (Euler, Heun) or
    $< 2.78$ (RK4); we require half of that, so that the step also stays accurate.
    """
    bound = {"euler": 1.0, "heun": 1.0, "rk4": 1.39}.get(solver, 1.39)
    if not (np.isfinite(dt) and dt > 0):
        raise InvalidInputError(f"dt={dt!r} must be finite and > 0; the paper uses 0.001")
    if rate * dt > bound:
        raise InvalidInputError(
            f"rate*dt = {rate}*{dt} = {rate * dt:.3g} is too large for a stable {solver} step "
            f"(limit {bound}); use dt <= {bound / rate:.3g} (the paper: rate 100, dt 0.001)"
        )
