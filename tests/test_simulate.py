"""Integrators: convergence orders, scipy as a second implementation, divergence."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import rnnlab
from rnnlab.models import RateRNN, SimulationOptions, iterate, simulate, step_map
from rnnlab.systems import GROUND_TRUTH, Henon, Lorenz, ODESystem, ground_truth


def _fixed(solver: str, dt: float) -> SimulationOptions:
    return SimulationOptions(solver=solver, dt=dt, rtol=None, atol=None)


def _lorenz_numpy(t, state, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, y, z = state
    return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]


HARMONIC = ODESystem(lambda t, x, args: jnp.stack([x[1], -x[0]]), dimension=2)


@pytest.mark.parametrize(("solver", "order"), [("heun", 2), ("rk4", 4)])
def test_fixed_step_convergence_order(solver, order):
    # x'' = -x from (1, 0): exact (cos t, -sin t). Error ~ C dt^order.
    t1 = 10.0
    exact = np.array([np.cos(t1), -np.sin(t1)])
    errors = []
    for dt in (0.1, 0.05):
        trajectory = simulate(
            HARMONIC, jnp.array([1.0, 0.0]), jnp.array([0.0, t1]), options=_fixed(solver, dt)
        )
        assert bool(trajectory.finite)
        errors.append(np.linalg.norm(np.asarray(trajectory.states[-1]) - exact))
    observed = np.log2(errors[0] / errors[1])
    np.testing.assert_allclose(observed, order, atol=0.15)


def test_saved_grid_and_linear_solution(key):
    # x' = A x: x(t) = expm(A t) x0, checked at every saved time.
    from scipy.linalg import expm

    matrix = np.asarray(jr.normal(key, (3, 3))) / np.sqrt(3.0) - np.eye(3)
    a = jnp.asarray(matrix)
    system = ODESystem(lambda t, x, args: a @ x, dimension=3)
    ts = np.linspace(0.0, 3.0, 7)
    x0 = np.array([1.0, -0.5, 2.0])
    trajectory = simulate(system, jnp.asarray(x0), jnp.asarray(ts), options=_fixed("rk4", 1e-3))
    np.testing.assert_allclose(np.asarray(trajectory.ts), ts, rtol=0, atol=1e-12)
    expected = np.stack([expm(matrix * t) @ x0 for t in ts])
    np.testing.assert_allclose(np.asarray(trajectory.states), expected, rtol=1e-9, atol=1e-11)


def test_adaptive_tsit5_matches_scipy_dop853_on_lorenz():
    ts = np.linspace(0.0, 2.0, 21)
    x0 = np.array([1.0, 1.0, 1.0])
    reference = solve_ivp(
        _lorenz_numpy, (0.0, 2.0), x0, method="DOP853", t_eval=ts, rtol=1e-12, atol=1e-12
    ).y.T
    options = SimulationOptions(solver="tsit5", dt=1e-3, rtol=1e-10, atol=1e-10)
    trajectory = simulate(Lorenz(), jnp.asarray(x0), jnp.asarray(ts), options=options)
    assert bool(trajectory.finite)
    np.testing.assert_allclose(np.asarray(trajectory.states), reference, rtol=1e-6, atol=1e-6)


def test_ground_truth_matches_scipy():
    assert GROUND_TRUTH.solver == "dopri8"
    ts = np.linspace(0.0, 1.0, 11)
    x0 = np.array([-3.0, 2.0, 20.0])
    reference = solve_ivp(
        _lorenz_numpy, (0.0, 1.0), x0, method="DOP853", t_eval=ts, rtol=1e-13, atol=1e-13
    ).y.T
    trajectory = ground_truth(Lorenz(), jnp.asarray(x0), jnp.asarray(ts))
    np.testing.assert_allclose(np.asarray(trajectory.states), reference, rtol=1e-8, atol=1e-8)


def test_rate_rnn_with_input_matches_scipy(key):
    # tau h' = -h + J tanh(h) + B u(t), u(t) = (sin t, cos 2t): the input path of args.
    n, tau = 10, 0.7
    network_key, state_key = jr.split(key)
    network = RateRNN(n, gain=1.5, tau=tau, input_size=2, key=network_key)
    weights = np.asarray(network.recurrent_weights)
    input_weights = np.asarray(network.input_weights)

    def drive(t):
        return jnp.stack([jnp.sin(t), jnp.cos(2.0 * t)])

    def numpy_field(t, h):
        u = np.array([np.sin(t), np.cos(2.0 * t)])
        return (-h + weights @ np.tanh(h) + input_weights @ u) / tau

    h0 = np.asarray(jr.normal(state_key, (n,)))
    ts = np.linspace(0.0, 5.0, 11)
    reference = solve_ivp(
        numpy_field, (0.0, 5.0), h0, method="DOP853", t_eval=ts, rtol=1e-12, atol=1e-12
    ).y.T
    # RK4 at dt = 2.5e-3: global error ~ dt^4 ~ 1e-10.
    trajectory = simulate(
        network, jnp.asarray(h0), jnp.asarray(ts), args=drive, options=_fixed("rk4", 2.5e-3)
    )
    np.testing.assert_allclose(np.asarray(trajectory.states), reference, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize(
    "options", [pytest.param(SimulationOptions(), marks=pytest.mark.slow), _fixed("rk4", 0.01)]
)
def test_divergence_is_reported_then_raised(options):
    # x' = x^2 from 1: x = 1 / (1 - t), infinite at t = 1.
    blow_up = ODESystem(lambda t, x, args: x**2, dimension=1)
    ts = jnp.linspace(0.0, 2.0, 11)
    trajectory = simulate(blow_up, jnp.ones(1), ts, options=options)
    assert not bool(trajectory.finite)
    states = np.asarray(trajectory.states)[:, 0]
    np.testing.assert_allclose(states[:4], 1.0 / (1.0 - np.asarray(ts[:4])), rtol=1e-5)
    assert not np.all(np.isfinite(states[6:]))
    assert not np.any(np.isinf(states))  # non-finite values are reported as NaN
    with pytest.raises(rnnlab.DivergenceError, match="diverged"):
        trajectory.raise_if_diverged()


def test_finite_run_does_not_raise():
    # (same configuration as the RK4 order test, so the compiled solve is reused)
    trajectory = simulate(
        HARMONIC, jnp.array([0.0, 1.0]), jnp.array([0.0, 10.0]), options=_fixed("rk4", 0.1)
    )
    assert trajectory.raise_if_diverged() is trajectory
    np.testing.assert_allclose(
        np.asarray(trajectory.states[-1]), [np.sin(10.0), np.cos(10.0)], atol=1e-4
    )


def test_iterate_henon_matches_numpy_loop():
    henon = Henon()
    num_steps = 30  # chaos amplifies rounding by ~e^(0.42 n): keep n small.
    trajectory = iterate(henon, jnp.array([0.1, 0.2]), num_steps)
    x, y = 0.1, 0.2
    expected = []
    for _ in range(num_steps):
        x, y = 1.0 - henon.a * x * x + y, henon.b * x
        expected.append((x, y))
    np.testing.assert_allclose(np.asarray(trajectory.states), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(np.asarray(trajectory.ts), np.arange(1, num_steps + 1))
    assert bool(trajectory.finite)


def test_iterate_reports_divergence():
    # Henon from far outside the basin escapes to infinity.
    trajectory = iterate(Henon(), jnp.array([10.0, 0.0]), 20)
    assert not bool(trajectory.finite)
    with pytest.raises(rnnlab.DivergenceError):
        trajectory.raise_if_diverged("Henon")


def test_rk4_step_map_is_the_classical_formula():
    lorenz = Lorenz()
    step, time_per_step = step_map(lorenz, dt=0.01, solver="rk4")
    assert time_per_step == 0.01
    step = jax.jit(step)
    x0 = np.array([1.0, 2.0, 20.0])
    h = 0.01

    def f(x):
        return np.array(_lorenz_numpy(0.0, x))

    k1 = f(x0)
    k2 = f(x0 + h / 2 * k1)
    k3 = f(x0 + h / 2 * k2)
    k4 = f(x0 + h * k3)
    expected = x0 + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    actual = np.asarray(step(jnp.zeros(()), jnp.asarray(x0)))
    np.testing.assert_allclose(actual, expected, rtol=1e-14)
    # The tangent of the step is the derivative of the formula (forward mode through it).
    tangent = np.asarray(jax.jacfwd(lambda x: step(jnp.zeros(()), x))(jnp.asarray(x0)))
    eps = 1e-6
    numeric = np.stack(
        [
            (
                np.asarray(step(jnp.zeros(()), jnp.asarray(x0 + eps * e)))
                - np.asarray(step(jnp.zeros(()), jnp.asarray(x0 - eps * e)))
            )
            / (2 * eps)
            for e in np.eye(3)
        ],
        axis=1,
    )
    np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-8)


def test_step_map_of_a_discrete_model_is_the_map():
    step, time_per_step = step_map(Henon())
    assert time_per_step == 1.0
    x, y = 0.3, -0.1
    np.testing.assert_allclose(
        np.asarray(step(0.0, jnp.array([x, y]))), [1.0 - 1.4 * x * x + y, 0.3 * x], rtol=1e-15
    )


def test_options_and_step_map_reject_bad_input():
    with pytest.raises(rnnlab.InvalidInputError, match="solver='rk5'"):
        SimulationOptions(solver="rk5")
    with pytest.raises(rnnlab.InvalidInputError, match="dt=0"):
        SimulationOptions(dt=0.0)
    with pytest.raises(rnnlab.InvalidInputError, match="both rtol and atol"):
        SimulationOptions(rtol=1e-6, atol=None)
    with pytest.raises(rnnlab.InvalidInputError, match="ODESystem"):
        step_map(lambda x: x)
    with pytest.raises(rnnlab.InvalidInputError, match="dt=-0.1"):
        step_map(Lorenz(), dt=-0.1)
