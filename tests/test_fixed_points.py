"""Fixed points against closed-form solutions; stability against numpy eigenvalues."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import rnnlab
from rnnlab.analysis import FixedPointOptions, classify_stability, find_fixed_points
from rnnlab.models import RateRNN
from rnnlab.systems import Henon, Lorenz, ODESystem


def _match(points: np.ndarray, expected: np.ndarray, atol: float) -> np.ndarray:
    """Index of the found point closest to each expected point (each within atol)."""
    assert points.shape == expected.shape, (points, expected)
    distance = np.linalg.norm(points[None, :, :] - expected[:, None, :], axis=-1)
    order = np.argmin(distance, axis=1)
    assert sorted(order.tolist()) == list(range(len(expected)))
    assert np.max(distance[np.arange(len(expected)), order]) < atol
    return order


def _assert_same_multiset(actual, expected, atol):
    """Eigenvalue sets equal up to order (optimal one-to-one matching)."""
    distance = np.abs(np.asarray(actual)[:, None] - np.asarray(expected)[None, :])
    rows, cols = linear_sum_assignment(distance)
    assert len(rows) == len(expected) == len(actual)
    assert np.max(distance[rows, cols]) < atol


def _lorenz_jacobian(lorenz: Lorenz, point: np.ndarray) -> np.ndarray:
    x, y, z = point
    s, r, b = lorenz.sigma, lorenz.rho, lorenz.beta
    return np.array([[-s, s, 0.0], [r - z, -1.0, -x], [y, x, -b]])


@pytest.mark.parametrize(("rho", "outer_unstable"), [(28.0, 2), (20.0, 0)])
def test_lorenz_fixed_points_and_stability(rho, outer_unstable, key):
    # Origin: a saddle with one unstable direction for rho > 1. Outer points
    # C+- = (+-sqrt(beta(rho-1)), +-sqrt(beta(rho-1)), rho-1): stable below the subcritical
    # Hopf point rho_H = sigma(sigma+beta+3)/(sigma-beta-1) = 24.74, two unstable above.
    lorenz = Lorenz(rho=rho)
    assert (rho > lorenz.hopf_rho()) == (outer_unstable == 2)
    c = np.sqrt(lorenz.beta * (rho - 1.0))
    expected = np.array([[0.0, 0.0, 0.0], [c, c, rho - 1.0], [-c, -c, rho - 1.0]])
    starts = 10.0 * jr.normal(key, (32, 3)) + jnp.array([0.0, 0.0, 20.0])
    found = find_fixed_points(lorenz, starts)
    order = _match(found.points, expected, atol=1e-7)
    assert 3 <= found.num_converged <= 32
    assert found.num_converged == int(np.sum(found.speeds <= 1e-16))
    np.testing.assert_array_equal(found.num_unstable[order], [1, outer_unstable, outer_unstable])
    outer_label = "unstable" if outer_unstable else "stable"
    assert [found.stability[i] for i in order] == ["unstable", outer_label, outer_label]
    for i, point in zip(order, expected, strict=True):
        reference = np.linalg.eigvals(_lorenz_jacobian(lorenz, point))
        _assert_same_multiset(found.eigenvalues[i], reference, atol=1e-6)


def test_cubic_fixed_points_are_deduplicated_and_classified():
    # dx/dt = x - x^3: zeros -1, 0, 1 with f' = 1 - 3x^2 = -2, 1, -2.
    system = ODESystem(lambda t, x, args: x - x**3, dimension=1)
    starts = jnp.concatenate([jnp.linspace(-2.0, 2.0, 21), jnp.array([0.5, 0.5])])[:, None]
    found = find_fixed_points(system, starts)
    assert found.num_converged == 23  # every start converges, to one of three points
    order = np.argsort(found.points[:, 0])
    np.testing.assert_allclose(found.points[order, 0], [-1.0, 0.0, 1.0], atol=1e-10)
    assert [found.stability[i] for i in order] == ["stable", "unstable", "stable"]
    np.testing.assert_array_equal(found.num_unstable[order], [0, 1, 0])
    np.testing.assert_allclose(found.eigenvalues[order, 0], [-2.0, 1.0, -2.0], atol=1e-8)
    assert found.slow_points.shape == (0, 1)


def test_slow_point_without_fixed_point():
    # dx/dt = x^2 + eps has no real zero; its speed q = (x^2 + eps)^2 / 2 is smallest at 0,
    # q(0) = eps^2 / 2 = 5e-7, between q_tolerance and slow_tolerance.
    eps = 1e-3
    system = ODESystem(lambda t, x, args: x**2 + eps, dimension=1)
    found = find_fixed_points(system, jnp.linspace(-1.0, 1.0, 5)[:, None])
    assert found.num_converged == 0
    assert found.points.shape == (0, 1)
    assert found.eigenvalues.shape == (0, 1)
    assert found.slow_points.shape[0] >= 1
    np.testing.assert_allclose(found.slow_points[:, 0], 0.0, atol=0.02)
    assert np.all(found.speeds >= eps**2 / 2 * (1 - 1e-12))


def test_subcritical_rate_rnn_has_only_the_stable_origin(key):
    # For g < 1 the origin is the only fixed point (SCS 1988), and its Jacobian -I + J is
    # stable (numpy eigenvalues). ||J||_2 < 1 would prove uniqueness by contraction, but
    # ||J||_2 -> 2g = 1 here, so uniqueness is what the search from random starts finds.
    n = 20
    network_key, start_key = jr.split(key)
    network = RateRNN(n, gain=0.5, key=network_key)
    weights = np.asarray(network.recurrent_weights)
    expected = np.linalg.eigvals(-np.eye(n) + weights)
    assert np.all(expected.real < 0)
    options = FixedPointOptions(adam_steps=500)
    found = find_fixed_points(network, 2.0 * jr.normal(start_key, (16, n)), options=options)
    assert found.num_converged == 16
    assert found.points.shape == (1, n)
    np.testing.assert_allclose(found.points[0], 0.0, atol=1e-8)
    assert found.stability == ["stable"]
    np.testing.assert_array_equal(found.num_unstable, [0])
    _assert_same_multiset(found.eigenvalues[0], expected, atol=1e-8)


def test_henon_fixed_points_of_a_map():
    # Fixed points of the map: a x^2 + (1 - b) x - 1 = 0, y = b x; both are saddles or
    # repellers at (1.4, 0.3); the count of |mu| > 1 comes from the analytic Jacobian.
    henon = Henon()
    a, b = henon.a, henon.b
    xs = np.sort(np.roots([a, 1.0 - b, -1.0]).real)
    expected = np.stack([xs, b * xs], axis=1)
    starts = jnp.array([[-1.0, -0.3], [-1.5, -0.5], [0.5, 0.2], [0.7, 0.1], [0.6, 0.18]])
    found = find_fixed_points(henon, starts)
    order = _match(found.points, expected, atol=1e-9)
    for i, (x, _) in zip(order, expected, strict=True):
        multipliers = np.linalg.eigvals(np.array([[-2.0 * a * x, 1.0], [b, 0.0]]))
        assert found.num_unstable[i] == int(np.sum(np.abs(multipliers) > 1.0))
        assert found.stability[i] == "unstable"


@pytest.mark.parametrize(
    ("eigenvalues", "discrete", "expected"),
    [
        ([-1.0, -2.0], False, (0, "stable")),
        ([1.0, -1.0], False, (1, "unstable")),
        ([0.5 + 2j, 0.5 - 2j, -1.0], False, (2, "unstable")),
        ([0.0, -1.0], False, (0, "marginal")),
        ([-1e-3 + 1j, -1e-3 - 1j], False, (0, "stable")),
        ([0.5, -0.9], True, (0, "stable")),
        ([2.0, 0.5], True, (1, "unstable")),
        ([-1.0, 0.5], True, (0, "marginal")),
        ([0.6 + 0.8j, 0.6 - 0.8j], True, (0, "marginal")),  # on the unit circle
        ([0.1 + 1j, 0.1 - 1j], True, (2, "unstable")),
    ],
)
def test_classify_stability_by_hand(eigenvalues, discrete, expected):
    assert classify_stability(np.array(eigenvalues), discrete=discrete) == expected


def test_rejects_bad_starts_and_options():
    with pytest.raises(rnnlab.InvalidInputError, match="expected"):
        find_fixed_points(Lorenz(), jnp.zeros((4, 2)))
    with pytest.raises(rnnlab.InvalidInputError):
        FixedPointOptions(q_tolerance=1e-3, slow_tolerance=1e-4)
    with pytest.raises(rnnlab.InvalidInputError):
        FixedPointOptions(adam_steps=-1)
