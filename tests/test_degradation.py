"""Pruning, Henrici's departure from normality, leading eigenvalues, dynamical labels."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.linalg

import rnnlab
from rnnlab.analysis import (
    classify_trajectory,
    dynamical_label,
    henrici_departure,
    leading_eigenvalue,
    oscillation_frequency,
    prune_below,
    prune_random,
    prune_weakest,
    pruning_mask,
    spectral_label,
    spectrum_summary,
)
from rnnlab.models import ElmanRNN, orthogonal, random_normal


def test_pruning_zero_weights_changes_nothing(key):
    net_key, mask_key, input_key = jr.split(key, 3)
    net = ElmanRNN(2, 20, 1, key=net_key, recurrent_init="normal", dtype=jnp.float64)
    zeros = jr.bernoulli(mask_key, 0.25, (20, 20))
    weights = jnp.where(zeros, 0.0, net.recurrent_weights)
    num_zeros = int(zeros.sum())
    np.testing.assert_array_equal(np.asarray(prune_weakest(weights, 0.0)), np.asarray(weights))
    pruned = prune_weakest(weights, num_zeros / weights.size)
    np.testing.assert_array_equal(np.asarray(pruned), np.asarray(weights))
    inputs = jr.normal(input_key, (50, 2))
    a = eqx.tree_at(lambda n: n.recurrent_weights, net, weights)
    b = eqx.tree_at(lambda n: n.recurrent_weights, net, pruned)
    np.testing.assert_array_equal(np.asarray(a(inputs)), np.asarray(b(inputs)))


def test_pruning_counts_and_signs(key):
    weights = jr.normal(key, (30, 30))
    magnitude = np.abs(np.asarray(weights))
    for fraction in (0.1, 0.25, 0.4):
        both = np.asarray(pruning_mask(weights, fraction))
        assert both.sum() == round(fraction * 900)
        # the removed entries are the weakest ones
        assert magnitude[both].max() <= magnitude[~both].min()
        positive = np.asarray(pruning_mask(weights, fraction, sign="positive"))
        negative = np.asarray(pruning_mask(weights, fraction, sign="negative"))
        assert np.all(np.asarray(weights)[positive] > 0) and np.all(
            np.asarray(weights)[negative] < 0
        )
        np.testing.assert_array_equal(positive | negative, both)
    # vmappable over the fraction
    removed = jax.vmap(lambda p: jnp.sum(prune_weakest(weights, p) == 0))(
        jnp.array([0.0, 0.2, 0.4])
    )
    assert np.asarray(removed).tolist() == [0, 180, 360]
    threshold = np.quantile(magnitude, 0.2)
    np.testing.assert_array_equal(
        np.asarray(prune_below(weights, threshold)), np.where(magnitude < threshold, 0.0, weights)
    )
    randomly = np.asarray(prune_random(weights, 0.3, key=key))
    assert np.sum(randomly == 0) == 270
    with pytest.raises(rnnlab.InvalidInputError, match="fraction=1.5"):
        prune_weakest(weights, 1.5)
    with pytest.raises(rnnlab.InvalidInputError, match="sign='both-ish'"):
        prune_weakest(weights, 0.1, sign="both-ish")


def test_henrici_zero_for_normal_matrices(key):
    assert henrici_departure(orthogonal(key, (50, 50))) < 1e-6
    a = np.asarray(jr.normal(key, (20, 20)))
    assert henrici_departure(a + a.T) < 1e-6
    assert henrici_departure(a - a.T) < 1e-6


def test_henrici_matches_schur_for_a_random_matrix(key):
    """Independent check: H = ||strict upper triangle of the Schur form||_F."""
    w = np.asarray(jr.normal(key, (40, 40))) / np.sqrt(40)
    schur, _ = scipy.linalg.schur(w.astype(complex), output="complex")
    expected = np.linalg.norm(np.triu(schur, 1))
    formula = np.sqrt(np.sum(w**2) - np.sum(np.abs(np.linalg.eigvals(w)) ** 2))
    assert henrici_departure(w, relative=False) == pytest.approx(expected, rel=1e-8)
    assert henrici_departure(w, relative=False) == pytest.approx(formula, rel=1e-12)
    assert henrici_departure(w) == pytest.approx(expected / np.linalg.norm(w), rel=1e-8)


def test_henrici_of_a_large_gaussian_matrix(key):
    w = random_normal(key, (400, 400))
    assert abs(henrici_departure(w) - 1 / np.sqrt(2)) < 0.02


def test_leading_eigenvalue_and_frequency():
    theta, radius = 2 * np.pi / 35, 1.05
    rotation = radius * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    w = scipy.linalg.block_diag(rotation, np.diag([0.9, -1.2]))
    leading = leading_eigenvalue(w, by="real")
    assert leading == pytest.approx(radius * np.exp(1j * theta))
    assert oscillation_frequency(leading) == pytest.approx(1 / 35)
    assert leading_eigenvalue(w, by="modulus") == pytest.approx(-1.2)
    summary = spectrum_summary(w)
    assert summary["spectral_radius"] == pytest.approx(1.2)
    assert summary["num_outside_unit_circle"] == 3
    assert summary["oscillation_index"] == pytest.approx(np.sin(theta))
    assert spectral_label(w) == "oscillatory"  # index sin(2 pi / 35) = 0.18 >= 0.15
    assert spectral_label(np.diag([1.1, 0.5])) == "fixed_point"


def test_trajectory_labels(key):
    fixed = np.ones((100, 3)) + 1e-6 * np.asarray(jr.normal(key, (100, 3)))
    assert classify_trajectory(fixed) == ("fixed_point", 0)
    t = np.arange(200)[:, None]
    cycle = np.hstack([np.sin(2 * np.pi * t / 7), np.cos(2 * np.pi * t / 7)])
    assert classify_trajectory(cycle) == ("limit_cycle", 7)
    noise = np.asarray(jr.normal(key, (200, 3)))
    assert classify_trajectory(noise) == ("irregular", 0)
    # a slow geometric approach moves > 1e-4 over the window but < 1e-3 per step: it
    # never leaves and re-enters the tolerance ball, so it is no (period-1) cycle
    decay = 0.3 * 0.999 ** np.arange(4000, 5000)[:, None] * np.ones((1, 3))
    assert classify_trajectory(decay) == ("slow", 0)
    # a period-2 flip is a cycle of period 2
    flip = np.tile([[0.5, -0.5], [-0.5, 0.5]], (50, 1))
    assert classify_trajectory(flip) == ("limit_cycle", 2)


def test_dynamical_label_of_a_contracting_network(key):
    net = ElmanRNN(1, 10, 1, key=key, recurrent_init="orthogonal", gain=0.5, dtype=jnp.float64)
    stimulus = jnp.zeros((30, 1)).at[5:15].set(1.0)
    assert dynamical_label(net, stimulus, num_steps=300, window=100) == ("fixed_point", 0)


def _rotation_network(theta, radius=1.5):
    """h' = tanh(r R(theta) h): the origin is unstable (r > 1) and the state settles on an
    invariant circle it turns around by a rotation number that is not a whole fraction,
    so it never returns exactly (quasi-periodic; largest Lyapunov exponent 0)."""
    import equinox as eqx
    import jax.numpy as jnp

    from rnnlab.models import ElmanRNN

    w = radius * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    net = ElmanRNN(1, 2, 1, key=jr.key(0), dtype=jnp.float64)
    net = eqx.tree_at(lambda m: m.recurrent_weights, net, jnp.asarray(w))
    return eqx.tree_at(lambda m: m.input_weights, net, jnp.ones((2, 1)))


def test_quasi_periodic_motion_is_told_from_chaos_by_its_lyapunov_exponent():
    import jax.numpy as jnp

    from rnnlab.analysis import LyapunovOptions, max_lyapunov, silent_window
    from rnnlab.analysis._degradation import dynamical_label
    from rnnlab.models import ElmanRNN

    stimulus = jnp.zeros((20, 1), jnp.float64).at[2:5].set(0.5)
    circle = _rotation_network(1.0)
    label, period = dynamical_label(circle, stimulus, num_steps=5000, window=1000)
    assert (label, period) == ("quasi_periodic", 0)
    # without the exponent the same window reads irregular (it never returns)
    states, _ = circle.run(stimulus)
    window, exponent = silent_window(circle, states[-1], 5000, 1000)
    assert abs(float(exponent)) < 1e-3
    assert classify_trajectory(np.asarray(window)) == ("irregular", 0)
    # a chaotic network (N = 100, gain 3): a positive exponent, equal to the one the
    # Lyapunov module's QR method gives on the same map
    chaotic = ElmanRNN(
        1, 100, 1, key=jr.key(1), recurrent_init="normal", gain=3.0, dtype=jnp.float64
    )
    h0 = chaotic.run(stimulus)[0][-1]
    _, chaos_exponent = silent_window(chaotic, h0, 3000, 2000)
    label, _ = dynamical_label(chaotic, stimulus, num_steps=3000, window=2000)
    assert label == "irregular" and float(chaos_exponent) > 0.1
    options = LyapunovOptions(t_burn=1000.0, t_obs=4000.0)
    reference = max_lyapunov(chaotic, h0, key=jr.key(2), options=options)
    assert float(chaos_exponent) == pytest.approx(float(reference.exponents[0]), rel=0.1)
