r"""Controlled variants of any ODE system, the training examples of Kim et al. (2020), and
the driving input at RK4 stage accuracy.

A *controlled system* is a flow $\dot z = f_c(z)$ with an observation $x = g_c(z)$, both
depending on a control $c \in \mathbb{R}^K$:

* :class:`Translated`: $f_c = f$, $g_c(z) = z + D c$ (translation along the columns of D);
* :class:`Transformed`: $f_c = f$, $g_c(z) = (I + \sum_k c_k T_k)\, z$;
* :class:`ParameterShifted`: $f_c = f(\,\cdot\,; p_0 + \Delta P^\top c)$, $g_c(z) = z$.

Each is an ordinary rnnlab model whose ``args`` is the control, so that at a fixed $c$ it
can be simulated, and its Lyapunov spectrum or fixed points computed, like any other.
:class:`~rnnlab.models.DrivenReservoir` integrates one jointly with a reservoir.

References: J. Z. Kim, Z. Lu, E. Nozari, G. J. Pappas, D. S. Bassett, arXiv:2005.01186.
"""

import abc
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._errors import InvalidInputError
from .._types import State
from ..models._base import AbstractContinuousModel
from ..models._simulate import SimulationOptions, Trajectory, simulate
from ._ode import ODESystem


def _finite_array(name: str, value, shape: tuple[int, ...] | None = None) -> Array:
    array = jnp.asarray(value)
    if not jnp.issubdtype(array.dtype, jnp.floating):
        array = array.astype(jnp.result_type(float))
    if shape is not None and array.shape != shape:
        raise InvalidInputError(f"{name} has shape {array.shape}; expected {shape}")
    if not bool(jnp.all(jnp.isfinite(array))):
        raise InvalidInputError(f"{name} has a non-finite entry; give finite numbers")
    return array


def _check_control(control, size: int) -> None:
    """Trace-time shape check of a control value (finite values are checked by callers)."""
    shape = jnp.shape(control)
    if shape != (size,):
        raise InvalidInputError(
            f"control has shape {shape}; this system takes {size} control value(s), e.g. "
            f"jnp.zeros({size})"
        )


class AbstractControlledSystem(AbstractContinuousModel):
    """A flow $f_c$ and an observation $g_c$ that depend on a control $c$ (``args``).

    Subclasses define ``base`` (the uncontrolled model), :meth:`vector_field`,
    :meth:`observe` and :attr:`control_size`.
    """

    base: eqx.AbstractVar[AbstractContinuousModel]

    @property
    @abc.abstractmethod
    def control_size(self) -> int:
        """Number of control inputs K."""

    @abc.abstractmethod
    def observe(self, state: State, control: Array) -> Array:
        """The observed signal $x = g_c(z)$ that drives a reservoir."""

    @property
    def state_size(self) -> int:
        return self.base.state_size

    @property
    def output_size(self) -> int:
        return self.base.state_size

    def observe_trajectory(
        self, states: Float[Array, "time dim"], control: ArrayLike
    ) -> Float[Array, "time dim"]:
        """:meth:`observe` applied to every row of ``states`` at a constant control."""
        control = jnp.asarray(control, dtype=states.dtype)
        return jax.vmap(lambda z: self.observe(z, control))(states)


class Translated(AbstractControlledSystem):
    r"""$\dot z = f(z)$, $x = z + D c$: translation along the K columns of ``directions``.

    Example (the paper's Fig. 2, shift along $x_1$):
        >>> system = Translated(Lorenz(), jnp.array([1.0, 0.0, 0.0]))
    """

    base: AbstractContinuousModel
    directions: Float[Array, "dim control"]

    def __init__(self, base: AbstractContinuousModel, directions: ArrayLike):
        dim = base.state_size
        directions = jnp.asarray(directions)
        if directions.ndim == 1:
            directions = directions[:, None]
        if directions.ndim != 2 or directions.shape[0] != dim:
            raise InvalidInputError(
                f"directions has shape {directions.shape}; expected ({dim},) for one control "
                f"or ({dim}, control) for several"
            )
        self.base = base
        self.directions = _finite_array("directions", directions)

    @property
    def control_size(self) -> int:
        return self.directions.shape[1]

    def vector_field(self, t, state, args):
        return self.base.vector_field(t, state, None)

    def observe(self, state, control):
        _check_control(control, self.control_size)
        return state + self.directions @ control


class Transformed(AbstractControlledSystem):
    r"""$\dot z = f(z)$, $x = (I + \sum_k c_k T_k)\,z$ with $T_k$ = ``generators[k]``.

    Example (the paper's scaling of $x_1$ by $1 - 0.012c$):
        >>> system = Transformed(Lorenz(), jnp.diag(jnp.array([-0.012, 0.0, 0.0])))
    """

    base: AbstractContinuousModel
    generators: Float[Array, "control dim dim"]

    def __init__(self, base: AbstractContinuousModel, generators: ArrayLike):
        dim = base.state_size
        generators = jnp.asarray(generators)
        if generators.ndim == 2:
            generators = generators[None]
        if generators.ndim != 3:
            raise InvalidInputError(
                f"generators has shape {generators.shape}; expected ({dim}, {dim}) or "
                f"(control, {dim}, {dim})"
            )
        self.base = base
        self.generators = _finite_array("generators", generators, (generators.shape[0], dim, dim))

    @property
    def control_size(self) -> int:
        return self.generators.shape[0]

    def matrix(self, control: Array) -> Array:
        """$I + \\sum_k c_k T_k$."""
        _check_control(control, self.control_size)
        eye = jnp.eye(self.state_size, dtype=self.generators.dtype)
        return eye + jnp.tensordot(control, self.generators, axes=1)

    def vector_field(self, t, state, args):
        return self.base.vector_field(t, state, None)

    def observe(self, state, control):
        return self.matrix(control) @ state


class ParameterShifted(AbstractControlledSystem):
    r"""$\dot z = f(z;\ p_0 + \Delta^\top c)$, $x = z$.

    ``parameters`` names fields of ``base`` (e.g. ``("rho",)`` for :class:`Lorenz`);
    ``shifts`` (K, P) gives $\Delta$: control k moves parameter j by ``shifts[k, j]``.

    Example (the paper's Hopf experiment, $\rho = 23 + c$):
        >>> system = ParameterShifted(Lorenz(rho=23.0), ("rho",), [[1.0]])
    """

    base: AbstractContinuousModel
    parameters: tuple[str, ...] = eqx.field(static=True)
    shifts: Float[Array, "control parameters"]

    def __init__(
        self, base: AbstractContinuousModel, parameters: tuple[str, ...], shifts: ArrayLike
    ):
        parameters = tuple(parameters)
        for name in parameters:
            if not hasattr(base, name) or name.startswith("_"):
                raise InvalidInputError(
                    f"{type(base).__name__} has no parameter {name!r}; name one of its fields"
                )
        shifts = jnp.asarray(shifts)
        if shifts.ndim == 1:
            shifts = shifts[None]
        if shifts.ndim != 2 or shifts.shape[1] != len(parameters):
            raise InvalidInputError(
                f"shifts has shape {shifts.shape}; expected (control, {len(parameters)}): one "
                f"row per control, one column per parameter in {parameters}"
            )
        self.base = base
        self.parameters = parameters
        self.shifts = _finite_array("shifts", shifts)

    @property
    def control_size(self) -> int:
        return self.shifts.shape[0]

    def at(self, control: ArrayLike) -> AbstractContinuousModel:
        """The base model with its parameters moved to $p_0 + \\Delta^\\top c$."""
        _check_control(control, self.control_size)
        delta = jnp.asarray(control) @ self.shifts
        values = [getattr(self.base, name) + delta[j] for j, name in enumerate(self.parameters)]
        return eqx.tree_at(
            lambda m: [getattr(m, name) for name in self.parameters], self.base, values
        )

    def vector_field(self, t, state, args):
        return self.at(args).vector_field(t, state, None)

    def observe(self, state, control):
        return state


def controlled_trajectory(
    system: AbstractControlledSystem,
    state0: State,
    control: ArrayLike,
    ts,
    *,
    options: SimulationOptions | None = None,
) -> Trajectory:
    """The observed signal $x(t) = g_c(z(t))$ at a constant control, saved at ``ts``.

    ``options=None`` uses :data:`rnnlab.systems.GROUND_TRUTH` (Dopri8, tolerances 1e-10).
    """
    from ._ode import GROUND_TRUTH

    control = _finite_array("control", control, (system.control_size,))
    state0 = _finite_array("state0", state0, (system.state_size,))
    trajectory = simulate(
        system, state0, ts, args=control, options=GROUND_TRUTH if options is None else options
    )
    observed = system.observe_trajectory(trajectory.states, control)
    return Trajectory(trajectory.ts, observed, trajectory.finite)


# --------------------------------------------------------------------------------------
# Training examples


class Examples(NamedTuple):
    """Training examples: example i starts the system at ``initial_states[i]`` and holds
    the control at ``controls[i]`` (constant within an example)."""

    initial_states: Float[Array, "examples dim"]
    controls: Float[Array, "examples control"]

    @property
    def num_examples(self) -> int:
        return self.controls.shape[0]


def make_examples(
    system: AbstractControlledSystem, initial_states: ArrayLike, controls: ArrayLike
) -> Examples:
    """Validated :class:`Examples`.

    ``initial_states`` is one state (dim,), used for every example (the paper: one
    trajectory, each example a transformed copy), or one per example (examples, dim).
    ``controls`` is (examples,) for one control or (examples, K).
    """
    controls = jnp.asarray(controls)
    if controls.ndim == 1 and system.control_size == 1:
        controls = controls[:, None]
    if controls.ndim != 2 or controls.shape[1] != system.control_size:
        raise InvalidInputError(
            f"control grid has shape {controls.shape}; expected (examples, "
            f"{system.control_size}) for a system with {system.control_size} control(s)"
        )
    controls = _finite_array("controls", controls)
    states = jnp.asarray(initial_states)
    if states.ndim == 1:
        states = jnp.broadcast_to(states, (controls.shape[0], states.shape[0]))
    states = _finite_array("initial_states", states, (controls.shape[0], system.state_size))
    return Examples(states, controls)


def lorenz_outer_fixed_point(sigma: float, rho: float, beta: float, sign: float) -> np.ndarray:
    r"""$C_\pm = (\pm\sqrt{\beta(\rho-1)}, \pm\sqrt{\beta(\rho-1)}, \rho - 1)$."""
    del sigma
    a = np.sqrt(beta * (rho - 1.0))
    return np.array([sign * a, sign * a, rho - 1.0])


def lorenz_hopf_examples(
    system: ParameterShifted,
    *,
    offsets: tuple[float, ...] = (4.0, 2.8),
    direction: tuple[float, float, float] = (0.6, 1.1, 0.0),
    controls: tuple[float, ...] = (0.0, 1.0),
) -> Examples:
    r"""The pre-bifurcation examples of the paper's Hopf experiment (spec §3.3).

    Block order $C_+$ at each control, then $C_-$ at each control; example at control
    $c$ starts at $C_\pm(\rho_0 + c) \pm s\,v$ with $s$ from ``offsets`` and $v$ =
    ``direction``. With ``ParameterShifted(Lorenz(rho=23.0), ("rho",), [[1.0]])`` these are
    transients decaying onto the stable points at $\rho = 23, 24$.
    """
    if len(offsets) != len(controls):
        raise InvalidInputError(
            f"offsets {offsets} and controls {controls} must have the same length"
        )
    states, values = [], []
    for sign in (1.0, -1.0):
        for offset, c in zip(offsets, controls, strict=True):
            moved = system.at(jnp.array([c]))
            point = lorenz_outer_fixed_point(
                float(moved.sigma), float(moved.rho), float(moved.beta), sign
            )
            states.append(point + sign * offset * np.asarray(direction))
            values.append([c])
    return make_examples(system, np.array(states), np.array(values))


# --------------------------------------------------------------------------------------
# The authors' RK4 stage feed (an independent reference for the joint integration)


def rk4_input_stages(
    system: AbstractControlledSystem,
    state0: State,
    control: ArrayLike,
    *,
    dt: float,
    num_steps: int,
) -> tuple[Float[Array, "steps 4 dim"], Float[Array, " dim"]]:
    r"""The four RK4 stage arguments of the driving signal at every step, as the authors
    store them: $(z_n,\ z_n + \tfrac{\Delta t}{2}k_1,\ z_n + \tfrac{\Delta t}{2}k_2,\
    z_n + \Delta t\,k_3)$ mapped through $g_c$, at a constant control.

    Returns ``(stages, final_state)``; stage i of a reservoir step uses ``stages[:, i]``.
    Integrating the reservoir jointly with the system
    (:class:`~rnnlab.models.DrivenReservoir`, classic RK4) gives the same states; this
    function is the reference that shows it.
    """
    control = _finite_array("control", control, (system.control_size,))

    def f(z):
        return system.vector_field(0.0, z, control)

    def step(z, _):
        k1 = f(z)
        z2 = z + 0.5 * dt * k1
        k2 = f(z2)
        z3 = z + 0.5 * dt * k2
        k3 = f(z3)
        z4 = z + dt * k3
        k4 = f(z4)
        stages = jnp.stack([system.observe(s, control) for s in (z, z2, z3, z4)])
        return z + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4), stages

    final, stages = jax.lax.scan(step, jnp.asarray(state0), None, length=num_steps)
    return stages, final


# --------------------------------------------------------------------------------------
# Optional adapter to the dysts package


def _import_dysts():
    try:
        import dysts.flows as flows
    except ImportError:
        raise InvalidInputError(
            "the dysts adapter needs the optional package dysts; install it with "
            "`pip install dysts` (rnnlab itself does not need it)"
        ) from None
    return flows


def dysts_metadata(name: str) -> dict:
    """Metadata of the dysts flow ``name`` (``dt``, ``period``, ``parameters``, ...).

    dysts's values are estimates: compute Lyapunov exponents and diameters yourself.
    """
    flows = _import_dysts()
    if not hasattr(flows, name):
        raise InvalidInputError(f"dysts has no flow named {name!r}; e.g. 'Lorenz', 'Rossler'")
    flow = getattr(flows, name)()
    return dict(getattr(flow, "_load_data", lambda: {})() or {})


def dysts_system(name: str) -> ODESystem:
    """The dysts flow ``name`` as an :class:`ODESystem`.

    The right-hand side is evaluated in NumPy through :func:`jax.pure_callback`: slow, and
    not differentiable (no Jacobians or Lyapunov exponents through it). Prefer writing the
    vector field in JAX for heavy use; use this to select and screen systems.
    """
    flows = _import_dysts()
    if not hasattr(flows, name):
        raise InvalidInputError(f"dysts has no flow named {name!r}; e.g. 'Lorenz', 'Rossler'")
    flow = getattr(flows, name)()
    dimension = int(np.asarray(flow.ic).shape[-1])

    def rhs(t, x, args):
        def host(x, t):
            return np.asarray(flow.rhs(np.asarray(x), float(t)), dtype=np.asarray(x).dtype)

        shape = jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x))
        return jax.pure_callback(host, shape, x, jnp.asarray(t))

    return ODESystem(rhs, dimension=dimension)
