r"""How trained networks keep a held state: dynamical labels and fixed points, batched.

A network that holds a decision can do it with a stable fixed point or with a sustained
oscillation of the hidden state that the read-out cancels (Jarne & Laje,
arXiv:1906.01094; spec §5.2-5.5). Two batched analyses tell them apart for a stack of
trained networks (:func:`rnnlab.models.stack_models`):

* :func:`dynamical_labels`: give each stimulus, run on with zero input and label the
  last ``window`` hidden states (:func:`rnnlab.analysis.classify_trajectory`): fixed
  point, limit cycle (with its period), slow drift, quasi-periodic (Lyapunov exponent
  0) or irregular. Every (network,
  stimulus) pair runs in one compiled, vmapped scan.
* :func:`trained_fixed_points`: fixed and slow points of one network at a constant input
  (Sussillo & Barak 2013), started from states its own trajectories visit, plus jitter;
  run in float64, whatever the network was trained in.

References: Sussillo & Barak, Neural Comput. 25, 626 (2013), DOI 10.1162/NECO_a_00409;
Jarne, Cogn. Neurodyn. 17, 257 (2023), DOI 10.1007/s11571-022-09802-5.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float

from .._errors import InvalidInputError
from .._types import Key
from ._degradation import classify_trajectory, silent_window
from ._fixed_points import FixedPointOptions, FixedPoints, find_fixed_points


class DynamicalLabels(NamedTuple):
    """Result of :func:`dynamical_labels`, one entry per (network, stimulus).

    ``labels``: ``"fixed_point"``, ``"limit_cycle"``, ``"slow"``, ``"quasi_periodic"`` or
    ``"irregular"`` (see :func:`rnnlab.analysis.classify_trajectory`); ``periods``: the
    limit cycle's period in steps (0 otherwise); ``final_states``: the hidden state at the
    end of the silent run (networks, stimuli, hidden); ``lyapunov_exponents``: the largest
    Lyapunov exponent (per step) along the labelled window.
    """

    labels: np.ndarray
    periods: np.ndarray
    final_states: np.ndarray
    lyapunov_exponents: np.ndarray

    @property
    def held_by_oscillation(self) -> np.ndarray:
        """Per network: does any stimulus end on a limit cycle, quasi-periodic or
        irregular motion?"""
        moving = ["limit_cycle", "quasi_periodic", "irregular"]
        return np.any(np.isin(self.labels, moving), axis=1)


@eqx.filter_jit
def _silent_windows(params, static, stimuli, num_steps: int, window: int):
    def one_network(p):
        model = eqx.combine(p, static)

        def one_stimulus(inputs):
            states, _ = model.run(inputs)
            return silent_window(model, states[-1], num_steps, window)

        return jax.vmap(one_stimulus)(stimuli)

    return jax.vmap(one_network)(params)


def dynamical_labels(
    models: eqx.Module,
    stimuli: Float[Array, "stimuli time input"],
    *,
    num_steps: int = 5000,
    window: int = 1000,
    fixed_tolerance: float = 1e-4,
    cycle_tolerance: float = 1e-3,
) -> DynamicalLabels:
    """Label how every stacked network ends after every stimulus (spec §5.2).

    Each network gets each stimulus (time, input), then ``num_steps`` steps of zero input;
    the last ``window`` hidden states are classified by
    :func:`rnnlab.analysis.classify_trajectory` with the given tolerances (max norm).
    ``models`` is a stack of :class:`rnnlab.models.ElmanRNN` (anything with
    ``run(inputs) -> (states, outputs)`` and ``step(state, None)`` for a zero-input
    step); the hidden state, not the output, is classified, since the read-out can cancel
    large oscillations.

    Example:
        >>> nets = stack_models([ElmanRNN(1, 20, 1, key=jr.key(i)) for i in range(3)])
        >>> stimuli = jnp.zeros((2, 40, 1)).at[1, 10:20].set(1.0)
        >>> dynamical_labels(nets, stimuli, num_steps=2000, window=500).labels.shape
        (3, 2)
    """
    stimuli = jnp.asarray(stimuli)
    if stimuli.ndim != 3:
        raise InvalidInputError(
            f"stimuli has shape {stimuli.shape}; expected (stimuli, time, input)"
        )
    if not 0 < window <= num_steps:
        raise InvalidInputError(f"window={window} must lie in [1, num_steps={num_steps}]")
    params, static = eqx.partition(models, eqx.is_array)
    windows, exponents = _silent_windows(params, static, stimuli, num_steps, window)
    windows, exponents = np.asarray(windows), np.asarray(exponents)
    num_networks, num_stimuli = windows.shape[:2]
    labels = np.empty((num_networks, num_stimuli), dtype=object)
    periods = np.zeros((num_networks, num_stimuli), dtype=int)
    for i in range(num_networks):
        for j in range(num_stimuli):
            labels[i, j], periods[i, j] = classify_trajectory(
                windows[i, j],
                fixed_tolerance=fixed_tolerance,
                cycle_tolerance=cycle_tolerance,
                lyapunov_exponent=float(exponents[i, j]),
            )
    return DynamicalLabels(labels.astype(str), periods, windows[:, :, -1], exponents)


def _float64(model: eqx.Module) -> eqx.Module:
    return jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x, model)


@eqx.filter_jit
def _trajectories(model, stimuli):
    """Hidden states (stimuli, time, hidden) of ``model`` on each stimulus, from zero."""
    return jax.vmap(lambda x: model.run(x)[0])(stimuli)


def trained_fixed_points(
    model: eqx.Module,
    stimuli: Float[Array, "stimuli time input"],
    *,
    key: Key,
    num_starts: int = 256,
    jitter: float = 1e-2,
    inputs: Float[Array, " input"] | None = None,
    options: FixedPointOptions | None = None,
) -> tuple[FixedPoints, np.ndarray]:
    r"""Fixed and slow points of one trained discrete-time network at a constant input.

    Starts are ``num_starts`` hidden states drawn uniformly from the network's own
    trajectories on ``stimuli`` (time, input each), plus Gaussian ``jitter``; then
    :func:`rnnlab.analysis.find_fixed_points` (Adam on $q = \tfrac12|F(h) - h|^2$, then
    Levenberg-Marquardt; ``options`` default :class:`~rnnlab.analysis.FixedPointOptions`)
    at the constant input ``inputs`` (default zero: the delay and hold periods). The
    model is cast to float64 first. Returns the :class:`~rnnlab.analysis.FixedPoints` and
    the trajectories (stimuli, time, hidden), in float64, e.g. for a PCA plot.
    """
    if num_starts <= 0:
        raise InvalidInputError(f"num_starts={num_starts} must be a positive integer")
    model = _float64(model)
    stimuli = jnp.asarray(stimuli, jnp.float64)
    trajectories = _trajectories(model, stimuli)
    flat = trajectories.reshape(-1, trajectories.shape[-1])
    pick_key, jitter_key = jr.split(key)
    picks = jr.choice(pick_key, flat.shape[0], (num_starts,), replace=True)
    starts = flat[picks] + jitter * jr.normal(jitter_key, (num_starts, flat.shape[1]), flat.dtype)
    args = None if inputs is None else jnp.asarray(inputs, jnp.float64)
    options = FixedPointOptions() if options is None else options
    found = find_fixed_points(model, starts, options=options, args=args)
    return found, np.asarray(trajectories)
