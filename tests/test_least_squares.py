"""Streaming TSQR least squares against numpy.linalg.lstsq, pinv and closed forms."""

import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import InvalidInputError
from rnnlab._memory import PeakMemory
from rnnlab.learning import least_squares, streaming_least_squares


def _ill_conditioned(rng, samples=1200, features=40, targets=3, decades=14):
    """A matrix with singular values log-spaced over ``decades`` decades (like reservoir
    state matrices, whose spectra span 17 decades)."""
    u, _ = np.linalg.qr(rng.normal(size=(samples, features)))
    v, _ = np.linalg.qr(rng.normal(size=(features, features)))
    singular = np.logspace(0, -decades, features)
    return (u * singular) @ v.T, rng.normal(size=(samples, targets)), singular


# Cutoffs between two singular values of the test matrix (10^(-10k/39), k = 0..39): a
# cutoff equal to one (1e-10 is the smallest) leaves the rank to rounding, and the two
# solvers then legitimately disagree by one (39 vs 40 was seen).
@pytest.mark.parametrize("rcond", [1e-4, 1e-8, 1.3e-10])
def test_matches_numpy_lstsq(rcond):
    """Same cutoff, same rank, same minimum-norm solution as LAPACK's SVD solver (gelsd),
    to the forward-error bound of a backward-stable solver: ~eps x effective condition
    number (1/rcond); 1e-8 relative or better for rcond = 1e-4."""
    rng = np.random.default_rng(0)
    features, targets, _ = _ill_conditioned(rng, decades=10)
    solution = least_squares(features, targets, rcond=rcond, chunk_size=250)
    reference, _, rank, _ = np.linalg.lstsq(features, targets, rcond=rcond)
    assert int(solution.rank) == rank
    error = np.linalg.norm(np.asarray(solution.weights) - reference.T) / np.linalg.norm(reference)
    assert error < max(1e-8, 100 * np.finfo(float).eps / rcond)
    residual = np.linalg.norm(features @ reference - targets)
    assert float(solution.residual_norm) == pytest.approx(residual, rel=1e-7)
    assert int(solution.num_samples) == features.shape[0]


def test_chunking_does_not_change_the_result():
    rng = np.random.default_rng(1)
    features, targets, _ = _ill_conditioned(rng, samples=600, features=20, decades=6)
    one = least_squares(features, targets, chunk_size=600).weights
    many = least_squares(features, targets, chunk_size=37).weights
    # condition number 1e6: agreement to ~eps * 1e6 relative
    assert np.linalg.norm(np.asarray(many - one)) / np.linalg.norm(np.asarray(one)) < 1e-8


def test_resolves_singular_values_the_normal_equations_lose():
    """R11 carries the singular values of the data to ~eps * sigma_1 absolute accuracy;
    the Gram matrix (normal equations) resolves them only down to ~sqrt(eps) * sigma_1."""
    rng = np.random.default_rng(2)
    features, targets, singular = _ill_conditioned(rng, decades=12)
    solution = least_squares(features, targets, chunk_size=300)
    np.testing.assert_allclose(np.asarray(solution.singular_values), singular, atol=1e-14)
    gram = np.sqrt(np.abs(np.linalg.eigvalsh(features.T @ features)))[::-1]
    small = singular < 1e-9
    assert np.max(np.abs(gram[small] - singular[small]) / singular[small]) > 1.0


def test_minimum_norm_on_rank_deficient_data():
    """Duplicated columns: infinitely many solutions; the pseudo-inverse one is returned."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(300, 6))
    features = np.concatenate([base, base[:, :3]], axis=1)  # rank 6 of 9
    targets = rng.normal(size=(300, 2))
    solution = least_squares(features, targets, chunk_size=64)
    assert int(solution.rank) == 6
    np.testing.assert_allclose(
        np.asarray(solution.weights), (np.linalg.pinv(features) @ targets).T, atol=1e-10
    )


def test_ridge_equals_closed_form():
    rng = np.random.default_rng(4)
    features, targets, _ = _ill_conditioned(rng, samples=500, features=15, decades=8)
    ridge = 1e-3
    solution = least_squares(features, targets, ridge=ridge, chunk_size=128)
    gram = features.T @ features + ridge * np.eye(features.shape[1])
    reference = np.linalg.solve(gram, features.T @ targets).T
    np.testing.assert_allclose(np.asarray(solution.weights), reference, rtol=1e-9, atol=1e-12)


def test_streaming_interface_is_pure():
    """init/update/finalise: update returns a new state, the old one is unchanged."""
    rng = np.random.default_rng(5)
    solver = streaming_least_squares(4, 1)
    state0 = solver.init()
    chunk = rng.normal(size=(10, 5))
    state1 = solver.update(state0, chunk[:, :4], chunk[:, 4:])
    assert float(jnp.abs(state0.factor).max()) == 0.0
    assert int(state1.num_samples) == 10
    np.testing.assert_allclose(
        np.abs(np.asarray(state1.factor)), np.abs(np.linalg.qr(chunk, mode="r")), atol=1e-12
    )


def test_bad_input():
    with pytest.raises(InvalidInputError, match="rcond"):
        streaming_least_squares(3, 1, rcond=-1.0)
    with pytest.raises(InvalidInputError, match="ridge"):
        streaming_least_squares(3, 1, ridge=float("nan"))
    with pytest.raises(InvalidInputError, match="num_features"):
        streaming_least_squares(0, 1)
    solver = streaming_least_squares(3, 1)
    with pytest.raises(InvalidInputError, match="features have shape"):
        solver.update(solver.init(), np.ones((5, 4)), np.ones((5, 1)))
    with pytest.raises(InvalidInputError, match="targets have shape"):
        solver.update(solver.init(), np.ones((5, 3)), np.ones((4, 1)))
    with pytest.raises(InvalidInputError, match="non-finite"):
        least_squares(np.array([[1.0], [np.nan]]), np.ones(2))


@pytest.mark.slow
def test_paper_scale_memory():
    """450 + 3 columns, 800 000 samples (2.9 GB as one float64 matrix): peak RSS < 2 GB."""
    import jax
    import jax.random as jr

    solver = streaming_least_squares(450, 3)
    state = solver.init()

    @jax.jit
    def chunk(state, key):
        data = jr.normal(key, (10_000, 453), jnp.float64)
        return solver.update(state, data[:, :450], data[:, 450:])

    with PeakMemory() as memory:
        for i in range(80):
            state = chunk(state, jr.key(i))
        solution = solver.finalise(state)
    assert int(solution.num_samples) == 800_000
    print(f"peak {memory.peak_mb:.0f} MiB (+{memory.increase_mb:.0f} MiB)")
    assert memory.peak_mb < 2000
