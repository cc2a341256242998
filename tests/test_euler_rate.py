"""EulerRateRNN: the continuous-time rate network on a task's grid (spec §2.4)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rnnlab
from rnnlab.analysis import find_fixed_points
from rnnlab.learning import BPTTOptions, evaluate_members, train_bptt
from rnnlab.models import (
    ElmanRNN,
    EulerRateRNN,
    RateRNN,
    _elman_batch,
    euler_rate_outputs,
    stack_models,
    step_map,
)
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


def _plain_rate_outputs(weights, alpha, inputs):
    """Second implementation: the per-trial scan, (B, T, I) -> (B, T, O), autodiff'd."""
    recurrent, input_weights, bias, readout, readout_bias = weights

    def one(u_seq):
        def body(h, u):
            drive = recurrent @ jnp.tanh(h) + input_weights @ u.astype(recurrent.dtype)
            h = (1 - alpha) * h + alpha * (drive if bias is None else drive + bias)
            return h, readout @ jnp.tanh(h) + readout_bias

        return jax.lax.scan(body, jnp.zeros(recurrent.shape[0], recurrent.dtype), u_seq)[1]

    return jax.vmap(one)(inputs)


@pytest.mark.parametrize(
    ("use_bias", "alpha", "unroll"), [(False, 0.2, None), (True, 1.0, None), (True, 0.35, 3)]
)
def test_batch_outputs_and_their_gradient(key, use_bias, alpha, unroll, monkeypatch):
    """``euler_rate_outputs`` (batch-major, hand-written backward pass) against autodiff
    of a plain per-trial scan: outputs, and the gradient of a weighted loss for every
    weight, alpha and the (float32) inputs; also with 3 steps per loop iteration (40
    steps leave a remainder) and at alpha = 1 (the Elman recursion)."""
    monkeypatch.setattr(_elman_batch, "UNROLL", unroll)
    k = jr.split(key, 7)
    weights = (
        1.3 * jr.normal(k[0], (16, 16)) / 4.0,
        jr.normal(k[1], (16, 3)),
        0.3 * jr.normal(k[2], (16,)) if use_bias else None,
        jr.normal(k[3], (2, 16)) / 4.0,
        jnp.array([0.2, -0.1]),
    )
    alpha = jnp.asarray(alpha, jnp.float64)
    inputs = jr.normal(k[4], (5, 40, 3), jnp.float32)
    loss_weights = jr.normal(k[5], (5, 40, 2), jnp.float64)

    def ours(w, a, x):
        return jnp.transpose(euler_rate_outputs(w, a, jnp.transpose(x, (1, 2, 0))), (2, 0, 1))

    np.testing.assert_allclose(
        np.asarray(ours(weights, alpha, inputs)),
        np.asarray(_plain_rate_outputs(weights, alpha, inputs)),
        rtol=1e-12,
        atol=1e-13,
    )

    def loss(forward):
        return lambda w, a, x: jnp.sum(loss_weights * jnp.sin(forward(w, a, x)))

    got = jax.grad(loss(ours), argnums=(0, 1, 2))(weights, alpha, inputs)
    want = jax.grad(loss(_plain_rate_outputs), argnums=(0, 1, 2))(weights, alpha, inputs)
    names = ["J", "B"] + ["b"] * use_bias + ["W", "c", "alpha"]
    for name, g, w in zip(names, jax.tree.leaves(got[:2]), jax.tree.leaves(want[:2]), strict=True):
        assert np.abs(np.asarray(w)).max() > 1e-3, name  # a gradient that is really there
        np.testing.assert_allclose(
            np.asarray(g), np.asarray(w), rtol=1e-10, atol=1e-13, err_msg=name
        )
    assert got[2].dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got[2]), np.asarray(want[2]), rtol=1e-5, atol=1e-7)


def test_batch_outputs_of_a_subclass_follow_its_own_step(key):
    class Doubled(EulerRateRNN):
        def step(self, state, inputs, *, key=None):
            return 2 * super().step(state, inputs)

    net = Doubled(_rate(key, tau=2.0), dt=1.0)
    inputs = jr.normal(jr.fold_in(key, 1), (3, 20, 2))
    np.testing.assert_allclose(
        np.asarray(net.batch_outputs(inputs)), np.asarray(jax.vmap(net)(inputs)), rtol=1e-13
    )
