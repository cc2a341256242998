"""Lyapunov spectra against published values, linear algebra and exact invariants."""

import dataclasses
import math

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jaxtyping import Array

import rnnlab
from rnnlab.analysis import (
    LyapunovOptions,
    entropy_rate,
    kaplan_yorke_dimension,
    lyapunov_spectrum,
    max_lyapunov,
    max_lyapunov_two_trajectory,
)
from rnnlab.models import AbstractDiscreteModel, RateRNN
from rnnlab.systems import Henon, Lorenz, ODESystem

# Published reference values.
# Lorenz (10, 28, 8/3): Sprott, "Chaos and Time-Series Analysis" (2003), table of exponents;
# Kaplan-Yorke dimension 2.062.
LORENZ_EXPONENTS = np.array([0.9056, 0.0, -14.5723])
LORENZ_KY = 2.062
# Henon (1.4, 0.3): Sprott (2003); sum ln(0.3) exactly; Kaplan-Yorke dimension 1.258.
HENON_EXPONENTS = np.array([0.41922, -1.62319])
HENON_KY = 1.258


class LinearMap(AbstractDiscreteModel):
    """x_{n+1} = M x_n: Lyapunov exponents are ln|eig(M)|."""

    matrix: Array

    @property
    def state_size(self) -> int:
        return self.matrix.shape[0]

    def step(self, state, inputs, *, key):
        return self.matrix @ state


def _linear_flow(matrix: np.ndarray) -> ODESystem:
    a = jnp.asarray(matrix)
    return ODESystem(lambda t, x, args: a @ x, dimension=a.shape[0])


def test_lorenz_spectrum_matches_published_values(key):
    lorenz = Lorenz()
    result = lyapunov_spectrum(
        lorenz,
        jnp.array([1.0, 1.0, 1.0]),
        key=key,
        options=LyapunovOptions(dt=0.01, solver="rk4", t_burn=50.0, t_obs=1000.0),
    )
    exponents = result.exponents
    assert result.status in ("converged", "max_steps_reached")
    assert np.all(np.diff(exponents) < 0)
    np.testing.assert_allclose(exponents[0], LORENZ_EXPONENTS[0], atol=0.03)
    # A bounded, non-stationary flow has one zero exponent (the direction of the flow).
    np.testing.assert_allclose(exponents[1], 0.0, atol=0.01)
    np.testing.assert_allclose(exponents[2], LORENZ_EXPONENTS[2], atol=0.05)
    # Sum = time average of the divergence, which is the constant -(sigma + 1 + beta).
    divergence = -(lorenz.sigma + 1.0 + lorenz.beta)
    np.testing.assert_allclose(exponents.sum(), divergence, rtol=5e-3)
    ky = kaplan_yorke_dimension(exponents)
    assert ky.status == "ok"
    np.testing.assert_allclose(ky.dimension, LORENZ_KY, atol=0.01)
    np.testing.assert_allclose(entropy_rate(exponents), LORENZ_EXPONENTS[0], atol=0.03)


def test_lorenz_two_trajectory_agrees_with_top_exponent(key):
    options = LyapunovOptions(dt=0.01, t_burn=50.0, t_obs=1000.0)
    state0 = jnp.array([1.0, 1.0, 1.0])
    tangent_key, pair_key = jr.split(key)
    two_trajectory = max_lyapunov_two_trajectory(Lorenz(), state0, key=pair_key, options=options)
    tangent = max_lyapunov(Lorenz(), state0, key=tangent_key, options=options)
    assert tangent.exponents.shape == (1,)
    np.testing.assert_allclose(two_trajectory, LORENZ_EXPONENTS[0], atol=0.03)
    np.testing.assert_allclose(tangent.exponents[0], LORENZ_EXPONENTS[0], atol=0.03)
    np.testing.assert_allclose(two_trajectory, tangent.exponents[0], atol=0.04)


def test_henon_spectrum_matches_published_values(key):
    henon = Henon()
    state0 = jnp.array([0.1, 0.1])
    options = LyapunovOptions(qr_every=1, t_burn=100.0, t_obs=100_000.0)
    spectrum_key, pair_key = jr.split(key)
    result = lyapunov_spectrum(henon, state0, key=spectrum_key, options=options)
    np.testing.assert_allclose(result.exponents, HENON_EXPONENTS, atol=0.005)
    # det(DF) = -b at every point, so the sum is ln(b) up to rounding.
    np.testing.assert_allclose(result.exponents.sum(), math.log(henon.b), rtol=1e-10)
    np.testing.assert_allclose(
        kaplan_yorke_dimension(result.exponents).dimension, HENON_KY, atol=0.005
    )
    two_trajectory = max_lyapunov_two_trajectory(henon, state0, key=pair_key, options=options)
    np.testing.assert_allclose(two_trajectory, HENON_EXPONENTS[0], atol=0.005)


def test_ill_conditioned_qr_interval_warns(key):
    # Henon: (lambda_1 - lambda_2) * 10 steps = 20.4 > ln(1e8) = 18.4.
    with pytest.warns(RuntimeWarning, match="QR interval too long"):
        lyapunov_spectrum(
            Henon(),
            jnp.array([0.1, 0.1]),
            key=key,
            options=LyapunovOptions(qr_every=10, t_burn=10.0, t_obs=200.0),
        )


def _random_matrix(rng, dim):
    return rng.normal(size=(dim, dim)) / np.sqrt(dim)


# Non-normal: large off-diagonal couplings, real eigenvalues -1, -2, 0.5.
_NON_NORMAL = np.array([[-1.0, 30.0, 0.0], [0.0, -2.0, 30.0], [0.0, 0.0, 0.5]])


@pytest.mark.parametrize("kind", ["gaussian", "non_normal"])
def test_linear_flow_exponents_are_real_parts_of_eigenvalues(kind, key, seed):
    rng = np.random.default_rng(seed)
    matrix = _random_matrix(rng, 5) if kind == "gaussian" else _NON_NORMAL
    dim = matrix.shape[0]
    expected = np.sort(np.linalg.eigvals(matrix).real)[::-1]  # with multiplicity
    # The state stays at 0 (so nothing overflows); the tangent sees exp(A t) exactly.
    result = lyapunov_spectrum(
        _linear_flow(matrix),
        jnp.zeros(dim),
        key=key,
        options=LyapunovOptions(dt=0.01, t_burn=0.0, t_tangent_burn=10.0, t_obs=300.0),
    )
    # Complex pairs converge as O(1/T) (rotation inside their plane).
    np.testing.assert_allclose(result.exponents, expected, atol=5e-3)


def test_linear_map_exponents_are_log_moduli(key, seed):
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(4, 4)) / 2.0
    expected = np.sort(np.log(np.abs(np.linalg.eigvals(matrix))))[::-1]
    result = lyapunov_spectrum(
        LinearMap(jnp.asarray(matrix)),
        jnp.zeros(4),
        key=key,
        options=LyapunovOptions(qr_every=1, t_burn=0.0, t_tangent_burn=20.0, t_obs=4000.0),
    )
    np.testing.assert_allclose(result.exponents, expected, atol=3e-3)


def test_top_k_equals_leading_part_of_full_spectrum(key, seed):
    rng = np.random.default_rng(seed)
    matrix = _random_matrix(rng, 6) - 0.5 * np.diag(np.arange(6.0))
    flow = _linear_flow(matrix)
    options = LyapunovOptions(dt=0.01, t_burn=0.0, t_tangent_burn=10.0, t_obs=300.0)
    full_key, top_key = jr.split(key)
    full = lyapunov_spectrum(flow, jnp.zeros(6), key=full_key, options=options)
    top = lyapunov_spectrum(
        flow,
        jnp.zeros(6),
        key=top_key,
        options=dataclasses.replace(options, num_exponents=3),
    )
    assert top.exponents.shape == (3,)
    np.testing.assert_allclose(top.exponents, full.exponents[:3], atol=5e-3)
    expected = np.sort(np.linalg.eigvals(matrix).real)[::-1][:3]
    np.testing.assert_allclose(top.exponents, expected, atol=5e-3)


def test_rate_rnn_spectrum_sum_is_trace_of_jacobian(key):
    # Without self-couplings, tr(Df) = tr(-I + J diag(sech^2 h)) / tau = -N / tau at every
    # state, so the full spectrum sums to -N / tau. RK4's det(DPhi) differs from
    # exp(dt tr Df) by O(dt^5) per step: relative bias ~1e-6 at dt = 0.05.
    n, tau = 30, 2.0
    network_key, state_key, frame_key = jr.split(key, 3)
    network = RateRNN(n, gain=2.0, tau=tau, key=network_key, self_coupling=False)
    np.testing.assert_array_equal(np.diagonal(np.asarray(network.recurrent_weights)), 0.0)
    result = lyapunov_spectrum(
        network,
        jr.normal(state_key, (n,)),
        key=frame_key,
        options=LyapunovOptions(dt=0.05, qr_every=5, t_burn=20.0, t_obs=50.0),
    )
    assert result.exponents.shape == (n,)
    np.testing.assert_allclose(result.exponents.sum(), -n / tau, rtol=1e-5)


def _blow_up() -> ODESystem:
    # dx/dt = x^2 from x = 1: x = 1 / (1 - t) reaches infinity at t = 1.
    return ODESystem(lambda t, x, args: x**2, dimension=1)


def test_divergence_is_reported_and_raised(key):
    options = LyapunovOptions(t_burn=0.0, t_tangent_burn=0.0, t_obs=5.0)
    result = lyapunov_spectrum(_blow_up(), jnp.ones(1), key=key, options=options)
    assert result.status == "diverged"
    assert np.all(np.isnan(result.exponents))
    with pytest.raises(rnnlab.DivergenceError, match="diverged"):
        lyapunov_spectrum(_blow_up(), jnp.ones(1), key=key, options=options, throw=True)


def test_bounded_decay_is_not_reported_as_divergence(key):
    # The same options on dx/dt = -x^3 (bounded) must not be flagged.
    decay = ODESystem(lambda t, x, args: -(x**3), dimension=1)
    options = LyapunovOptions(t_burn=0.0, t_tangent_burn=0.0, t_obs=5.0)
    result = lyapunov_spectrum(decay, jnp.ones(1), key=key, options=options, throw=True)
    assert result.status != "diverged"
    # ln|x(T)/x(0)|-like contraction: tangent of x' = -x^3 from 1 decays as (1 + 2t)^(-3/2).
    expected = -1.5 * math.log(1.0 + 2.0 * 5.0) / 5.0
    np.testing.assert_allclose(result.exponents[0], expected, rtol=1e-6)


@pytest.mark.parametrize(
    "options",
    [
        dict(num_exponents=0),
        dict(dt=0.0),
        dict(t_obs=-1.0),
        dict(t_burn=-1.0),
        dict(qr_every=0),
        dict(num_segments=1),
    ],
)
def test_options_reject_bad_values(options):
    with pytest.raises(rnnlab.InvalidInputError):
        LyapunovOptions(**options)


def test_rejects_too_many_exponents_and_wrong_state_shape(key):
    with pytest.raises(rnnlab.InvalidInputError, match="num_exponents=4"):
        lyapunov_spectrum(Lorenz(), jnp.ones(3), key=key, options=LyapunovOptions(num_exponents=4))
    with pytest.raises(rnnlab.InvalidInputError, match="shape"):
        lyapunov_spectrum(Lorenz(), jnp.ones(2), key=key)


def test_rejects_non_models(key):
    with pytest.raises(rnnlab.InvalidInputError, match="ODESystem"):
        lyapunov_spectrum(eqx.nn.Identity(), jnp.ones(3), key=key)


# Kaplan-Yorke by hand: D = j + sum_{i<=j} lambda_i / |lambda_{j+1}|.
@pytest.mark.parametrize(
    ("exponents", "dimension"),
    [
        ([0.9056, 0.0, -14.5723], 2.0 + 0.9056 / 14.5723),
        ([1.0, -2.0], 1.5),
        ([-2.0, 1.0], 1.5),  # unsorted input
        ([0.5, 0.3, -0.2, -1.0], 3.6),
        ([0.5, -0.5], 2.0),  # cumulative sum exactly 0 at j = 2
        ([-0.1, -1.0], 0.0),  # a stable fixed point
        ([1.0, 0.5], 2.0),  # full spectrum, all expanding
    ],
)
def test_kaplan_yorke_hand_examples(exponents, dimension):
    result = kaplan_yorke_dimension(exponents)
    assert result.status == "ok"
    np.testing.assert_allclose(result.dimension, dimension, rtol=1e-12)


def test_kaplan_yorke_partial_spectrum():
    # Top-2 of an unknown spectrum whose partial sum never turns negative: undefined.
    short = kaplan_yorke_dimension([1.0, 0.5], full_spectrum=False)
    assert short.status == "spectrum_too_short"
    assert math.isnan(short.dimension)
    # Turns negative within the k given: defined even though the spectrum is partial.
    enough = kaplan_yorke_dimension([1.0, -3.0], full_spectrum=False)
    assert enough.status == "ok"
    np.testing.assert_allclose(enough.dimension, 1.0 + 1.0 / 3.0, rtol=1e-12)


@pytest.mark.parametrize(
    ("exponents", "entropy"),
    [
        ([0.9056, 0.0, -14.5723], 0.9056),
        ([0.5, 0.3, -0.2, -1.0], 0.8),
        ([-0.1, -1.0], 0.0),
        ([0.2, 0.7], 0.9),
    ],
)
def test_entropy_rate_is_sum_of_positive_exponents(exponents, entropy):
    np.testing.assert_allclose(entropy_rate(exponents), entropy, rtol=1e-12, atol=0.0)
