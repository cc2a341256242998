"""SCS mean-field theory against quadrature, series expansions and simulation."""

import functools
import math

import jax.random as jr
import numpy as np
import pytest
from scipy.integrate import dblquad, quad

import rnnlab
from rnnlab.analysis import LyapunovOptions, max_lyapunov
from rnnlab.models import RateRNN, SimulationOptions, simulate
from rnnlab.theory import (
    DMFTOptions,
    GaussHermite,
    gaussian_mean,
    pair_correlation,
    scs_dmft,
    scs_lyapunov_max,
    self_consistent_variance,
)


@functools.cache
def _solution(gain: float, max_lag: float = 60.0):
    return scs_dmft(gain, options=DMFTOptions(max_lag=max_lag))


def _normal_expectation(f, variance: float) -> float:
    """E[f(sqrt(v) z)] by adaptive quadrature (independent of Gauss-Hermite)."""

    def integrand(z):
        return f(math.sqrt(variance) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    value, _ = quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-13, limit=200)
    return value


def _sech_squared(x):
    """sech^2 without overflow: (2 e^-|x| / (1 + e^-2|x|))^2."""
    e = np.exp(-np.abs(x))
    return (2.0 * e / (1.0 + e * e)) ** 2


def _log_cosh(x: float) -> float:
    x = abs(x)
    return x + math.log1p(math.exp(-2 * x)) - math.log(2.0)


@pytest.mark.parametrize("gain", [0.3, 0.8, 1.0])
@pytest.mark.parametrize("tau", [1.0, 2.5])
def test_quiescent_phase_is_exact(gain, tau):
    # g <= 1: Delta = q = 0, E_0 = 1 - g^2 and lambda_max = (g - 1) / tau exactly.
    solution = scs_dmft(gain, tau=tau)
    assert solution.variance == 0.0
    np.testing.assert_array_equal(solution.autocorrelation, 0.0)
    assert solution.lyapunov_max == pytest.approx((gain - 1.0) / tau, abs=1e-15)
    assert solution.ground_energy == pytest.approx(1.0 - gain**2, abs=1e-15)
    assert scs_lyapunov_max(gain, tau=tau) == pytest.approx((gain - 1.0) / tau, abs=1e-15)


@pytest.mark.parametrize(
    ("gain", "num_nodes", "rtol"),
    [(1.5, 80, 1e-10), (2.0, 80, 1e-7), (3.0, 80, 1e-4), (3.0, 200, 1e-8)],
)
def test_variance_satisfies_energy_balance(gain, num_nodes, rtol):
    # q^2 / 2 = g^2 (E[Phi^2] - E[Phi]^2), Phi = ln cosh, with E by scipy.integrate.quad.
    # Gauss-Hermite converges slowly for ln cosh(sqrt(q) z) at large q (its complex
    # singularities approach the real axis as pi / (2 sqrt(q))): error grows with the gain.
    q = self_consistent_variance(gain, GaussHermite(num_nodes))
    assert q > 0
    mean = _normal_expectation(_log_cosh, q)
    second = _normal_expectation(lambda x: _log_cosh(x) ** 2, q)
    np.testing.assert_allclose(q**2 / 2, gain**2 * (second - mean**2), rtol=rtol)


@pytest.mark.parametrize("gain", [1.001, 1.01, 1.03])
def test_variance_onset_is_continuous(gain):
    # Expanding Var[ln cosh(sqrt(q) z)] = q^2/2 - q^3 + 8 q^4 / 3 + O(q^5) in the energy
    # balance gives 1 - 2q + 16 q^2 / 3 = g^-2 + O(q^3): q ~ (1 - g^-2) / 2 -> 0 as g -> 1+.
    a, b, c = 16.0 / 3.0, -2.0, 1.0 - gain**-2
    series = (-b - math.sqrt(b * b - 4 * a * c)) / (2 * a)
    q = self_consistent_variance(gain)
    np.testing.assert_allclose(q, series, rtol=30 * series**2)
    assert q < 2 * (gain - 1.0)


def test_variance_increases_with_gain():
    gains = [1.05, 1.5, 3.0]
    variances = [self_consistent_variance(g) for g in gains]
    assert np.all(np.diff(variances) > 0)


@pytest.mark.parametrize("delta", [-1.2, -0.4, 0.0, 0.7, 1.49])
@pytest.mark.parametrize("function", [np.tanh, _sech_squared])
def test_pair_correlation_matches_dblquad(delta, function):
    q = 1.5
    c = delta / q
    s = math.sqrt(1.0 - c * c)
    root = math.sqrt(q)

    def integrand(z2, z1):
        density = math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi)
        return function(root * z1) * function(root * (c * z1 + s * z2)) * density

    expected, _ = dblquad(integrand, -9.0, 9.0, -9.0, 9.0, epsabs=1e-11, epsrel=1e-11)
    actual = pair_correlation(function, delta, q)
    assert actual.shape == (1,)
    # 80-node Gauss-Hermite: ~1e-8 relative for these smooth functions.
    np.testing.assert_allclose(actual[0], expected, rtol=1e-6, atol=1e-10)


def test_pair_correlation_limits():
    q = 2.0
    # Delta = q: E[f(x)^2]; Delta = 0: E[f(x)]^2 (independent copies).
    second = _normal_expectation(lambda x: math.tanh(x) ** 2, q)
    sech2_mean = _normal_expectation(_sech_squared, q)
    np.testing.assert_allclose(pair_correlation(np.tanh, q, q), [second], rtol=1e-6)
    np.testing.assert_allclose(pair_correlation(_sech_squared, 0.0, q), [sech2_mean**2], rtol=1e-6)
    # q = 0: f(0)^2 for every Delta.
    np.testing.assert_array_equal(
        pair_correlation(lambda x: np.cosh(x), np.array([0.0, 0.0]), 0.0), [1.0, 1.0]
    )
    np.testing.assert_allclose(gaussian_mean(lambda x: x**4, 0.7), 3 * 0.7**2, rtol=1e-12)


def test_autocorrelation_decays_from_q_to_zero_and_solves_the_dmft_equation():
    gain = 2.0
    solution = _solution(gain)
    q, delta, lags = solution.variance, solution.autocorrelation, solution.lags
    np.testing.assert_allclose(delta[0], q, rtol=1e-10)
    assert np.all(np.diff(delta) <= 1e-14 * q)
    assert delta[-1] < 1e-6 * q
    np.testing.assert_allclose(np.diff(lags), DMFTOptions().lag_step, rtol=1e-9)
    # Delta'' = Delta - g^2 C_tanh(Delta; q) (pair_correlation checked against dblquad),
    # by central differences on the part of the grid where Delta is not negligible.
    h = lags[1] - lags[0]
    inner = slice(1, int(15.0 / h))
    second_derivative = delta[2 : inner.stop + 1] - 2 * delta[inner] + delta[: inner.stop - 1]
    second_derivative /= h**2
    right = delta[inner] - gain**2 * pair_correlation(np.tanh, delta[inner], q)
    np.testing.assert_allclose(second_derivative, right, atol=1e-4 * q)


def test_lyapunov_max_onset():
    # lambda_max -> 0+ as g -> 1+, and increases with g.
    near = _solution(1.05)
    assert 0.0 < near.lyapunov_max < 0.005
    assert near.ground_energy < 0.0
    values = [near.lyapunov_max, _solution(1.5).lyapunov_max, _solution(2.0).lyapunov_max]
    assert np.all(np.diff(values) > 0)
    # A window long enough for the slow decay of Delta near the onset:
    longer = _solution(1.05, max_lag=300.0)
    assert longer.autocorrelation[-1] < 1e-3 * longer.variance
    assert 0.0 < longer.lyapunov_max < 0.005


def test_default_window_resolves_the_onset():
    """The window widens with the correlation time, so lambda_max > 0 just above g = 1."""
    solution = _solution(1.01)
    assert solution.autocorrelation[-1] < 0.01 * solution.variance
    assert solution.lyapunov_max > 0.0


def test_tau_rescales_time():
    one, two = _solution(2.0), scs_dmft(2.0, tau=2.0)
    np.testing.assert_allclose(two.lyapunov_max, one.lyapunov_max / 2.0, rtol=1e-12)
    np.testing.assert_allclose(two.lags, 2.0 * one.lags, rtol=1e-12)
    np.testing.assert_allclose(two.autocorrelation, one.autocorrelation, rtol=1e-12)


def test_rejects_bad_gain_and_tau():
    with pytest.raises(rnnlab.InvalidInputError, match="gain=0"):
        scs_dmft(0.0)
    with pytest.raises(rnnlab.InvalidInputError, match="tau=-1"):
        scs_dmft(2.0, tau=-1.0)


def _simulated_lyapunov_and_variance(n, gain, key, t_obs):
    network_key, state_key, frame_key = jr.split(key, 3)
    network = RateRNN(n, gain=gain, key=network_key)
    result = max_lyapunov(
        network,
        jr.normal(state_key, (n,)),
        key=frame_key,
        options=LyapunovOptions(dt=0.1, qr_every=10, t_burn=50.0, t_obs=t_obs),
    )
    trajectory = simulate(
        network,
        result.final_state,
        np.arange(0.0, 60.0, 0.5),
        options=SimulationOptions(solver="rk4", dt=0.1, rtol=None, atol=None),
    ).raise_if_diverged()
    return result.exponents[0], float(np.mean(np.asarray(trajectory.states) ** 2))


def test_dmft_matches_simulation_at_moderate_size(key):
    # N = 500: the finite-size lambda_max lies below the N -> infinity value (by ~14% on
    # average at g = 2.5, spread ~8% over networks and seeds); the variance q = <h^2>
    # agrees within sampling error. The 10% check at N = 1000 is the slow test below.
    gain = 2.5
    theory = _solution(gain)
    lyapunov, variance = _simulated_lyapunov_and_variance(500, gain, key, t_obs=300.0)
    assert 0.65 * theory.lyapunov_max < lyapunov < 1.1 * theory.lyapunov_max
    np.testing.assert_allclose(variance, theory.variance, rtol=0.15)


@pytest.mark.slow
def test_dmft_matches_simulation_at_large_size(key):
    gain = 2.5
    theory = _solution(gain)
    results = [
        _simulated_lyapunov_and_variance(1000, gain, k, t_obs=500.0) for k in jr.split(key, 4)
    ]
    lyapunov, variance = np.mean(results, axis=0)
    np.testing.assert_allclose(lyapunov, theory.lyapunov_max, rtol=0.1)
    np.testing.assert_allclose(variance, theory.variance, rtol=0.1)
