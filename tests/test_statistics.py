"""Participation ratio and autocorrelation against numpy and exact Gaussian processes."""

import numpy as np
import pytest

from rnnlab.analysis import autocorrelation, participation_ratio


def test_participation_ratio_of_a_line_is_one(seed):
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=7)
    data = rng.normal(size=(500, 1)) * direction[None, :] + rng.normal(size=7)[None, :]
    np.testing.assert_allclose(participation_ratio(data), 1.0, rtol=1e-10)


def test_participation_ratio_of_isotropic_gaussian_is_dimension(seed):
    # Sample covariance of T samples: E[PR] ~ d (1 - d / T); T = 20000, d = 10.
    rng = np.random.default_rng(seed)
    dim = 10
    np.testing.assert_allclose(participation_ratio(rng.normal(size=(20_000, dim))), dim, rtol=0.02)


@pytest.mark.parametrize("shape", [(400, 6), (5, 40)])
def test_participation_ratio_equals_eigenvalue_formula(shape, seed):
    # Both branches (more samples than dimensions, and fewer) against numpy's eigenvalues
    # of the covariance: (sum mu)^2 / sum mu^2.
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(shape[1], shape[1])) * np.linspace(0.1, 2.0, shape[1])
    data = rng.normal(size=shape) @ mixing + 3.0
    mu = np.linalg.eigvalsh(np.cov(data, rowvar=False))
    np.testing.assert_allclose(participation_ratio(data), mu.sum() ** 2 / np.sum(mu**2), rtol=1e-9)


def test_participation_ratio_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        participation_ratio(np.zeros(10))
    with pytest.raises(ValueError, match="shape"):
        participation_ratio(np.zeros((1, 4)))


def test_autocorrelation_values_match_direct_sum(seed):
    # C(k) = mean over units of sum_t dx(t) dx(t+k) / (n - k), dx = x - mean.
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(50, 3)).cumsum(axis=0)
    result = autocorrelation(data, dt=0.2)
    centred = data - data.mean(axis=0)
    n = len(data)
    direct = np.array(
        [np.mean(np.sum(centred[: n - k] * centred[k:], axis=0)) / (n - k) for k in range(n)]
    )
    np.testing.assert_allclose(result.values, direct, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result.lags, 0.2 * np.arange(n), rtol=1e-15)
    short = autocorrelation(data, dt=0.2, max_lag=1.0)
    np.testing.assert_allclose(short.lags, 0.2 * np.arange(6), rtol=1e-15)
    np.testing.assert_allclose(short.values, direct[:6], rtol=1e-10)


def test_autocorrelation_of_a_cosine():
    # A pure cosine of period P: normalised C(k) -> cos(2 pi k dt / P); first zero at P / 4,
    # so the integral is P / (2 pi) and the e-fold time is P arccos(1/e) / (2 pi).
    period, dt = 10.0, 0.01
    t = dt * np.arange(200_000)
    data = np.cos(2 * np.pi * t / period)[:, None]
    result = autocorrelation(data, dt, max_lag=3 * period)
    np.testing.assert_allclose(result.integral_time, period / (2 * np.pi), rtol=2e-3)
    np.testing.assert_allclose(
        result.efold_time, period * np.arccos(np.exp(-1)) / (2 * np.pi), rtol=2e-3
    )


@pytest.mark.parametrize("time_constant", [0.5, 2.0])
def test_ornstein_uhlenbeck_timescales(time_constant, seed):
    # Exact AR(1) discretisation of dx = -x / T dt + noise: x' = a x + sqrt(1 - a^2) xi,
    # a = exp(-dt / T). C(tau) = exp(-tau / T): integral time and e-fold time are both T.
    rng = np.random.default_rng(seed)
    dt, num_steps, num_units = 0.05, 40_000, 10
    a = np.exp(-dt / time_constant)
    noise = np.sqrt(1.0 - a * a) * rng.normal(size=(num_steps, num_units))
    x = np.empty((num_steps, num_units))
    x[0] = rng.normal(size=num_units)
    for i in range(1, num_steps):
        x[i] = a * x[i - 1] + noise[i]
    result = autocorrelation(x, dt, max_lag=20 * time_constant)
    np.testing.assert_allclose(result.values[0], 1.0, rtol=0.05)
    np.testing.assert_allclose(result.integral_time, time_constant, rtol=0.15)
    np.testing.assert_allclose(result.efold_time, time_constant, rtol=0.15)


def test_autocorrelation_without_an_efold_crossing():
    # A linear ramp's correlation stays above 1/e within max_lag: no e-fold time.
    n = 1000
    data = np.linspace(0.0, 1.0, n)[:, None]
    result = autocorrelation(data, dt=1.0, max_lag=10.0)
    assert np.isnan(result.efold_time)
    # No zero crossing either: the integral runs over the whole window [0, 10].
    centred = data[:, 0] - data.mean()
    direct = np.array([centred[: n - k] @ centred[k:] / (n - k) for k in range(11)])
    expected = np.trapezoid(direct / direct[0], dx=1.0)
    assert 9.5 < expected < 10.0
    np.testing.assert_allclose(result.integral_time, expected, rtol=1e-10)
