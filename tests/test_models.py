"""Contract every model must meet (jit, vmap, scan, derivatives, serialisation), and the
RateRNN's own construction rules."""

import re
from collections.abc import Callable
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest

import rnnlab
from rnnlab.models import (
    AbstractContinuousModel,
    AbstractDiscreteModel,
    RateRNN,
    SimulationOptions,
    iterate,
    random_normal,
    simulate,
)
from rnnlab.systems import Henon, Lorenz, ODESystem

_MATRIX = jnp.array([[-0.5, 2.0, 0.0], [-2.0, -0.5, 1.0], [0.0, 0.0, -1.0]])


@dataclass(frozen=True)
class Member:
    """One row of the model table: how to build it, a state scale, and a second instance
    with different parameters (the skeleton for deserialisation)."""

    build: Callable[[jax.Array], eqx.Module]
    other: Callable[[jax.Array], eqx.Module]
    scale: float


MODELS = {
    "rate_rnn": Member(
        lambda key: RateRNN(6, gain=1.8, tau=0.5, key=key),
        lambda key: RateRNN(6, gain=1.8, tau=0.5, key=jr.fold_in(key, 1)),
        1.0,
    ),
    "lorenz": Member(lambda key: Lorenz(), lambda key: Lorenz(sigma=1.0, rho=2.0, beta=3.0), 5.0),
    "henon": Member(lambda key: Henon(), lambda key: Henon(a=1.0, b=0.1), 0.3),
    "ode_system": Member(
        lambda key: ODESystem(lambda t, x, args: _MATRIX @ x + jnp.sin(x), dimension=3),
        lambda key: ODESystem(lambda t, x, args: -x, dimension=3),
        1.0,
    ),
}


def _one_step(model):
    """The model's unit of dynamics as x -> x' (a vector field or a step map)."""
    if isinstance(model, AbstractDiscreteModel):
        return lambda x: model.step(x, None, key=None)
    return lambda x: model.vector_field(0.0, x, None)


def _states(member, key, num=5):
    model_key, state_key = jr.split(key)
    model = member.build(model_key)
    return model, member.scale * jr.normal(state_key, (num, model.state_size))


@pytest.fixture(params=sorted(MODELS))
def member(request):
    return MODELS[request.param]


def test_is_a_model(member, key):
    model = member.build(key)
    assert isinstance(model, AbstractContinuousModel | AbstractDiscreteModel)
    assert isinstance(model.state_size, int) and model.state_size > 0


def test_jit_matches_eager(member, key):
    model, states = _states(member, key)
    jitted = eqx.filter_jit(lambda m, x: _one_step(m)(x))
    for x in states:
        np.testing.assert_allclose(
            np.asarray(jitted(model, x)), np.asarray(_one_step(model)(x)), rtol=1e-14
        )


def test_vmap_over_states_matches_loop(member, key):
    model, states = _states(member, key)
    batched = jax.vmap(_one_step(model))(states)
    looped = np.stack([np.asarray(_one_step(model)(x)) for x in states])
    np.testing.assert_allclose(np.asarray(batched), looped, rtol=1e-14)


def test_jacobian_matches_finite_differences(member, key):
    model, states = _states(member, key, num=2)
    function = _one_step(model)
    for x in states:
        exact = np.asarray(jax.jacfwd(function)(x))
        assert np.all(np.isfinite(exact))
        eps = 1e-6
        numeric = np.stack(
            [
                (np.asarray(function(x + eps * e)) - np.asarray(function(x - eps * e))) / (2 * eps)
                for e in jnp.eye(x.shape[0])
            ],
            axis=1,
        )
        np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-7)
        # Reverse mode agrees with forward mode.
        np.testing.assert_allclose(np.asarray(jax.jacrev(function)(x)), exact, rtol=1e-12)


def test_scan_matches_python_loop(member, key):
    # Time loops (lax.scan via iterate, diffrax via simulate) against a plain numpy loop
    # over the same unit of dynamics: the map itself, or classical RK4 written out here.
    model, states = _states(member, key, num=1)
    x0 = states[0]
    step = jax.jit(_one_step(model))
    num_steps = 20
    if isinstance(model, AbstractDiscreteModel):
        trajectory = iterate(model, x0, num_steps)
        expected, x = [], x0
        for _ in range(num_steps):
            x = step(x)
            expected.append(np.asarray(x))
        np.testing.assert_allclose(np.asarray(trajectory.states), expected, rtol=1e-12)
        return
    h = 0.01
    options = SimulationOptions(solver="rk4", dt=h, rtol=None, atol=None)
    ts = h * np.arange(num_steps + 1)
    trajectory = simulate(model, x0, jnp.asarray(ts), options=options)
    expected, x = [np.asarray(x0)], np.asarray(x0)
    for _ in range(num_steps):
        k1 = np.asarray(step(jnp.asarray(x)))
        k2 = np.asarray(step(jnp.asarray(x + h / 2 * k1)))
        k3 = np.asarray(step(jnp.asarray(x + h / 2 * k2)))
        k4 = np.asarray(step(jnp.asarray(x + h * k3)))
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        expected.append(x)
    np.testing.assert_allclose(np.asarray(trajectory.states), expected, rtol=1e-11, atol=1e-12)


def test_serialisation_round_trip(member, key, tmp_path):
    model = member.build(key)
    path = tmp_path / "model.eqx"
    eqx.tree_serialise_leaves(path, model)
    skeleton = member.other(key)
    loaded = eqx.tree_deserialise_leaves(path, skeleton)
    original_leaves, loaded_leaves = jtu.tree_leaves(model), jtu.tree_leaves(loaded)
    assert len(original_leaves) == len(loaded_leaves)
    for a, b in zip(original_leaves, loaded_leaves, strict=True):
        assert type(a) is type(b)
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert jtu.tree_structure(loaded) == jtu.tree_structure(skeleton)
    if isinstance(model, ODESystem):
        return  # its function is static: not serialised, taken from the skeleton
    state = member.scale * jnp.linspace(-1.0, 1.0, model.state_size)
    np.testing.assert_array_equal(
        np.asarray(_one_step(loaded)(state)), np.asarray(_one_step(model)(state))
    )


# RateRNN: construction, formula, initialisation statistics, bad input.


def test_rate_rnn_vector_field_and_readout_match_formula(key):
    n, tau = 8, 0.3
    network_key, state_key = jr.split(key)
    network = RateRNN(n, gain=1.2, tau=tau, input_size=2, output_size=3, key=network_key)
    h = np.asarray(jr.normal(state_key, (n,)))
    weights = np.asarray(network.recurrent_weights)
    input_weights = np.asarray(network.input_weights)
    readout_weights = np.asarray(network.readout_weights)
    assert input_weights.shape == (n, 2) and readout_weights.shape == (3, n)
    u = np.array([0.3, -1.0])
    expected = (-h + weights @ np.tanh(h) + input_weights @ u) / tau
    actual = network.vector_field(0.0, jnp.asarray(h), lambda t: jnp.asarray(u))
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-13)
    autonomous = network.vector_field(0.0, jnp.asarray(h), None)
    np.testing.assert_allclose(np.asarray(autonomous), (-h + weights @ np.tanh(h)) / tau)
    np.testing.assert_allclose(
        np.asarray(network.readout(jnp.asarray(h))), readout_weights @ np.tanh(h), rtol=1e-13
    )
    with pytest.raises(rnnlab.InvalidInputError, match="no readout"):
        RateRNN(n, gain=1.0, key=key).readout(jnp.asarray(h))


@pytest.mark.parametrize("self_coupling", [True, False])
def test_rate_rnn_weight_statistics(self_coupling, key):
    # J_ij ~ N(0, g^2 / N): sample mean and std of the N^2 (or N^2 - N) entries.
    n, gain = 300, 1.7
    weights = np.asarray(
        RateRNN(n, gain=gain, key=key, self_coupling=self_coupling).recurrent_weights
    )
    assert weights.dtype == np.float64
    diagonal = np.diagonal(weights)
    if self_coupling:
        entries = weights.ravel()
        assert np.all(diagonal != 0.0)
    else:
        np.testing.assert_array_equal(diagonal, 0.0)
        entries = weights[~np.eye(n, dtype=bool)]
    sigma = gain / np.sqrt(n)
    assert abs(entries.mean()) < 5 * sigma / np.sqrt(entries.size)
    np.testing.assert_allclose(entries.std(), sigma, rtol=0.01)


def test_rate_rnn_vmaps_over_networks(key):
    # Networks built from a batch of keys and vmapped: each row equals its own network.
    keys = jr.split(key, 3)
    networks = eqx.filter_vmap(lambda k: RateRNN(6, gain=1.5, key=k))(keys)
    assert networks.recurrent_weights.shape == (3, 6, 6)
    state = jnp.linspace(-1.0, 1.0, 6)
    batched = eqx.filter_vmap(lambda m: m.vector_field(0.0, state, None))(networks)
    for i, k in enumerate(keys):
        single = RateRNN(6, gain=1.5, key=k).vector_field(0.0, state, None)
        np.testing.assert_allclose(np.asarray(batched[i]), np.asarray(single), rtol=1e-14)


def test_random_normal_is_fan_in_scaled(key):
    weights = np.asarray(random_normal(key, (200, 50)))
    np.testing.assert_allclose(weights.var(), 1.0 / 50, rtol=0.03)


def test_rate_rnn_is_deterministic_in_its_key(key):
    a, b = RateRNN(5, gain=1.0, key=key), RateRNN(5, gain=1.0, key=key)
    c = RateRNN(5, gain=1.0, key=jr.fold_in(key, 7))
    np.testing.assert_array_equal(np.asarray(a.recurrent_weights), np.asarray(b.recurrent_weights))
    assert not np.array_equal(np.asarray(a.recurrent_weights), np.asarray(c.recurrent_weights))


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        (dict(hidden_size=0, gain=1.0), "hidden_size=0"),
        (dict(hidden_size=-3, gain=1.0), "hidden_size=-3"),
        (dict(hidden_size=2.5, gain=1.0), "hidden_size=2.5"),
        (dict(hidden_size=10, gain=0.0), "gain=0.0"),
        (dict(hidden_size=10, gain=-1.5), "gain=-1.5"),
        (dict(hidden_size=10, gain=float("nan")), "gain=nan"),
        (dict(hidden_size=10, gain=1.0, tau=0.0), "tau=0.0"),
        (dict(hidden_size=10, gain=1.0, input_size=-1), "input_size=-1"),
    ],
)
def test_rate_rnn_rejects_bad_input(kwargs, named, key):
    with pytest.raises(rnnlab.InvalidInputError, match=re.escape(named)):
        RateRNN(key=key, **kwargs)


def test_ode_system_rejects_bad_dimension():
    with pytest.raises(rnnlab.InvalidInputError, match="dimension=0"):
        ODESystem(lambda t, x, args: x, dimension=0)
