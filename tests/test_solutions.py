"""Batched dynamical labels and fixed points of trained networks (spec §5.2, §5.5)."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.optimize

from rnnlab.analysis import dynamical_label, dynamical_labels, trained_fixed_points
from rnnlab.models import ElmanRNN, stack_models


def _with_weights(net, weights):
    return eqx.tree_at(lambda m: m.recurrent_weights, net, jnp.asarray(weights, jnp.float64))


def test_a_rotating_saturated_unit_is_a_limit_cycle_of_its_cycle_length(key):
    # h_{t+1} = tanh(3 P h) with P a cyclic permutation of 5 units: a pulse on unit 0
    # travels round the ring for ever (period exactly 5); with gain 0.5 it dies out.
    n = 5
    ring = np.roll(np.eye(n), 1, axis=0)
    base = ElmanRNN(1, n, 1, key=key, dtype=jnp.float64)
    base = eqx.tree_at(lambda m: m.input_weights, base, jnp.eye(n, 1, dtype=jnp.float64))
    nets = stack_models([_with_weights(base, 3.0 * ring), _with_weights(base, 0.5 * ring)])
    stimuli = jnp.zeros((2, 10, 1), jnp.float64).at[1, 2, 0].set(5.0)  # silence / a kick
    result = dynamical_labels(nets, stimuli, num_steps=400, window=100)
    assert result.labels.tolist() == [
        ["fixed_point", "limit_cycle"],
        ["fixed_point", "fixed_point"],
    ]
    assert result.periods.tolist() == [[0, 5], [0, 0]]
    assert result.held_by_oscillation.tolist() == [True, False]
    # on the cycle exactly one unit sits at x* = tanh(3 x*), the others at 0
    x_star = scipy.optimize.brentq(lambda x: x - np.tanh(3 * x), 0.5, 1.0)
    final = result.final_states[0, 1]
    assert np.sort(np.abs(final)).tolist() == pytest.approx([0, 0, 0, 0, x_star], abs=1e-12)


@pytest.mark.parametrize("gain", [0.6, 1.6, 3.0])
def test_batched_labels_equal_the_one_network_labels(gain, key):
    keys = jr.split(key, 4)
    nets = [
        ElmanRNN(2, 12, 1, key=k, recurrent_init="normal", gain=gain, dtype=jnp.float64)
        for k in keys
    ]
    stimuli = jnp.zeros((3, 30, 2), jnp.float64).at[1, 5:15, 0].set(1.0).at[2, 5:15, 1].set(1.0)
    # 1500 silent steps: batched and single products round differently (~1e-14), which
    # after 600 steps still left one gain-3 network on a slow transient near a cycle
    batched = dynamical_labels(stack_models(nets), stimuli, num_steps=1500, window=200)
    for i, net in enumerate(nets):
        for j in range(3):
            label, period = dynamical_label(net, stimuli[j], num_steps=1500, window=200)
            assert (batched.labels[i, j], batched.periods[i, j]) == (label, period)


def test_fixed_points_of_a_bistable_unit_are_the_roots_of_x_equals_tanh_2x(key):
    # h = tanh(2 h): 0 (slope 2, unstable) and +-x* (slope 2 sech^2(2 x*) < 1, stable)
    base = ElmanRNN(1, 1, 1, key=key)  # float32, as trained networks are
    net = eqx.tree_at(lambda m: m.recurrent_weights, base, jnp.array([[2.0]], jnp.float32))
    net = eqx.tree_at(lambda m: m.input_weights, net, jnp.array([[1.0]], jnp.float32))
    stimuli = jnp.zeros((3, 20, 1)).at[1, 2:5].set(1.0).at[2, 2:5].set(-1.0)
    found, trajectories = trained_fixed_points(net, stimuli, key=key, num_starts=64, jitter=1e-3)
    assert trajectories.dtype == np.float64 and trajectories.shape == (3, 20, 1)
    x_star = scipy.optimize.brentq(lambda x: x - np.tanh(2 * x), 0.5, 1.0)
    order = np.argsort(found.points[:, 0])
    np.testing.assert_allclose(found.points[order, 0], [-x_star, 0.0, x_star], atol=1e-10)
    assert [found.stability[i] for i in order] == ["stable", "unstable", "stable"]
    slope = 2.0 / np.cosh(2.0 * x_star) ** 2
    np.testing.assert_allclose(found.eigenvalues[order[2]].real, [slope], atol=1e-10)


def test_bad_shapes_are_one_line(key):
    nets = stack_models([ElmanRNN(1, 4, 1, key=key)])
    with pytest.raises(ValueError, match="expected \\(stimuli, time, input\\)"):
        dynamical_labels(nets, jnp.zeros((10, 1)))
    with pytest.raises(ValueError, match="window=20"):
        dynamical_labels(nets, jnp.zeros((1, 10, 1)), num_steps=10, window=20)
