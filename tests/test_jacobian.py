"""Jacobians against hand-derived formulas; eigenvalues against numpy; circular law."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import rnnlab
from rnnlab.analysis import (
    circular_law_radius,
    jacobian,
    jacobian_eigenvalues,
    residual_function,
)
from rnnlab.models import RateRNN
from rnnlab.systems import Henon, Lorenz


def assert_same_multiset(actual, expected, atol):
    """Eigenvalue sets equal up to order (optimal one-to-one matching)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    distance = np.abs(actual[:, None] - expected[None, :])
    rows, cols = linear_sum_assignment(distance)
    assert np.max(distance[rows, cols]) < atol, np.max(distance[rows, cols])


def test_rate_rnn_jacobian_matches_formula(key):
    n, tau = 12, 1.7
    network_key, state_key = jr.split(key)
    network = RateRNN(n, gain=1.5, tau=tau, key=network_key)
    state = 1.5 * jr.normal(state_key, (n,))
    weights, h = np.asarray(network.recurrent_weights), np.asarray(state)
    expected = (-np.eye(n) + weights * (1.0 / np.cosh(h) ** 2)[None, :]) / tau
    np.testing.assert_allclose(np.asarray(jacobian(network, state)), expected, rtol=1e-12)


def test_rate_rnn_eigenvalues_at_origin_are_shifted_weight_eigenvalues(key):
    n, tau = 50, 0.5
    network = RateRNN(n, gain=1.2, tau=tau, key=key)
    expected = np.linalg.eigvals(-np.eye(n) + np.asarray(network.recurrent_weights)) / tau
    actual = jacobian_eigenvalues(network, jnp.zeros(n))
    assert_same_multiset(actual, expected, atol=1e-9)


def test_lorenz_jacobian_matches_formula(key):
    lorenz = Lorenz()
    x, y, z = np.asarray(5.0 * jr.normal(key, (3,)))
    s, r, b = lorenz.sigma, lorenz.rho, lorenz.beta
    expected = np.array([[-s, s, 0.0], [r - z, -1.0, -x], [y, x, -b]])
    actual = jacobian(lorenz, jnp.array([x, y, z]))
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-13, atol=1e-13)
    # trace = divergence = -(sigma + 1 + beta) everywhere
    np.testing.assert_allclose(np.trace(np.asarray(actual)), -(s + 1.0 + b), rtol=1e-13)


def test_henon_jacobian_and_fixed_point_residual():
    henon = Henon()
    a, b = henon.a, henon.b
    # Fixed points: a x^2 + (1 - b) x - 1 = 0, y = b x.
    for x in np.roots([a, 1.0 - b, -1.0]):
        point = jnp.array([x, b * x])
        np.testing.assert_allclose(np.asarray(residual_function(henon)(point)), 0.0, atol=1e-14)
        expected = np.array([[-2.0 * a * x, 1.0], [b, 0.0]])
        np.testing.assert_allclose(np.asarray(jacobian(henon, point)), expected, rtol=1e-13)
        # |det| = b for the map
        np.testing.assert_allclose(abs(np.prod(jacobian_eigenvalues(henon, point))), b, rtol=1e-12)


def test_residual_and_jacobian_reject_non_models():
    with pytest.raises(rnnlab.InvalidInputError, match="ODESystem"):
        residual_function(lambda x: x)
    with pytest.raises(rnnlab.InvalidInputError, match="ODESystem"):
        jacobian(lambda x: x, jnp.zeros(2))


@pytest.mark.parametrize("gain", [0.5, 1.5])
def test_circular_law(gain, key):
    # Eigenvalues of J with i.i.d. N(0, g^2/N) entries fill the disk of radius g uniformly
    # (Girko 1985; Bai 1997): the fraction inside radius rho*g is rho^2.
    n = 400
    weights = np.asarray(RateRNN(n, gain=gain, key=key).recurrent_weights)
    eigenvalues = np.linalg.eigvals(weights)
    radius = circular_law_radius(eigenvalues)
    np.testing.assert_allclose(radius["second_moment"], gain, rtol=0.05)
    np.testing.assert_allclose(radius["max"], gain, rtol=0.1)
    modulus = np.abs(eigenvalues)
    for rho in (0.25, 0.5, 0.75):
        np.testing.assert_allclose(np.mean(modulus < rho * gain), rho**2, atol=0.04)


def test_circular_law_radius_estimators_by_hand():
    # Uniform grid on the unit circle: max = 1, sqrt(2 * mean |lambda|^2) = sqrt(2).
    circle = np.exp(2j * np.pi * np.arange(8) / 8)
    radius = circular_law_radius(circle)
    np.testing.assert_allclose(radius["max"], 1.0, rtol=1e-14)
    np.testing.assert_allclose(radius["second_moment"], np.sqrt(2.0), rtol=1e-14)
