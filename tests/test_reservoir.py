"""ControlledReservoir: rest state, construction, closed loop, joint RK4 drive, readout."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from rnnlab import InvalidInputError
from rnnlab.analysis import jacobian
from rnnlab.learning import ReadoutOptions, fit_readout
from rnnlab.models import (
    ControlledReservoir,
    DrivenReservoir,
    ReservoirInit,
    ReservoirInputs,
    SimulationOptions,
    check_step_size,
    ramp_schedule,
    simulate,
    step_map,
)
from rnnlab.systems import Lorenz, Translated, make_examples, rk4_input_stages

RK4 = SimulationOptions(solver="rk4", dt=1e-3, rtol=None, atol=None)


@pytest.fixture(scope="module")
def small():
    return ControlledReservoir.random(
        key=jr.key(1), hidden_size=80, init=ReservoirInit(input_scaling=0.02)
    )


def test_paper_construction_and_rest_fixed_point(key):
    net = ControlledReservoir.random(key=key)  # N = 450, the paper's defaults
    a = np.asarray(net.recurrent_weights)
    assert np.max(np.linalg.eigvals(a).real) == pytest.approx(0.95, abs=1e-10)
    assert np.mean(a != 0) == pytest.approx(0.1, abs=0.005)
    assert np.abs(np.asarray(net.input_weights)).max() <= 0.008
    assert np.abs(np.asarray(net.control_weights)).max() <= 0.004
    rest = np.abs(np.asarray(net.rest_state))
    assert rest.min() >= 0.8 and rest.max() < 1.0
    # r* is a fixed point at zero input and control: d = atanh(r*) - A r*
    speed = net.vector_field(0.0, net.rest_state, ReservoirInputs(jnp.zeros(3), jnp.zeros(1)))
    assert float(jnp.abs(speed).max()) < 1e-10 * net.rate


def test_rest_point_at_nonzero_rest_input(small):
    x_star, c_star = jnp.array([1.0, -2.0, 3.0]), jnp.array([0.5])
    net = ControlledReservoir(
        small.recurrent_weights,
        small.input_weights,
        small.control_weights,
        small.rest_state,
        rest_input=x_star,
        rest_control=c_star,
    )
    speed = net.vector_field(0.0, net.rest_state, ReservoirInputs(x_star, c_star))
    assert float(jnp.abs(speed).max()) < 1e-10
    assert float(jnp.abs(net.vector_field(0.0, net.rest_state, None)).max()) < 1e-10


def test_closed_loop_equals_driven_with_own_output(small, key):
    readout = 5.0 * jr.normal(key, (3, 80))
    loop = small.close_loop(readout)
    r = 0.5 * jr.normal(jr.key(7), (80,))
    c = jnp.array([1.5])
    driven = small.vector_field(0.0, r, ReservoirInputs(readout @ r, c))
    np.testing.assert_allclose(loop.vector_field(0.0, r, c), driven, rtol=1e-12, atol=1e-12)
    # ... and along a trajectory with a control ramp: RK4 of the closed loop equals RK4 of
    # the open network whose input at every stage is its own readout W r_stage.
    schedule = ramp_schedule(0.0, [(2.0, 0.05)])
    closed = simulate(loop, r, jnp.linspace(0.0, 0.05, 6), args=schedule, options=RK4)

    def fed_back(t, state, args):
        return small.vector_field(t, state, ReservoirInputs(readout @ state, schedule))

    from rnnlab.systems import ODESystem

    reference = simulate(
        ODESystem(fed_back, dimension=80), r, jnp.linspace(0.0, 0.05, 6), options=RK4
    )
    np.testing.assert_allclose(closed.states, reference.states, atol=1e-12)


def test_closed_loop_jacobian_is_the_analytic_one(small, key):
    """The closed loop is an ordinary model: analysis.jacobian gives
    gamma (-I + diag(1 - tanh^2(M r + C c + d)) M) with M = A + B W."""
    readout = jr.normal(key, (3, 80))
    loop = small.close_loop(readout)
    r, c = 0.3 * jr.normal(jr.key(3), (80,)), jnp.array([0.7])
    m = np.asarray(small.recurrent_weights + small.input_weights @ readout)
    pre = m @ np.asarray(r) + np.asarray(small.control_weights @ c + small.bias)
    expected = small.rate * (-np.eye(80) + (1 - np.tanh(pre) ** 2)[:, None] * m)
    np.testing.assert_allclose(jacobian(loop, r, args=c), expected, atol=1e-10)


def test_joint_rk4_equals_the_authors_stage_feed(small):
    """Joint RK4 of (z, r) = the authors' RK4 of r fed the stored RK4 stages of x; linear
    interpolation of x at the half step (pitfall P2) differs by orders of magnitude more."""
    source = Translated(Lorenz(), jnp.array([1.0, 0.0, 0.0]))
    c, h, steps = jnp.array([2.0]), 1e-3, 200
    z0 = jnp.array([1.0, 2.0, 20.0])
    stages, _ = rk4_input_stages(source, z0, c, dt=h, num_steps=steps)
    ends = jnp.concatenate([stages[1:, 0], stages[-1:, 3]])  # x at every step end

    def reservoir_rk4(stage_inputs):
        def body(r, xs):
            f = lambda state, x: small.drive(state, x, c)
            k1 = f(r, xs[0])
            k2 = f(r + h / 2 * k1, xs[1])
            k3 = f(r + h / 2 * k2, xs[2])
            k4 = f(r + h * k3, xs[3])
            return r + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

        return jax.lax.scan(body, small.rest_state, stage_inputs)[0]

    authors = reservoir_rk4(stages)
    driven = DrivenReservoir(small, source)
    step, _ = step_map(driven, dt=h, solver="rk4", args=c)
    joint = jax.lax.fori_loop(
        0, steps, lambda i, s: step(0.0, s), jnp.concatenate([z0, small.rest_state])
    )
    np.testing.assert_allclose(driven.split(joint)[1], authors, atol=1e-12)
    starts = stages[:, 0]
    middle = 0.5 * (starts + ends)
    interpolated = reservoir_rk4(jnp.stack([starts, middle, middle, ends], axis=1))
    assert float(jnp.abs(interpolated - authors).max()) > 1e3 * float(
        jnp.abs(driven.split(joint)[1] - authors).max() + 1e-15
    )


def test_readout_pairs_state_k_with_input_k_and_reproduces_the_input(small):
    """fit_readout equals numpy lstsq on the explicitly simulated states (state after k
    steps paired with the input after k steps), and W r reproduces the training input."""
    source = Translated(Lorenz(), jnp.array([1.0, 0.0, 0.0]))
    examples = make_examples(source, jnp.array([1.0, 2.0, 20.0]), jnp.array([0.0, 1.0]))
    options = ReadoutOptions(washout=0.2, train_time=0.8, chunk_steps=300, rcond=1e-8)
    fit = fit_readout(small, source, examples, options=options)

    driven = DrivenReservoir(small, source)
    states, inputs = [], []
    r = jnp.zeros(80)
    for z0, c in zip(examples.initial_states, examples.controls, strict=True):
        ts = jnp.arange(1001, dtype=jnp.float64) * 1e-3
        joint = simulate(driven, jnp.concatenate([z0, r]), ts, args=c, options=RK4).states
        z, rs = driven.split(joint)
        states.append(rs[201:])  # steps 201 ... 1000, after a washout of 200 steps
        inputs.append(np.asarray(z[201:]) + np.asarray(c)[0] * np.array([1.0, 0.0, 0.0]))
        r = rs[-1]
    states, inputs = np.concatenate(states), np.concatenate(inputs)
    reference, *_ = np.linalg.lstsq(states, inputs, rcond=1e-8)
    error = np.linalg.norm(np.asarray(fit.weights) - reference.T) / np.linalg.norm(reference)
    assert error < 1e-6
    np.testing.assert_allclose(fit.final_states[-1], r, atol=1e-12)
    prediction = states @ np.asarray(fit.weights).T
    relative_rms = np.sqrt(np.mean((prediction - inputs) ** 2)) / np.std(inputs)
    assert relative_rms < 1e-3
    assert float(fit.rms_error) == pytest.approx(
        np.sqrt(np.mean((prediction - inputs) ** 2)), rel=1e-6
    )
    # Another cutoff from the same factor equals lstsq at that cutoff.
    loose = fit.resolve(rcond=1e-4)
    reference, *_ = np.linalg.lstsq(states, inputs, rcond=1e-4)
    error = np.linalg.norm(np.asarray(loose.weights) - reference.T) / np.linalg.norm(reference)
    assert error < 1e-6 and int(loose.rank) < int(fit.solution.rank)
    # Same inputs, same bits.
    again = fit_readout(small, source, examples, options=options)
    np.testing.assert_array_equal(np.asarray(again.weights), np.asarray(fit.weights))


def test_bad_input(small):
    a, b, c, r = (
        small.recurrent_weights,
        small.input_weights,
        small.control_weights,
        small.rest_state,
    )
    with pytest.raises(InvalidInputError, match="must be square"):
        ControlledReservoir(a[:, :10], b, c, r)
    with pytest.raises(InvalidInputError, match="input_weights has shape"):
        ControlledReservoir(a, b[:10], c, r)
    with pytest.raises(InvalidInputError, match="non-finite"):
        ControlledReservoir(a, b.at[0, 0].set(jnp.nan), c, r)
    with pytest.raises(InvalidInputError, match="strictly inside"):
        ControlledReservoir(a, b, c, r.at[0].set(1.0))
    with pytest.raises(InvalidInputError, match="rate"):
        ControlledReservoir(a, b, c, r, rate=-1.0)
    with pytest.raises(InvalidInputError, match="readout_weights has shape"):
        small.close_loop(jnp.ones((2, 80)))
    with pytest.raises(InvalidInputError, match="too large"):
        check_step_size(100.0, 0.05, "rk4")
    with pytest.raises(InvalidInputError, match="connectivity"):
        ReservoirInit(connectivity=0.0)
    with pytest.raises(InvalidInputError, match="hidden_size"):
        ControlledReservoir.random(key=jr.key(0), hidden_size=0)
    with pytest.raises(InvalidInputError, match="cannot be scaled"):
        from rnnlab.models import scale_to_max_real_eigenvalue

        scale_to_max_real_eigenvalue(-jnp.eye(3), 0.95)
    with pytest.raises(InvalidInputError, match="schedule target"):
        ramp_schedule(0.0, [(jnp.ones(2), 1.0)])
    source = Translated(Lorenz(), jnp.array([1.0, 0.0, 0.0]))
    examples = make_examples(source, jnp.ones(3), jnp.array([0.0]))
    with pytest.raises(InvalidInputError, match="too large"):
        fit_readout(small, source, examples, options=ReadoutOptions(dt=0.05))
