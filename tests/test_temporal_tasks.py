"""temporal-tasks experiment: a fast end-to-end run with every metric, and real numbers."""

import jax.random as jr
import numpy as np
import pytest

from rnnlab.experiments._base import SilentProgress
from rnnlab.experiments._temporal_tasks import EXPERIMENT

TASK_NAMES = ("and", "or", "xor", "not", "flipflop", "oscillation", "interval")

# Short layouts (T <= 100) so that seven tasks train in seconds.
TINY_TASKS = {
    "and": {"tail": 30},
    "or": {"tail": 30},
    "xor": {"tail": 30},
    "not": {"tail": 30},
    "flipflop": {"num_pulses": 2, "pulse_interval": 40, "stimulus_onset": 10, "tail": 20},
    "oscillation": {"stimulus_onset": 10, "oscillation_duration": 40, "period": 20, "tail": 10},
    "interval": {"stimulus_onset": 10, "response_delay": 20, "trial_length": 100},
}


@pytest.fixture(scope="module")
def tiny_run():
    config = EXPERIMENT.make_config(
        quick=True,
        overrides={
            "hidden_size": 16,
            "learning_rate": 3e-3,  # fast (if less stable) learning for a tiny budget
            "members_per_init": 1,
            "num_trials": 256,
            "max_epochs": 8,
            "eval_trials": 32,
            "pruning_fractions": [0.0, 0.3],
            "task_fields": TINY_TASKS,
        },
    )
    results = EXPERIMENT.run(config, key=jr.key(config.seed), progress=SilentProgress())
    return config, results


def test_every_metric_is_present(tiny_run):
    _, results = tiny_run
    metrics = results.metrics
    required = [f"{name}.{kind}" for name in TASK_NAMES for kind in ("accuracy", "distance")]
    required += [
        "pruning.tolerated_fraction",
        "pruning.break_fraction",
        "diversity.oscillatory_fraction",
        "init.epochs_to_criterion.orthogonal",
        "init.epochs_to_criterion.normal",
    ]
    missing = [name for name in required if name not in metrics]
    assert not missing, missing
    for name in TASK_NAMES:
        assert 0.0 <= metrics[f"{name}.accuracy"] <= 1.0
        assert np.isfinite(metrics[f"{name}.distance"]) and metrics[f"{name}.distance"] > 0


def test_and_is_learned_and_unpruned_distance_is_reproduced(tiny_run):
    config, results = tiny_run
    metrics, arrays = results.metrics, results.arrays
    # Real learning, not only shapes: AND at N = 16 after a few short epochs.
    assert metrics["and.accuracy"] >= 0.9, metrics["and.accuracy"]
    # Pruning 0 % must give back the unpruned networks' distance on the same trials: the
    # pruned set is the solved AND networks (all of them when none solved).
    solved = arrays["and.accuracy"] >= 0.95
    kept = arrays["and.distance"][solved] if solved.any() else arrays["and.distance"]
    assert metrics["pruning.num_networks"] == int(solved.sum())
    assert metrics["pruning.both.distance=0.0"] == pytest.approx(float(kept.mean()), rel=1e-6)
    # Losses were recorded per epoch for both members, and fell during training.
    losses = arrays["and.losses"]
    assert losses.shape[1] == 2 * config.members_per_init
    assert np.nanmin(losses) < losses[0].max()
