"""Jacobians of a model's vector field or step map, and their eigenvalues."""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PyTree

from .._errors import InvalidInputError
from .._types import State
from ..models._base import AbstractContinuousModel, AbstractDiscreteModel


def residual_function(model, *, args: PyTree = None, t: float = 0.0):
    """The function whose zeros are fixed points: $f(x)$ for flows, $F(x) - x$ for maps."""
    if isinstance(model, AbstractContinuousModel):
        return lambda x: model.vector_field(t, x, args)
    if isinstance(model, AbstractDiscreteModel):
        return lambda x: model.step(x, args, key=None) - x
    raise InvalidInputError(
        f"{type(model).__name__} is not an rnnlab model; wrap a vector field in "
        "rnnlab.systems.ODESystem"
    )


def jacobian(
    model: AbstractContinuousModel | AbstractDiscreteModel,
    state: State,
    *,
    args: PyTree = None,
    t: float = 0.0,
) -> Float[Array, "dim dim"]:
    """Dense Jacobian of a flow's vector field, or of a map's step."""
    if isinstance(model, AbstractDiscreteModel):
        return jax.jacfwd(lambda x: model.step(x, args, key=None))(jnp.asarray(state))
    return jax.jacfwd(residual_function(model, args=args, t=t))(jnp.asarray(state))


def jacobian_eigenvalues(
    model: AbstractContinuousModel | AbstractDiscreteModel,
    state: State,
    *,
    args: PyTree = None,
    t: float = 0.0,
) -> np.ndarray:
    """Eigenvalues of :func:`jacobian` (dense; intended for dimension up to a few thousand)."""
    return np.linalg.eigvals(np.asarray(jacobian(model, state, args=args, t=t)))


def circular_law_radius(eigenvalues) -> dict[str, float]:
    r"""Empirical radius of an eigenvalue cloud, by two estimators.

    ``max``: $\max|\lambda|$; ``second_moment``: $\sqrt{2\,\overline{|\lambda|^2}}$, which
    equals the radius for eigenvalues uniform on a disk centred at 0 (circular law;
    Girko 1985; Bai, Ann. Probab. 25, 494 (1997)).
    """
    modulus = np.abs(np.asarray(eigenvalues))
    return {"max": float(modulus.max()), "second_moment": float(np.sqrt(2 * np.mean(modulus**2)))}
