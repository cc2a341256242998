"""Eigenvalue and fixed-point analyses agree on linear networks (issue 5, item 7).

For the map $h \\mapsto W h + b$ the unique fixed point is $(I - W)^{-1} b$ and the
Jacobian is $W$; for the flow $\\dot x = A x + b$ it is $-A^{-1} b$ with Jacobian $A$. Both
are checked against NumPy's solver and eigenvalues, independently of rnnlab. A tanh
network with no bias and zero input has the fixed point $h^* = 0$, where
$\\tanh'(0) = 1$ makes the Jacobian $W$ itself: the finder's leading eigenvalue there must
be :func:`spectrum_summary`'s.
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jaxtyping import Array

from rnnlab.analysis import find_fixed_points, spectrum_summary
from rnnlab.models import ElmanRNN
from rnnlab.models._base import AbstractContinuousModel, AbstractDiscreteModel


class LinearMap(AbstractDiscreteModel):
    """$h_{t+1} = W h_t + b$."""

    weights: Array
    bias: Array

    @property
    def state_size(self) -> int:
        return self.weights.shape[0]

    def step(self, state, inputs, *, key=None):
        return self.weights @ state + self.bias


class LinearFlow(AbstractContinuousModel):
    """$\\dot x = A x + b$."""

    matrix: Array
    bias: Array

    @property
    def state_size(self) -> int:
        return self.matrix.shape[0]

    def vector_field(self, t, state, args):
        return self.matrix @ state + self.bias


def _random_matrix(key, n, radius):
    return radius * jr.normal(key, (n, n), jnp.float64) / np.sqrt(n)


@pytest.mark.parametrize("radius", [0.6, 1.4])  # all stable / some |lambda| > 1
def test_linear_map(radius, key):
    n = 12
    weight_key, bias_key, start_key = jr.split(key, 3)
    weights = _random_matrix(weight_key, n, radius)
    bias = jr.normal(bias_key, (n,), jnp.float64)
    model = LinearMap(weights, bias)
    found = find_fixed_points(model, 3.0 * jr.normal(start_key, (8, n), jnp.float64))
    w = np.asarray(weights)
    expected = np.linalg.solve(np.eye(n) - w, np.asarray(bias))
    assert found.points.shape == (1, n)  # every start converges to the unique point
    assert found.num_converged == 8
    np.testing.assert_allclose(found.points[0], expected, rtol=0, atol=1e-10)
    eig = np.linalg.eigvals(w)
    np.testing.assert_allclose(
        np.sort_complex(found.eigenvalues[0]), np.sort_complex(eig), rtol=0, atol=1e-10
    )
    outside = int(np.sum(np.abs(eig) > 1))
    assert (radius > 1) == (outside > 0)
    assert found.num_unstable.tolist() == [outside]
    assert found.stability == ["unstable" if outside else "stable"]


@pytest.mark.parametrize("shift", [-1.0, 0.3])  # Re lambda all < 0 / some > 0
def test_linear_flow(shift, key):
    n = 10
    matrix_key, bias_key, start_key = jr.split(key, 3)
    matrix = _random_matrix(matrix_key, n, 0.8) + shift * jnp.eye(n)
    bias = jr.normal(bias_key, (n,), jnp.float64)
    found = find_fixed_points(
        LinearFlow(matrix, bias), 3.0 * jr.normal(start_key, (8, n), jnp.float64)
    )
    a = np.asarray(matrix)
    expected = np.linalg.solve(a, -np.asarray(bias))
    assert found.points.shape == (1, n)
    np.testing.assert_allclose(found.points[0], expected, rtol=0, atol=1e-10)
    eig = np.linalg.eigvals(a)
    np.testing.assert_allclose(
        np.sort_complex(found.eigenvalues[0]), np.sort_complex(eig), rtol=0, atol=1e-10
    )
    growing = int(np.sum(eig.real > 0))
    assert (shift > 0) == (growing > 0)
    assert found.num_unstable.tolist() == [growing]
    assert found.stability == ["unstable" if growing else "stable"]


@pytest.mark.parametrize(("init", "gain"), [("normal", 1.3), ("orthogonal", 0.9)])
def test_tanh_network_at_the_origin_is_its_recurrent_matrix(init, gain, key):
    n = 20
    net_key, start_key = jr.split(key)
    net = ElmanRNN(1, n, 1, key=net_key, recurrent_init=init, gain=gain, dtype=jnp.float64)
    # starts near the origin, which is a fixed point for zero input and no bias
    found = find_fixed_points(net, 1e-3 * jr.normal(start_key, (16, n), jnp.float64))
    origin = np.argmin(np.linalg.norm(found.points, axis=1))
    np.testing.assert_allclose(found.points[origin], 0.0, atol=1e-10)
    w = np.asarray(net.recurrent_weights)
    eig = found.eigenvalues[origin]
    np.testing.assert_allclose(
        np.sort_complex(eig), np.sort_complex(np.linalg.eigvals(w)), rtol=0, atol=1e-10
    )
    summary = spectrum_summary(w)
    leading = eig[np.argmax(eig.real)]
    assert leading.real == pytest.approx(summary["leading_real"], abs=1e-10)
    assert abs(leading.imag) == pytest.approx(summary["leading_imag"], abs=1e-10)
    assert np.max(np.abs(eig)) == pytest.approx(summary["spectral_radius"], abs=1e-10)
    # the origin's stability is the spectrum's: unstable iff eigenvalues leave the circle
    assert found.num_unstable[origin] == summary["num_outside_unit_circle"]
    assert (found.stability[origin] == "stable") == (summary["spectral_radius"] < 1)
