r"""Fit the linear readout of a driven reservoir, streaming the states into TSQR.

The reservoir and the controlled system that drives it are integrated as one joint ODE
(:class:`~rnnlab.models.DrivenReservoir`, classic RK4 at ``dt``): every reservoir stage
sees the input at that stage, as in Kim et al. (2020). Examples are driven back to back
without resetting the reservoir; each contributes ``washout`` (discarded) then
``train_time`` of samples. The state after k steps is paired with the input after k
steps (not a next-step target). States never leave the device in bulk: each chunk of
``chunk_steps`` states is folded into the least-squares factor and dropped.

References: J. Z. Kim, Z. Lu, E. Nozari, G. J. Pappas, D. S. Bassett, arXiv:2005.01186.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._blas import with_single_blas_thread
from .._errors import DivergenceError, InvalidInputError
from ..models._reservoir import ControlledReservoir, DrivenReservoir, check_step_size
from ..models._simulate import SolverName, step_map
from ._least_squares import (
    DEFAULT_RCOND,
    LeastSquaresSolution,
    LeastSquaresState,
    streaming_least_squares,
)


@dataclass(frozen=True)
class ReadoutOptions:
    """How :func:`fit_readout` drives the reservoir and solves for the readout.

    Times in the system's time unit. Paper values: ``dt`` 0.001 (RK4), ``washout`` 20,
    ``train_time`` 200 per example. ``rcond``/``ridge`` go to
    :func:`~rnnlab.learning.streaming_least_squares`. ``sample_every`` > 1 keeps every
    k-th state only (not the paper, which keeps all; the QR costs O(samples N^2) and
    dominates on CPU, so quick runs thin the samples).
    """

    dt: float = 0.001
    solver: SolverName = "rk4"
    washout: float = 20.0
    train_time: float = 200.0
    chunk_steps: int = 5000
    sample_every: int = 1
    rcond: float = DEFAULT_RCOND
    ridge: float = 0.0

    def __post_init__(self):
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise InvalidInputError(f"dt={self.dt!r} must be finite and > 0; e.g. 0.001")
        if not (np.isfinite(self.washout) and self.washout >= 0):
            raise InvalidInputError(f"washout={self.washout!r} must be finite and >= 0")
        if not (np.isfinite(self.train_time) and self.train_time > 0):
            raise InvalidInputError(f"train_time={self.train_time!r} must be finite and > 0")
        if self.chunk_steps < 1:
            raise InvalidInputError(f"chunk_steps={self.chunk_steps} must be >= 1")
        if self.sample_every < 1:
            raise InvalidInputError(f"sample_every={self.sample_every} must be >= 1 (1: all)")


class ReadoutFit(NamedTuple):
    """Result of :func:`fit_readout`.

    ``weights`` (M, N); ``solution`` the full least-squares result (rank, singular
    values, residual); ``final_states`` (examples, N): the reservoir state at the end of
    each example block (closed loops start from one of these); ``final_system_states``
    (examples, dim); ``rms_error`` the root-mean-square training error per input
    component; ``factor`` the TSQR factor of all training samples, from which
    :meth:`resolve` solves again at another cutoff without driving again.
    """

    weights: Float[Array, "input hidden"]
    solution: LeastSquaresSolution
    final_states: Float[Array, "examples hidden"]
    final_system_states: Float[Array, "examples dim"]
    rms_error: Array
    factor: LeastSquaresState

    def resolve(self, *, rcond: float = DEFAULT_RCOND, ridge: float = 0.0) -> LeastSquaresSolution:
        """The readout of the same training samples at another ``rcond`` or ``ridge``."""
        num_features = self.weights.shape[1]
        solver = streaming_least_squares(
            num_features, self.weights.shape[0], rcond=rcond, ridge=ridge
        )
        return solver.finalise(self.factor)


@eqx.filter_jit
def _drive(
    driven, state, control, lsq_state, update, dt, solver, num_steps, accumulate, sample_every
):
    step, _ = step_map(driven, dt=dt, solver=solver, args=control)

    def body(s, _):
        new = step(0.0, s)
        return new, new

    state, states = jax.lax.scan(body, state, None, length=num_steps)
    if accumulate:
        z, r = driven.split(states[sample_every - 1 :: sample_every])
        inputs = jax.vmap(lambda zz: driven.source.observe(zz, control))(z)
        lsq_state = update(lsq_state, r, inputs)
    return state, lsq_state, jnp.all(jnp.isfinite(state))


@with_single_blas_thread
def fit_readout(
    reservoir: ControlledReservoir,
    source,
    examples,
    *,
    options: ReadoutOptions = ReadoutOptions(),
    reservoir_state0: Float[Array, " hidden"] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReadoutFit:
    r"""Drive ``reservoir`` with ``source`` over ``examples`` and fit $W$ by streaming TSQR.

    ``source``: a controlled system (:mod:`rnnlab.systems`) with ``input_size`` outputs;
    ``examples``: :class:`~rnnlab.systems.Examples`. The reservoir starts at
    ``reservoir_state0`` (default zeros, as the authors) and is not reset between blocks.
    ``progress(n)`` is called after each chunk with the number of steps done.

    Raises :class:`~rnnlab.DivergenceError` if the drive produces a non-finite state.
    """
    check_step_size(reservoir.rate, options.dt, options.solver)
    if source.output_size != reservoir.input_size:
        raise InvalidInputError(
            f"the source emits {source.output_size} values but the reservoir takes "
            f"input_size={reservoir.input_size}; build the reservoir with "
            f"input_size={source.output_size}"
        )
    if examples.controls.shape[1] != reservoir.control_size:
        raise InvalidInputError(
            f"examples carry {examples.controls.shape[1]} control(s) but the reservoir takes "
            f"control_size={reservoir.control_size}"
        )
    n = reservoir.state_size
    r = jnp.zeros(n, jnp.float64) if reservoir_state0 is None else jnp.asarray(reservoir_state0)
    driven = DrivenReservoir(reservoir, source)
    solver = streaming_least_squares(
        n, reservoir.input_size, rcond=options.rcond, ridge=options.ridge
    )
    lsq_state = solver.init()
    washout_steps = round(options.washout / options.dt)
    train_steps = round(options.train_time / options.dt)
    chunk = options.chunk_steps
    final_states, final_system = [], []
    for i in range(examples.num_examples):
        control = examples.controls[i]
        state = jnp.concatenate([examples.initial_states[i], r])
        for steps, accumulate in ((washout_steps, False), (train_steps, True)):
            done = 0
            while done < steps:
                length = min(chunk, steps - done)
                state, lsq_state, finite = _drive(
                    driven,
                    state,
                    control,
                    lsq_state,
                    solver.update,
                    options.dt,
                    options.solver,
                    length,
                    accumulate,
                    options.sample_every,
                )
                if not bool(finite):
                    raise DivergenceError(
                        f"the driven reservoir diverged in example {i} (control "
                        f"{np.asarray(control).tolist()}); reduce dt or check the source"
                    )
                done += length
                if progress is not None:
                    progress(length)
        z, r = driven.split(state)
        final_states.append(r)
        final_system.append(z)
    solution = solver.finalise(lsq_state)
    samples = jnp.maximum(solution.num_samples, 1).astype(jnp.float64)
    rms = solution.residual_norm / jnp.sqrt(samples * reservoir.input_size)
    return ReadoutFit(
        weights=solution.weights,
        solution=solution,
        final_states=jnp.stack(final_states),
        final_system_states=jnp.stack(final_system),
        rms_error=rms,
        factor=lsq_state,
    )
