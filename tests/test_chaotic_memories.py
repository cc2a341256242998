"""chaotic-memories: config validation, a small translation that extrapolates, full goals."""

import math

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from rnnlab import InvalidInputError
from rnnlab.experiments import SilentProgress, get_experiment
from rnnlab.experiments import _chaotic_memories as cm
from rnnlab.systems import Lorenz, Translated, make_examples

EXPERIMENT = get_experiment("chaotic-memories")


def test_quick_config_validates_and_keeps_the_paper_network():
    config = EXPERIMENT.make_config(quick=True)
    assert config.quick and config.hidden_size == 450
    assert config.rcond == 1e-10 and 1e-10 in config.rcond_sweep
    assert config.test_controls == cm.GRID
    full = EXPERIMENT.make_config()
    assert full.train_time == 200.0 and full.sample_every == 1 and full.closed_loop_dt == 0.001
    assert set(EXPERIMENT.quick) <= set(type(config).model_fields)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"two_control_examples": [[0.0, 0.0], [1.0], [2.0, 2.0]]}, "two_control_examples"),
        ({"control_values": [0.0]}, "control_values"),
        ({"control_values": [0.0, float("nan"), 2.0]}, "control_values"),
        ({"test_controls": [float("inf")]}, "test_controls"),
        ({"rcond": float("nan")}, "rcond"),
        ({"rcond": 2.0}, "rcond"),
        ({"subexperiments": ["translate", "rotate"]}, "rotate"),
        ({"drop_time": 50.0, "hold_time": 40.0}, "drop_time"),
        ({"closed_loop_dt": 0.05}, "too large"),
        ({"reference_time": 20.0}, "reference_time=20.0 must be >= 50"),
        ({"no_such_field": 1}, "unknown config field"),
    ],
)
def test_invalid_config_values_are_rejected(overrides, match):
    with pytest.raises(InvalidInputError, match=match):
        EXPERIMENT.make_config(quick=True, overrides=overrides)


def test_score_flags_escape_and_collapse():
    """An escaping output fails with inf distances (never a NaN that looks valid); a
    collapse onto a point fails on coverage; the truth itself passes."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 20 * np.pi, 4000)
    ring = np.stack([10 * np.cos(t), 10 * np.sin(t), np.zeros_like(t)], axis=1)
    target = cm._Target(ring, rng.choice(len(ring), 1000, replace=False))
    assert cm._score(ring[::3], target, 1.0, True)["passed"]
    escaped = cm._score(ring * 1e3, target, 1.0, True)
    assert not escaped["passed"] and math.isinf(escaped["centroid_error"])
    nan = cm._score(np.full((10, 3), np.nan), target, 1.0, True)
    assert not nan["passed"] and not nan["bounded"]
    point = cm._score(np.tile(ring[0], (50, 1)), target, -1.0, None)
    assert not point["passed"] and point["coverage_p95"] > 0.5
    assert not cm._score(ring[::3], target, -0.5, True)["passed"]  # wrong chaos flag


def test_small_translation_extrapolates_to_c10():
    """Trained on shifts c = 0..3 along x1, the closed loop moves the attractor's centre
    by about 10 at c = 10 (relative to its centre at c = 0)."""
    config = EXPERIMENT.make_config(
        quick=True,
        overrides={
            "hidden_size": 250,
            "train_time": 10.0,
            "washout": 1.0,
            "ramp_time": 5.0,
            "hold_time": 25.0,
            "drop_time": 5.0,
        },
    )
    key = jr.key(0)
    reservoir = cm._reservoir(config, cm.derived_key(key, 10))
    source = Translated(Lorenz(), jnp.array([1.0, 0.0, 0.0]))
    start = cm._lorenz_start(config, cm.derived_key(key, 1))
    examples = make_examples(source, start, jnp.array(config.control_values))
    (solution,), finals = cm._fit(config, reservoir, source, examples, [config.rcond], lambda n: 0)
    loop = reservoir.close_loop(solution.weights)
    outputs, lyapunov = cm._evaluate(config, loop, finals[0], [0.0, 10.0], jr.key(1))
    assert np.all(np.isfinite(outputs))
    centres = [cm._midrange(out) for out in outputs]
    print("centres", centres, "lambda", lyapunov)
    assert centres[1][0] - centres[0][0] == pytest.approx(10.0, abs=2.0)
    assert abs(centres[1][2] - centres[0][2]) < 2.0  # x3 does not move
    assert np.all(lyapunov > cm.CHAOS_THRESHOLD)  # still chaotic


@pytest.mark.slow
def test_full_mode_goals():
    """The issue's goals at the paper's sizes (hours on 2 CPU cores)."""
    config = EXPERIMENT.make_config(seed=0)
    metrics = EXPERIMENT.run(config, key=jr.key(0), progress=SilentProgress()).metrics
    assert metrics["translate.success_fraction"] >= 0.9
    assert metrics["transform.success_fraction"] >= 0.9
    assert metrics["bifurcate.lyapunov_max_c0"] < 0
    assert metrics["bifurcate.lyapunov_max_c5"] == pytest.approx(0.906, rel=0.3)
    assert abs(metrics["mechanism.hopf_c_predicted"] - 1.737) <= 0.3
    assert metrics["train.peak_memory_mb"] < 2000  # 800 000 samples per readout, streamed


def test_covariance_error_ramp_and_scheduled_truth():
    """Covariance error: 0 for the exact transform, 0.75 for an isotropic cloud that should
    have been doubled (|I - 4I| / |4I|); the ramp interpolates from its start; the true
    system under a constant schedule steps exactly as the plain Lorenz at that rho."""
    rng = np.random.default_rng(1)
    cloud = rng.normal(size=(200_000, 3))
    cov0 = np.cov(cloud.T)
    matrix = np.diag([1.5, 1.0, 0.7])
    assert cm._covariance_error(cloud @ matrix.T, matrix, cov0) < 1e-12
    assert cm._covariance_error(cloud, 2 * np.eye(3), np.eye(3)) == pytest.approx(0.75, abs=0.01)
    assert math.isinf(cm._covariance_error(np.full((4, 3), np.inf), matrix, cov0))
    ramp = cm._Ramp(jnp.array([5.0]), jnp.array([1.0]), jnp.asarray(10.0))
    np.testing.assert_allclose(ramp(5.0), [3.0])
    np.testing.assert_allclose(ramp(20.0), [1.0])
    source = cm.ParameterShifted(Lorenz(rho=23.0), ("rho",), [[1.0]])
    scheduled = cm._Scheduled(source)
    constant = cm._Ramp(jnp.array([5.0]), jnp.array([5.0]), jnp.asarray(1.0))
    x = jnp.array([1.0, 2.0, 20.0])
    step, _ = cm.step_map(scheduled, dt=0.01, solver="rk4", args=constant)
    plain, _ = cm.step_map(Lorenz(rho=28.0), dt=0.01, solver="rk4")
    np.testing.assert_allclose(step(0.3, x), plain(0.3, x), rtol=1e-13)


def test_run_needs_float64(monkeypatch):
    import jax

    monkeypatch.setattr(jax.config, "read", lambda name: False)
    with pytest.raises(InvalidInputError, match="float64"):
        EXPERIMENT.run(EXPERIMENT.make_config(quick=True), key=jr.key(0), progress=None)


def test_same_seed_same_metrics_end_to_end():
    """Two runs of the whole pipeline (reference, drive, TSQR readout, closed loop,
    scoring, Benettin) from the same seed give identical metrics; another seed differs."""
    overrides = {
        "subexperiments": ["translate"],
        "hidden_size": 60,
        "train_time": 2.0,
        "washout": 0.5,
        "rcond_sweep": [1e-10],
        "rcond_sweep_controls": [0.0],
        "test_controls": [0.0, 5.0],
        "ramp_time": 1.0,
        "hold_time": 3.0,
        "drop_time": 1.0,
        "reference_time": 50.0,
        "source_burn_in": 1.0,
    }
    runs = [
        EXPERIMENT.run(
            EXPERIMENT.make_config(quick=True, seed=seed, overrides=overrides),
            key=jr.key(seed),
            progress=SilentProgress(),
        ).metrics
        for seed in (3, 3, 4)
    ]
    runs = [{k: v for k, v in m.items() if not k.startswith("train.")} for m in runs]
    assert runs[0] == runs[1]  # memory figures aside, every number is reproduced exactly
    assert runs[0]["translate.lyapunov.c=0.0"] != runs[2]["translate.lyapunov.c=0.0"]
