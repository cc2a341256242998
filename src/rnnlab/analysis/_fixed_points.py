r"""Fixed and slow points by minimising the speed $q(x) = \tfrac12 |F(x)|^2$.

$F = f$ for flows and $F(x) = \Phi(x) - x$ for maps. Many starts are optimised at once
(``vmap``): first with Adam (optax) on $q$, then with damped Gauss-Newton
(Levenberg-Marquardt) steps on $F$ for quadratic convergence. Converged points are
de-duplicated with a tolerance scaled by $\sqrt{d}$ and classified by the eigenvalues of
their Jacobian.

References: Sussillo & Barak, Neural Comput. 25, 626 (2013), DOI 10.1162/NECO_a_00409;
Golub & Sussillo, JOSS 3, 1003 (2018).
"""

from dataclasses import dataclass
from typing import Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, PyTree

from .._errors import InvalidInputError
from ..models._base import AbstractContinuousModel, AbstractDiscreteModel
from ._jacobian import jacobian, residual_function

Stability = Literal["stable", "unstable", "marginal"]


@dataclass(frozen=True)
class FixedPointOptions:
    """Options of :func:`find_fixed_points`.

    ``q_tolerance``: a point with $q \\le$ this is a fixed point; with $q \\le$
    ``slow_tolerance`` a slow point. ``unique_tolerance`` (times $\\sqrt{d}$) merges
    duplicates. ``marginal_tolerance``: $|\\mathrm{Re}\\,\\lambda|$ (flows) or
    $||\\lambda|-1|$ (maps) below it counts as marginal.
    """

    adam_steps: int = 2000
    learning_rate: float = 1e-2
    newton_steps: int = 50
    damping: float = 1e-6
    q_tolerance: float = 1e-16
    slow_tolerance: float = 1e-4
    unique_tolerance: float = 1e-6
    marginal_tolerance: float = 1e-6

    def __post_init__(self):
        if self.adam_steps < 0 or self.newton_steps < 0:
            raise InvalidInputError("adam_steps and newton_steps must be >= 0")
        if not (0 < self.q_tolerance <= self.slow_tolerance):
            raise InvalidInputError("need 0 < q_tolerance <= slow_tolerance")


class FixedPoints(NamedTuple):
    """Result of :func:`find_fixed_points`.

    Per start: ``candidates`` (starts, d), ``speeds`` $q$ (starts,), ``converged`` bool.
    Unique fixed points: ``points`` (m, d), ``point_speeds``, ``eigenvalues`` (m, d),
    ``num_unstable`` (m,) unstable directions, ``stability`` (m,) labels.
    Slow points (converged to ``slow_tolerance`` only): ``slow_points``.
    """

    candidates: np.ndarray
    speeds: np.ndarray
    converged: np.ndarray
    points: np.ndarray
    point_speeds: np.ndarray
    eigenvalues: np.ndarray
    num_unstable: np.ndarray
    stability: list[Stability]
    slow_points: np.ndarray

    @property
    def num_converged(self) -> int:
        """How many starts reached ``q_tolerance``."""
        return int(self.converged.sum())


@eqx.filter_jit
def _optimise(model, starts, args, adam_steps, learning_rate, newton_steps, damping):
    residual = residual_function(model, args=args)

    def speed(x):
        r = residual(x)
        return 0.5 * jnp.sum(r**2)

    optimiser = optax.adam(learning_rate)

    def adam_one(x):
        def body(carry, _):
            x, opt_state = carry
            grad = jax.grad(speed)(x)
            # optax computes b**count with an int32 count, which strict promotion rejects.
            with jax.numpy_dtype_promotion("standard"):
                updates, opt_state = optimiser.update(grad, opt_state)
            return (optax.apply_updates(x, updates), opt_state), None

        (x, _), _ = jax.lax.scan(body, (x, optimiser.init(x)), None, length=adam_steps)
        return x

    def newton_one(x):
        eye = jnp.eye(x.shape[0], dtype=x.dtype)

        def body(x, _):
            r = residual(x)
            jac = jax.jacfwd(residual)(x)
            normal = jac.T @ jac
            scale = jnp.maximum(jnp.max(jnp.diagonal(normal)), 1.0)
            step = jnp.linalg.solve(normal + damping * scale * eye, jac.T @ r)
            candidate = x - step
            better = speed(candidate) < speed(x)
            return jnp.where(better, candidate, x), None

        x, _ = jax.lax.scan(body, x, None, length=newton_steps)
        return x

    xs = jax.vmap(adam_one)(starts)
    xs = jax.vmap(newton_one)(xs)
    return xs, jax.vmap(speed)(xs)


def _deduplicate(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of a greedy set of points pairwise further apart than ``tolerance``."""
    kept: list[int] = []
    for i, p in enumerate(points):
        if all(np.linalg.norm(p - points[j]) > tolerance for j in kept):
            kept.append(i)
    return np.array(kept, dtype=int)


def classify_stability(
    eigenvalues, *, discrete: bool, tolerance: float = 1e-6
) -> tuple[int, Stability]:
    """Count unstable directions and label a fixed point from its Jacobian eigenvalues."""
    eig = np.asarray(eigenvalues)
    growth = np.abs(eig) - 1.0 if discrete else eig.real
    num_unstable = int(np.sum(growth > tolerance))
    if num_unstable:
        return num_unstable, "unstable"
    if np.any(np.abs(growth) <= tolerance):
        return 0, "marginal"
    return 0, "stable"


def find_fixed_points(
    model: AbstractContinuousModel | AbstractDiscreteModel,
    starts: Float[Array, "starts dim"],
    *,
    options: FixedPointOptions = FixedPointOptions(),
    args: PyTree = None,
) -> FixedPoints:
    """Find fixed and slow points of any model from many starting states at once.

    Example:
        >>> from rnnlab.systems import Lorenz
        >>> found = find_fixed_points(Lorenz(), 10 * jr.normal(jr.key(0), (64, 3)))
        >>> found.points  # the origin and (+-8.485, +-8.485, 27)
    """
    starts = jnp.asarray(starts)
    if starts.ndim != 2 or starts.shape[1] != model.state_size:
        raise InvalidInputError(
            f"starts has shape {starts.shape}; expected (num_starts, {model.state_size})"
        )
    candidates, speeds = _optimise(
        model,
        starts,
        args,
        options.adam_steps,
        options.learning_rate,
        options.newton_steps,
        options.damping,
    )
    candidates, speeds = np.asarray(candidates), np.asarray(speeds)
    finite = np.isfinite(speeds)
    converged = finite & (speeds <= options.q_tolerance)
    slow = finite & (speeds <= options.slow_tolerance) & ~converged
    scale = options.unique_tolerance * np.sqrt(model.state_size)
    order = np.argsort(np.where(converged, speeds, np.inf))[: int(converged.sum())]
    unique = order[_deduplicate(candidates[order], scale)] if order.size else order
    points = candidates[unique]
    discrete = isinstance(model, AbstractDiscreteModel)
    eigenvalues, num_unstable, stability = [], [], []
    for p in points:
        eig = np.linalg.eigvals(np.asarray(jacobian(model, jnp.asarray(p), args=args)))
        n, label = classify_stability(eig, discrete=discrete, tolerance=options.marginal_tolerance)
        eigenvalues.append(eig)
        num_unstable.append(n)
        stability.append(label)
    slow_order = np.nonzero(slow)[0]
    slow_unique = slow_order[_deduplicate(candidates[slow_order], scale)]
    dim = model.state_size
    return FixedPoints(
        candidates=candidates,
        speeds=speeds,
        converged=converged,
        points=points.reshape(-1, dim),
        point_speeds=speeds[unique],
        eigenvalues=np.array(eigenvalues, dtype=complex).reshape(-1, dim),
        num_unstable=np.array(num_unstable, dtype=int),
        stability=stability,
        slow_points=candidates[slow_unique].reshape(-1, dim),
    )
