"""Time integration of any rnnlab model.

Continuous-time models go through :func:`diffrax.diffeqsolve`; discrete-time models
through :func:`jax.lax.scan`. :func:`step_map` turns either kind into a one-step map
$x_{n+1} = \\Phi(t_n, x_n)$, the object the tangent-space analyses differentiate.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._errors import DivergenceError, InvalidInputError
from .._types import State
from ._base import AbstractContinuousModel, AbstractDiscreteModel

SolverName = Literal["euler", "heun", "rk4", "tsit5", "dopri5", "dopri8"]

# Classical 4th-order Runge-Kutta (Butcher tableau); diffrax ships no solver by this name.
_RK4_TABLEAU = diffrax.ButcherTableau(
    c=np.array([0.5, 0.5, 1.0]),
    b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
    b_error=np.zeros(4),
    a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
)


class _RK4(diffrax.AbstractERK):
    """Classical RK4 as a diffrax explicit Runge-Kutta solver (order 4, no error estimate)."""

    tableau = _RK4_TABLEAU
    interpolation_cls = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

    def order(self, terms):
        return 4


_SOLVERS: dict[str, Callable[[], diffrax.AbstractSolver]] = {
    "euler": diffrax.Euler,
    "heun": diffrax.Heun,
    "rk4": _RK4,
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
}


def make_solver(name: str) -> diffrax.AbstractSolver:
    """Return the diffrax solver called ``name`` (one of ``SolverName``)."""
    if name not in _SOLVERS:
        raise InvalidInputError(f"solver={name!r} is unknown; choose one of {sorted(_SOLVERS)}")
    return _SOLVERS[name]()


@dataclass(frozen=True)
class SimulationOptions:
    """How to integrate a continuous-time model.

    ``rtol``/``atol`` set -> adaptive steps (PID controller) starting from ``dt``;
    both ``None`` -> fixed steps of ``dt``.
    """

    solver: SolverName = "tsit5"
    dt: float = 0.01
    rtol: float | None = 1e-6
    atol: float | None = 1e-8
    max_steps: int = 1_000_000

    def __post_init__(self):
        make_solver(self.solver)
        if not self.dt > 0:
            raise InvalidInputError(f"dt={self.dt!r} must be > 0")
        if (self.rtol is None) != (self.atol is None):
            raise InvalidInputError("give both rtol and atol (adaptive) or neither (fixed step)")


class Trajectory(NamedTuple):
    """States saved on a time grid; ``finite`` is False if the run diverged."""

    ts: Float[Array, " time"]
    states: Float[Array, "time dim"]
    finite: Array

    def raise_if_diverged(self, what: str = "simulation") -> "Trajectory":
        """Raise :class:`DivergenceError` if any saved state is non-finite."""
        if not bool(np.all(np.asarray(self.finite))):
            raise DivergenceError(
                f"{what} diverged (non-finite state); reduce dt or the gain, or check inputs"
            )
        return self


def simulate(
    model: AbstractContinuousModel,
    state0: State,
    ts: Float[ArrayLike, " time"],
    *,
    args: PyTree = None,
    options: SimulationOptions = SimulationOptions(),
) -> Trajectory:
    """Integrate ``model`` from ``state0`` at ``ts[0]`` and save at every ``ts``.

    jit- and vmap-compatible (vmap over ``state0`` or over models built with
    ``eqx.filter_vmap``). Divergence is reported by ``Trajectory.finite``, not raised,
    so that batched runs can be inspected.
    """
    ts = jnp.asarray(ts)
    adaptive = options.rtol is not None
    controller = (
        diffrax.PIDController(rtol=options.rtol, atol=options.atol)
        if adaptive
        else diffrax.ConstantStepSize()
    )
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(model.vector_field),
        make_solver(options.solver),
        t0=ts[0],
        t1=ts[-1],
        dt0=options.dt,
        y0=state0,
        args=args,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=controller,
        max_steps=options.max_steps,
        throw=False,
    )
    states = solution.ys
    finite = jnp.all(jnp.isfinite(states)) & (solution.result == diffrax.RESULTS.successful)
    states = jnp.where(jnp.isfinite(states), states, jnp.nan)
    return Trajectory(solution.ts, states, finite)


def iterate(
    model: AbstractDiscreteModel,
    state0: State,
    num_steps: int,
    *,
    inputs: Float[Array, "time input"] | None = None,
    key=None,
) -> Trajectory:
    """Iterate a discrete-time model ``num_steps`` times; returns states 1..num_steps."""
    import jax.random as jr

    keys = None if key is None else jr.split(key, num_steps)

    def body(state, xs):
        u, k = xs
        new = model.step(state, u, key=k)
        return new, new

    _, states = jax.lax.scan(body, state0, (inputs, keys), length=num_steps)
    ts = jnp.arange(1, num_steps + 1, dtype=states.dtype)
    return Trajectory(ts, states, jnp.all(jnp.isfinite(states)))


def _is_none(x) -> bool:
    return x is None


def step_map(
    model: AbstractContinuousModel | AbstractDiscreteModel,
    *,
    dt: float = 0.01,
    solver: SolverName = "rk4",
    args: PyTree = None,
) -> tuple[Callable[[Array, State], State], float]:
    """Return ``(step, time_per_step)`` with ``step(t, x) -> x_next``.

    For a flow this is one fixed step of ``solver`` (diffrax's own step, so the tangent
    obtained with :func:`jax.jvp` is the exact tangent of the integrator). For a map it is
    the map itself and ``time_per_step = 1``.
    """
    if isinstance(model, AbstractDiscreteModel):

        def discrete(t, state):
            return model.step(state, args, key=None)

        return discrete, 1.0
    if not isinstance(model, AbstractContinuousModel):
        raise InvalidInputError(
            f"{type(model).__name__} is not an rnnlab model; wrap a function f(t, x, args) "
            "in rnnlab.systems.ODESystem"
        )
    if not dt > 0:
        raise InvalidInputError(f"dt={dt!r} must be > 0")
    term = diffrax.ODETerm(model.vector_field)
    integrator = make_solver(solver)
    if isinstance(integrator, diffrax.AbstractRungeKutta):
        # A plain lax loop over the stages, so that forward-mode (jvp) works through it.
        integrator = eqx.tree_at(lambda s: s.scan_kind, integrator, "lax", is_leaf=_is_none)

    def continuous(t, state):
        new, *_ = integrator.step(term, t, t + dt, state, args, None, made_jump=False)
        return new

    return continuous, float(dt)
