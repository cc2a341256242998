"""EulerRateRNN: the continuous-time rate network on a task's grid (spec §2.4)."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rnnlab
from rnnlab.analysis import find_fixed_points
from rnnlab.learning import BPTTOptions, evaluate_members, train_bptt
from rnnlab.models import ElmanRNN, EulerRateRNN, RateRNN, stack_models, step_map
from rnnlab.tasks import AndTask


def _rate(key, tau=1.0, hidden=12):
    return RateRNN(hidden, gain=1.2, key=key, tau=tau, input_size=2, output_size=1)


def test_alpha_one_is_exactly_the_elman_network(key):
    """dt = tau: r_k = tanh(h_{k+1}) follows tanh(J r_{k-1} + B u_k), the Elman RNN."""
    net_key, input_key = jr.split(key)
    euler = EulerRateRNN(_rate(net_key), dt=1.0)
    rate = euler.network
    elman = ElmanRNN(2, 12, 1, key=net_key, dtype=jnp.float64)
    elman = eqx.tree_at(
        lambda m: (m.recurrent_weights, m.input_weights, m.readout_weights),
        elman,
        (rate.recurrent_weights, rate.input_weights, rate.readout_weights),
    )
    inputs = jr.normal(input_key, (60, 2), jnp.float64)
    states, outputs = euler.run(inputs)
    rates, elman_outputs = elman.run(inputs)
    np.testing.assert_allclose(np.tanh(np.asarray(states)), np.asarray(rates), atol=1e-13)
    np.testing.assert_allclose(np.asarray(outputs), np.asarray(elman_outputs), atol=1e-13)


@pytest.mark.parametrize("dt", [0.1, 0.5])
def test_a_step_is_diffrax_euler_on_the_vector_field(dt, key):
    """Second implementation: diffrax's Euler step of tau h' = -h + J tanh h + B u."""
    net_key, state_key, input_key = jr.split(key, 3)
    euler = EulerRateRNN(_rate(net_key, tau=2.0), dt=dt)
    h = jr.normal(state_key, (12,), jnp.float64)
    u = jr.normal(input_key, (2,), jnp.float64)
    step, _ = step_map(euler.network, dt=dt, solver="euler", args=lambda t: u)
    np.testing.assert_allclose(
        np.asarray(euler.step(h, u)), np.asarray(step(0.0, h)), rtol=1e-13, atol=1e-14
    )


def test_fixed_point_analysis_at_the_origin(key):
    """At h = 0 (zero input) the step's Jacobian is (1 - alpha) I + alpha J."""
    net_key, start_key = jr.split(key)
    euler = EulerRateRNN(_rate(net_key, tau=4.0, hidden=10), dt=1.0)
    found = find_fixed_points(euler, 1e-3 * jr.normal(start_key, (8, 10), jnp.float64))
    origin = np.argmin(np.linalg.norm(found.points, axis=1))
    np.testing.assert_allclose(found.points[origin], 0.0, atol=1e-10)
    expected = np.linalg.eigvals(
        0.75 * np.eye(10) + 0.25 * np.asarray(euler.network.recurrent_weights)
    )
    np.testing.assert_allclose(
        np.sort_complex(found.eigenvalues[origin]), np.sort_complex(expected), atol=1e-10
    )


def test_trains_on_and_with_tau_frozen():
    task = AndTask(tail=30)
    nets = stack_models(
        [
            EulerRateRNN(
                RateRNN(24, gain=1.0, key=jr.key(i), tau=2.0, input_size=2, output_size=1),
                dt=1.0,
            )
            for i in range(2)
        ]
    )
    options = BPTTOptions(
        learning_rate=3e-3, num_trials=512, max_epochs=12, loss_threshold=5e-3, clip_norm=1.0
    )
    result = train_bptt(nets, task, key=jr.key(0), options=options)
    np.testing.assert_array_equal(np.asarray(result.models.network.tau), [2.0, 2.0])
    scores = evaluate_members(result.models, task, key=jr.key(1), num_trials=128)
    assert scores["accuracy"].max() >= 0.95, scores["accuracy"]


def test_bad_input_is_one_line(key):
    with pytest.raises(rnnlab.InvalidInputError, match="input_size > 0"):
        EulerRateRNN(RateRNN(4, gain=1.0, key=key), dt=1.0)
    with pytest.raises(rnnlab.InvalidInputError, match="dt/tau = 2"):
        EulerRateRNN(_rate(key, tau=0.5), dt=1.0)
    with pytest.raises(rnnlab.InvalidInputError, match="dt=0"):
        EulerRateRNN(_rate(key), dt=0)
