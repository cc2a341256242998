"""Ground-truth flows and maps: any ODE vector field, Lorenz, Henon."""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, PyTree

from .._errors import InvalidInputError
from .._types import State
from ..models._base import AbstractContinuousModel, AbstractDiscreteModel
from ..models._simulate import SimulationOptions, Trajectory, simulate

#: Tolerances used for ground-truth trajectories: Dopri8 with rtol = atol = 1e-10.
GROUND_TRUTH = SimulationOptions(solver="dopri8", dt=1e-3, rtol=1e-10, atol=1e-10)


class ODESystem(AbstractContinuousModel):
    """Any vector field ``f(t, x, args)`` of a state of size ``dimension`` as a model.

    Example:
        >>> harmonic = ODESystem(lambda t, x, args: jnp.array([x[1], -x[0]]), dimension=2)
    """

    function: Callable[[Array, State, PyTree], State] = eqx.field(static=True)
    dimension: int = eqx.field(static=True)

    def __check_init__(self):
        if self.dimension <= 0:
            raise InvalidInputError(f"dimension={self.dimension} must be a positive integer")

    @property
    def state_size(self) -> int:
        return self.dimension

    def vector_field(self, t, state, args):
        return self.function(t, state, args)


class Lorenz(AbstractContinuousModel):
    r"""The Lorenz (1963) system

    $$\dot x = \sigma(y - x),\quad \dot y = x(\rho - z) - y,\quad \dot z = xy - \beta z.$$

    At $(\sigma, \rho, \beta) = (10, 28, 8/3)$ the Lyapunov spectrum is
    $(0.9056, 0, -14.5723)$, whose sum is $-(\sigma + 1 + \beta)$. Fixed points: the origin
    and $(\pm\sqrt{\beta(\rho-1)}, \pm\sqrt{\beta(\rho-1)}, \rho - 1)$; the latter lose
    stability in a subcritical Hopf bifurcation at
    $\rho_H = \sigma(\sigma + \beta + 3)/(\sigma - \beta - 1) \approx 24.74$.

    References: E. N. Lorenz, J. Atmos. Sci. 20, 130 (1963),
    DOI 10.1175/1520-0469(1963)020<0130:DNF>2.0.CO;2; spectrum from Sprott, *Chaos and
    Time-Series Analysis* (2003).
    """

    sigma: float = 10.0
    rho: float = 28.0
    beta: float = 8.0 / 3.0

    @property
    def state_size(self) -> int:
        return 3

    def vector_field(self, t, state, args):
        x, y, z = state[0], state[1], state[2]
        return jnp.stack([self.sigma * (y - x), x * (self.rho - z) - y, x * y - self.beta * z])

    def hopf_rho(self) -> float:
        """Critical $\\rho_H$ of the subcritical Hopf bifurcation of the two outer points."""
        return self.sigma * (self.sigma + self.beta + 3.0) / (self.sigma - self.beta - 1.0)


class Henon(AbstractDiscreteModel):
    r"""The Henon map $x' = 1 - a x^2 + y,\ y' = b x$.

    At $(a, b) = (1.4, 0.3)$ the exponents are $(0.419, -1.623)$ per step, summing to
    $\ln b$. References: M. Henon, Commun. Math. Phys. 50, 69 (1976).
    """

    a: float = 1.4
    b: float = 0.3

    @property
    def state_size(self) -> int:
        return 2

    def step(self, state, inputs, *, key):
        x, y = state[0], state[1]
        return jnp.stack([1.0 - self.a * x**2 + y, self.b * x])


def ground_truth(
    system: AbstractContinuousModel, state0: State, ts, *, args: PyTree = None
) -> Trajectory:
    """Integrate ``system`` accurately (:data:`GROUND_TRUTH`: Dopri8, rtol = atol = 1e-10)."""
    return simulate(system, state0, ts, args=args, options=GROUND_TRUTH)
