"""Abstract bases every rnnlab model derives from.

A model is one vector field (continuous time) or one step map (discrete time). Every
analysis in :mod:`rnnlab.analysis` takes one of these, so it works for every model.
"""

import abc

import equinox as eqx
from jaxtyping import Array, PyTree

from .._types import Key, State


class AbstractContinuousModel(eqx.Module):
    r"""A continuous-time system $\dot{x} = f(t, x, \mathrm{args})$.

    Subclasses implement :meth:`vector_field` and :attr:`state_size`.
    """

    @abc.abstractmethod
    def vector_field(self, t: float | Array, state: State, args: PyTree) -> State:
        """Return $f(t, x, \\mathrm{args})$, the time derivative of ``state``."""

    @property
    @abc.abstractmethod
    def state_size(self) -> int:
        """Dimension of the state vector."""


class AbstractDiscreteModel(eqx.Module):
    r"""A discrete-time system $x_{n+1} = F(x_n, u_n)$.

    ``key`` is required by the signature for stochastic maps; deterministic maps accept
    ``key=None``.
    """

    @abc.abstractmethod
    def step(self, state: State, inputs: Array | None, *, key: Key | None) -> State:
        """Return the next state."""

    @property
    @abc.abstractmethod
    def state_size(self) -> int:
        """Dimension of the state vector."""


AbstractModel = AbstractContinuousModel | AbstractDiscreteModel
