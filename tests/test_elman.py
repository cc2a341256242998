"""ElmanRNN against hand-written NumPy; initialisers; fixed points vs eigenvalues."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import rnnlab
from rnnlab.analysis import FixedPointOptions, find_fixed_points, jacobian_eigenvalues
from rnnlab.models import (
    ElmanRNN,
    EulerRateRNN,
    _elman_batch,
    glorot_uniform,
    identity,
    make_initialiser,
    orthogonal,
    pad_units,
    random_normal,
    stack_models,
    trim_units,
    unstack_model,
)


def numpy_run(net, inputs):
    w, u = np.asarray(net.recurrent_weights), np.asarray(net.input_weights)
    v, c = np.asarray(net.readout_weights), np.asarray(net.readout_bias)
    b = 0.0 if net.bias is None else np.asarray(net.bias)
    h = np.zeros(w.shape[0])
    states = []
    for x in np.asarray(inputs):
        h = np.tanh(w @ h + u @ x + b)
        states.append(h)
    states = np.array(states)
    return states, states @ v.T + c


@pytest.mark.parametrize("use_bias", [False, True])
def test_run_matches_numpy(key, use_bias):
    net_key, input_key, bias_key = jr.split(key, 3)
    net = ElmanRNN(2, 16, 3, key=net_key, use_bias=use_bias, dtype=jnp.float64)
    if use_bias:
        net = eqx.tree_at(lambda n: n.bias, net, 0.3 * jr.normal(bias_key, (16,)))
    inputs = jr.normal(input_key, (40, 2))
    states, outputs = net.run(inputs)
    expected_states, expected_outputs = numpy_run(net, inputs)
    np.testing.assert_allclose(np.asarray(states), expected_states, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(outputs), expected_outputs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(net(inputs)), expected_outputs, rtol=1e-12, atol=1e-14)


def test_contract_jit_vmap_grad_serialise(key, tmp_path):
    nets = stack_models([ElmanRNN(2, 8, 1, key=k, dtype=jnp.float64) for k in jr.split(key, 3)])
    inputs = jr.normal(key, (3, 20, 2))
    outputs = eqx.filter_jit(eqx.filter_vmap(lambda n, x: n(x)))(nets, inputs)
    for i in range(3):
        np.testing.assert_allclose(
            np.asarray(outputs[i]), np.asarray(unstack_model(nets, i)(inputs[i])), rtol=1e-12
        )
    grads = eqx.filter_grad(lambda n: jnp.sum(n(inputs[0]) ** 2))(unstack_model(nets, 0))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
    path = tmp_path / "net.eqx"
    eqx.tree_serialise_leaves(path, nets)
    loaded = eqx.tree_deserialise_leaves(path, nets)
    for a, b in zip(jax.tree.leaves(nets), jax.tree.leaves(loaded), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_orthogonal_is_orthogonal_with_unit_spectrum(key):
    w = np.asarray(orthogonal(key, (60, 60)))
    np.testing.assert_allclose(w.T @ w, np.eye(60), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(w)), 1.0, atol=1e-10)
    tall = np.asarray(orthogonal(key, (30, 10)))
    np.testing.assert_allclose(tall.T @ tall, np.eye(10), atol=1e-12)
    wide = np.asarray(orthogonal(key, (10, 30)))
    np.testing.assert_allclose(wide @ wide.T, np.eye(10), atol=1e-12)


def test_other_initialisers(key):
    n = 400
    normal = np.asarray(random_normal(key, (n, n)))
    assert abs(normal.std() * np.sqrt(n) - 1.0) < 0.01
    assert np.max(np.abs(np.linalg.eigvals(normal))) < 1.1  # circular law, radius 1
    limit = np.sqrt(6 / (2 + 50))
    glorot = np.asarray(glorot_uniform(key, (50, 2)))
    assert np.all(np.abs(glorot) <= limit) and np.abs(glorot).max() > 0.8 * limit
    np.testing.assert_array_equal(np.asarray(identity(key, (5, 5))), np.eye(5))
    assert make_initialiser("normal") is random_normal
    net = ElmanRNN(1, 6, 1, key=key, recurrent_init="identity", gain=0.9, dtype=jnp.float64)
    np.testing.assert_allclose(np.asarray(net.recurrent_weights), 0.9 * np.eye(6))


def test_bad_input_is_one_line():
    with pytest.raises(rnnlab.InvalidInputError, match="'xavier' is unknown; choose one of"):
        make_initialiser("xavier")
    with pytest.raises(rnnlab.InvalidInputError, match="hidden_size=0"):
        ElmanRNN(2, 0, 1, key=jr.key(0))
    with pytest.raises(rnnlab.InvalidInputError, match="gain=-1"):
        ElmanRNN(2, 4, 1, key=jr.key(0), gain=-1.0)


def assert_same_multiset(actual, expected, atol):
    distance = np.abs(np.asarray(actual)[:, None] - np.asarray(expected)[None, :])
    rows, cols = linear_sum_assignment(distance)
    assert np.max(distance[rows, cols]) < atol


@pytest.mark.parametrize(("gain", "stability"), [(0.6, "stable"), (1.4, "unstable")])
def test_fixed_point_and_eigenvalue_analyses_agree_at_the_linear_origin(key, gain, stability):
    """Near the origin tanh(W h) = W h, so the origin is a fixed point with Jacobian W."""
    n = 8
    net = ElmanRNN(1, n, 1, key=key, gain=gain, dtype=jnp.float64)
    weights = np.asarray(net.recurrent_weights)
    starts = 1e-3 * jr.normal(key, (4, n))
    found = find_fixed_points(
        net, starts, options=FixedPointOptions(adam_steps=200, newton_steps=30)
    )
    assert found.points.shape[0] >= 1
    origin = np.argmin(np.linalg.norm(found.points, axis=1))
    np.testing.assert_allclose(found.points[origin], 0.0, atol=1e-8)
    assert found.stability[origin] == stability
    assert_same_multiset(found.eigenvalues[origin], np.linalg.eigvals(weights), 1e-8)
    assert_same_multiset(
        jacobian_eigenvalues(net, jnp.zeros(n)), np.linalg.eigvals(weights), 1e-10
    )
    assert found.num_unstable[origin] == (n if gain > 1 else 0)


def numpy_bptt(w, drive, targets):
    """Hand-written BPTT of L = sum_t ||h_t - y_t||^2 / 2 for h_t = tanh(W h_{t-1} + a_t)."""
    h = np.zeros(w.shape[0])
    states, previous = [], []
    for a in drive:
        previous.append(h)
        h = np.tanh(w @ h + a)
        states.append(h)
    grad_w, grad_a = np.zeros_like(w), np.zeros_like(drive)
    back = np.zeros(w.shape[0])  # dL/dh_t arriving from step t + 1
    for t in reversed(range(len(drive))):
        delta = (states[t] - targets[t] + back) * (1 - states[t] ** 2)
        grad_a[t] = delta
        grad_w += np.outer(delta, previous[t])
        back = w.T @ delta
    return grad_w, grad_a


def test_tanh_recurrence_gradient_matches_hand_written_bptt(key):
    """The custom derivative rule against a NumPy BPTT, and forward mode against the
    plain scan's (the rule must not change a single derivative)."""
    from rnnlab.models import tanh_recurrence

    k1, k2, k3, k4 = jr.split(key, 4)
    w = 1.2 * jr.normal(k1, (12, 12), jnp.float64) / np.sqrt(12)
    drive = jr.normal(k2, (30, 12), jnp.float64)
    targets = 0.5 * jr.normal(k3, (30, 12), jnp.float64)

    def loss(w, drive):
        return 0.5 * jnp.sum((tanh_recurrence(w, drive, jnp.zeros(12)) - targets) ** 2)

    grad_w, grad_a = jax.grad(loss, argnums=(0, 1))(w, drive)
    expected_w, expected_a = numpy_bptt(np.asarray(w), np.asarray(drive), np.asarray(targets))
    np.testing.assert_allclose(np.asarray(grad_w), expected_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(grad_a), expected_a, rtol=1e-10, atol=1e-12)

    def plain(w, drive, h0):
        def body(h, a):
            h = jnp.tanh(w @ h + a)
            return h, h

        return jax.lax.scan(body, h0, drive)[1]

    h0 = 0.3 * jr.normal(k4, (12,), jnp.float64)
    tangents = (jnp.ones_like(w) / 12, drive[::-1], h0[::-1])
    ours = jax.jvp(tanh_recurrence, (w, drive, h0), tangents)
    theirs = jax.jvp(plain, (w, drive, h0), tangents)
    np.testing.assert_allclose(np.asarray(ours[0]), np.asarray(theirs[0]), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(ours[1]), np.asarray(theirs[1]), rtol=1e-10, atol=1e-13)


def _plain_outputs(net, inputs):
    """Outputs of a batch by a plain per-trial ``lax.scan`` (autodiff, no custom rule)."""
    b = 0.0 if net.bias is None else net.bias

    def one(x):
        def body(h, x_t):
            h = jnp.tanh(net.recurrent_weights @ h + net.input_weights @ x_t + b)
            return h, net.readout_weights @ h + net.readout_bias

        return jax.lax.scan(body, jnp.zeros(net.state_size), x.astype(jnp.float64))[1]

    return jax.vmap(one)(inputs)


@pytest.mark.parametrize(("use_bias", "unroll"), [(False, None), (True, None), (True, 3)])
def test_batch_outputs_and_their_gradient(key, use_bias, unroll, monkeypatch):
    """``batch_outputs`` (one batch-major loop with a hand-written backward pass) gives
    NumPy's outputs, and the gradient of a weighted loss equals autodiff of a plain scan
    for every weight, with float32 inputs and float64 weights as in training; also with
    3 time steps per loop iteration (the accelerators' unrolled loop; 40 steps leave a
    remainder)."""
    monkeypatch.setattr(_elman_batch, "UNROLL", unroll)
    k_net, k_in, k_bias, k_w, k_c = jr.split(key, 5)
    net = ElmanRNN(3, 16, 2, key=k_net, use_bias=use_bias, dtype=jnp.float64)
    net = eqx.tree_at(lambda n: n.readout_bias, net, jnp.array([0.2, -0.1]))
    if use_bias:
        net = eqx.tree_at(lambda n: n.bias, net, 0.3 * jr.normal(k_bias, (16,)))
    inputs = jr.normal(k_in, (5, 40, 3), jnp.float32)
    weights = jr.normal(k_w, (5, 40, 2), jnp.float64)  # a different weight per output

    outputs = net.batch_outputs(inputs)
    assert outputs.shape == (5, 40, 2) and outputs.dtype == jnp.float64
    for trial in range(5):
        np.testing.assert_allclose(
            np.asarray(outputs[trial]), numpy_run(net, inputs[trial])[1], rtol=1e-12, atol=1e-13
        )

    def loss(model, forward):
        return jnp.sum(weights * jnp.sin(forward(model, inputs)))

    ours = eqx.filter_grad(lambda m: loss(m, type(m).batch_outputs))(net)
    theirs = eqx.filter_grad(lambda m: loss(m, _plain_outputs))(net)
    names = ["recurrent_weights", "input_weights", "readout_weights", "readout_bias"]
    names += ["bias"] if use_bias else []
    for name in names:
        expected = np.asarray(getattr(theirs, name))
        assert np.abs(expected).max() > 1e-3, name  # a gradient that is really there
        np.testing.assert_allclose(
            np.asarray(getattr(ours, name)), expected, rtol=1e-10, atol=1e-13, err_msg=name
        )
    # and with respect to the inputs (float32, as given)
    ours_x = jax.grad(lambda x: jnp.sum(weights * jnp.sin(net.batch_outputs(x))))(inputs)
    theirs_x = jax.grad(lambda x: jnp.sum(weights * jnp.sin(_plain_outputs(net, x))))(inputs)
    assert ours_x.dtype == jnp.float32 and np.abs(np.asarray(theirs_x)).max() > 1e-3
    np.testing.assert_allclose(np.asarray(ours_x), np.asarray(theirs_x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("model", ["elman", "rate"])
def test_batch_outputs_gradient_under_member_vmap(key, model):
    """Members stacked and vmapped (as train_bptt does): each member's gradient through
    ``batch_outputs`` equals the one computed for that member alone by a plain scan (the
    Elman network's ``_plain_outputs``; the rate network's per-trial ``jax.vmap``), for
    ElmanRNN and for EulerRateRNN (different tau per member, whose gradient is 0)."""
    keys = jr.split(key, 3)
    if model == "elman":
        nets = [ElmanRNN(1, 8, 1, key=k, dtype=jnp.float64) for k in keys]
        reference = _plain_outputs
    else:
        nets = [
            EulerRateRNN.for_task(1, 8, 1, key=k, tau=tau, use_bias=True, dtype=jnp.float64)
            for k, tau in zip(keys, (1.0, 2.5, 5.0), strict=True)
        ]
        reference = lambda net, x: jax.vmap(net)(x)  # noqa: E731
    inputs = jr.normal(jr.fold_in(key, 9), (4, 25, 1))
    targets = jr.normal(jr.fold_in(key, 10), (4, 25, 1))

    def mse(model, forward):
        return jnp.mean((forward(model, inputs) - targets) ** 2)

    stacked = eqx.filter_vmap(eqx.filter_grad(lambda m: mse(m, type(m).batch_outputs)))(
        stack_models(nets)
    )
    for index, net in enumerate(nets):
        alone = eqx.filter_grad(lambda m: mse(m, reference))(net)
        for ours, theirs in zip(
            jax.tree.leaves(unstack_model(stacked, index)), jax.tree.leaves(alone), strict=True
        ):
            np.testing.assert_allclose(
                np.asarray(ours), np.asarray(theirs), rtol=1e-10, atol=1e-14
            )
    if model == "rate":
        np.testing.assert_array_equal(np.asarray(stacked.network.tau), 0.0)


def test_batch_outputs_of_a_subclass_follow_its_own_equations(key):
    """A subclass that changes ``__call__`` is run (and so trained) by its own equations,
    not silently by the plain Elman loop."""

    class Doubled(ElmanRNN):
        def __call__(self, inputs):
            return 2 * self.run(inputs)[1]

    net = Doubled(1, 8, 1, key=key, dtype=jnp.float64)
    inputs = jr.normal(jr.fold_in(key, 1), (3, 20, 1), jnp.float64)
    expected = 2 * np.asarray(jax.vmap(lambda x: net.run(x)[1])(inputs))
    np.testing.assert_allclose(np.asarray(net.batch_outputs(inputs)), expected, rtol=1e-12)


def test_padded_units_are_silent(key):
    """``pad_units`` appends units that change no output (to rounding) and get exactly zero
    gradient (with a recurrent bias too); ``trim_units`` undoes it; too small a size is one
    line."""
    net = ElmanRNN(3, 6, 2, key=key, use_bias=True, dtype=jnp.float64)
    net = eqx.tree_at(lambda n: n.bias, net, 0.3 * jr.normal(jr.fold_in(key, 1), (6,)))
    padded = pad_units(net, 10)
    assert padded.recurrent_weights.shape == (10, 10) and padded.bias.shape == (10,)
    inputs = jr.normal(jr.fold_in(key, 2), (4, 30, 3))
    np.testing.assert_allclose(  # to rounding: the products sum over more (zero) terms
        np.asarray(padded.batch_outputs(inputs)),
        np.asarray(net.batch_outputs(inputs)),
        rtol=1e-12,
        atol=1e-14,
    )
    grads = eqx.filter_grad(lambda m: jnp.sum(jnp.sin(m.batch_outputs(inputs))))(padded)
    assert np.abs(np.asarray(grads.recurrent_weights[:6, :6])).max() > 1e-3
    for leaf, pad in (
        (grads.recurrent_weights, np.s_[6:, :]),
        (grads.recurrent_weights, np.s_[:, 6:]),
        (grads.input_weights, np.s_[6:]),
        (grads.readout_weights, np.s_[:, 6:]),
        (grads.bias, np.s_[6:]),
    ):
        assert np.all(np.asarray(leaf)[pad] == 0)
    for a, b in zip(jax.tree.leaves(trim_units(padded, 6)), jax.tree.leaves(net), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    stacked = pad_units(stack_models([net, net]), 8)  # member axes are kept
    assert stacked.recurrent_weights.shape == (2, 8, 8)
    with pytest.raises(rnnlab.InvalidInputError, match="hidden_size=4 is below the model's 6"):
        pad_units(net, 4)
