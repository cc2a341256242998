"""temporal-tasks experiment: a fast end-to-end run with every metric, and real numbers."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rnnlab.experiments._temporal_tasks as tt
from rnnlab import InvalidInputError
from rnnlab.analysis._solutions import _float64
from rnnlab.experiments._base import SilentProgress
from rnnlab.experiments._temporal_tasks import EXPERIMENT
from rnnlab.models import unstack_model

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

# One small AND network and nothing else: the base of tests that look at one feature.
SMALL_AND = {
    "tasks": ["and"],
    "hidden_size": 8,
    "eval_trials": 8,
    "pruning_fractions": [0.0, 0.3],
    "task_fields": {"and": {"tail": 30}},
    "label_steps": 50,
    "label_window": 20,
    "fixed_point_networks": 0,
    "delays": [],
    "sizes": [],
}


def run_recording_trained(config, checkpoint_dir=None):
    """Run the experiment; also return the trained stack of every training cell, in order."""
    calls = []
    train = tt.train_bptt

    def recording(models, task, **kwargs):
        result = train(models, task, **kwargs)
        calls.append(result.models)
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tt, "train_bptt", recording)
        results = EXPERIMENT.run(
            config,
            key=jr.key(config.seed),
            progress=SilentProgress(),
            checkpoint_dir=checkpoint_dir,
        )
    return results, calls


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
            "label_steps": 300,
            "label_window": 100,
            "fixed_point_networks": 1,
            "fixed_point_starts": 32,
            "delays": [25.0, 60.0],
            "sizes": [8, 16],
            "size_sweep_delay": 60.0,
            "sweep_members": 1,
            "sweep_task_fields": {"trial_length": 150},
        },
    )
    results, calls = run_recording_trained(config)
    trained = dict(zip(config.tasks, calls, strict=False))  # the task cells come first
    return config, results, trained, len(calls) - len(config.tasks)


def test_every_metric_is_present(tiny_run):
    _, results, _, _ = tiny_run
    metrics = results.metrics
    required = [f"{name}.{kind}" for name in TASK_NAMES for kind in ("accuracy", "distance")]
    required += [
        "pruning.tolerated_fraction",
        "pruning.break_fraction",
        "diversity.oscillatory_fraction",
        "init.epochs_to_criterion.orthogonal",
        "init.epochs_to_criterion.normal",
        "diversity.held_by_oscillation_fraction",
        "delay.ratio_plateau_to_25",
        "size.ratio_largest_to_smallest",
        "pruning.random.knee_fraction",
    ]
    required += [
        f"{name}.{init}.{kind}"
        for name in TASK_NAMES
        for init in ("orthogonal", "normal")
        for kind in (
            "fixed_point_fraction",
            "limit_cycle_fraction",
            "label_disagreement_fraction",
            "stable_points_mean",
        )
    ]
    missing = [name for name in required if name not in metrics]
    assert not missing, missing
    for name in TASK_NAMES:
        assert 0.0 <= metrics[f"{name}.accuracy"] <= 1.0
        assert np.isfinite(metrics[f"{name}.distance"]) and metrics[f"{name}.distance"] > 0


def _first_false(flags) -> int:
    """Index of the first False in ``flags`` (its length if none)."""
    flags = np.asarray(flags, bool)
    return int(np.argmin(flags)) if not flags.all() else len(flags)


def test_the_issues_summary_metrics_follow_from_the_saved_arrays(tiny_run):
    """pruning.tolerated_fraction / break_fraction, diversity.oscillatory_fraction and
    init.epochs_to_criterion.<init>, recomputed from the per-network and per-fraction
    arrays of the same run by their documented definitions."""
    config, results, _, _ = tiny_run
    metrics, arrays = results.metrics, results.arrays
    fractions = arrays["pruning.fractions"]
    # tolerated: largest fraction with mean AND accuracy >= 0.9 there and at every smaller one
    stop = _first_false(arrays["pruning.both.accuracy"] >= 0.9)
    assert metrics["pruning.tolerated_fraction"] == (float(fractions[stop - 1]) if stop else None)
    # break: smallest fraction with mean distance >= 1.0
    far = arrays["pruning.both.distance"] >= 1.0
    assert metrics["pruning.break_fraction"] == (
        float(fractions[far.argmax()]) if far.any() else None
    )
    # oscillatory: the spectral label's share among the solved networks of every task
    solved = np.concatenate([arrays[f"{name}.solved"] for name in config.tasks])
    spectral = np.concatenate([arrays[f"{name}.spectral_oscillatory"] for name in config.tasks])
    assert solved.sum() == metrics["diversity.num_solved"] > 0
    assert metrics["diversity.oscillatory_fraction"] == pytest.approx(spectral[solved].mean())
    # epochs to criterion: the mean epochs of the networks (of that init) that converged
    per_init = config.members_per_init
    for index, init in enumerate(config.inits):
        arm = slice(index * per_init, (index + 1) * per_init)  # members are ordered by init
        epochs = np.concatenate(
            [
                arrays[f"{name}.epochs_trained"][arm][arrays[f"{name}.converged"][arm]]
                for name in config.tasks
            ]
        )
        expected = float(epochs.mean()) if epochs.size else None
        assert metrics[f"init.epochs_to_criterion.{init}"] == pytest.approx(expected)
        if epochs.size:
            assert 1 <= metrics[f"init.epochs_to_criterion.{init}"] <= config.max_epochs


def test_and_is_learned_and_unpruned_distance_is_reproduced(tiny_run):
    config, results, trained, sweep_trainings = tiny_run
    metrics, arrays = results.metrics, results.arrays
    # Real learning, not only shapes: AND at N = 16 after a few short epochs.
    assert metrics["and.accuracy"] >= 0.9, metrics["and.accuracy"]
    # Pruning 0 % must give back the unpruned networks' distance on the same trials: the
    # pruned set is the solved orthogonal AND networks (all orthogonal ones when none is).
    orthogonal = slice(0, config.members_per_init)  # members are ordered by init
    solved = arrays["and.accuracy"][orthogonal] >= 0.95
    distances = arrays["and.distance"][orthogonal]
    kept = distances[solved] if solved.any() else distances
    assert metrics["pruning.num_networks"] == int(solved.sum())
    assert metrics["pruning.both.distance=0.0"] == pytest.approx(float(kept.mean()), rel=1e-6)
    # Losses were recorded per epoch for both members, and fell during training.
    losses = arrays["and.losses"]
    assert losses.shape[1] == 2 * config.members_per_init
    assert np.nanmin(losses) < losses[0].max()


def test_labels_fixed_points_and_sweeps(tiny_run):
    config, results, trained, sweep_trainings = tiny_run
    metrics, arrays = results.metrics, results.arrays
    for name in TASK_NAMES:
        labels = arrays[f"{name}.dynamical_labels"]
        assert labels.shape[0] == 2 * config.members_per_init
        kinds = ("fixed_point", "limit_cycle", "slow", "quasi_periodic", "irregular")
        assert set(np.unique(labels)) <= set(kinds)
        fractions = [metrics[f"{name}.orthogonal.{kind}_fraction"] for kind in kinds]
        assert sum(fractions) == pytest.approx(1.0)
        # the analysed network's fixed points are fixed points of its own step map,
        # checked here by stepping the first trained network (float64) from each point
        points = arrays[f"{name}.fixed_points"]
        assert points.shape[0] >= 1  # a tanh network always has one
        net = _float64(unstack_model(trained[name], 0))
        for point in points:
            moved = np.asarray(net.step(jnp.asarray(point), None)) - point
            assert np.max(np.abs(moved)) < 1e-7
    # the sweep cell (delay 60, N 16) is shared by both sweeps: trained once, same number
    assert metrics["size.distance.N=16"] == metrics["delay.distance.delay=60.0"]
    assert sweep_trainings == 3  # 4 sweep points, 3 distinct cells
    assert metrics["delay.ratio_plateau_to_25"] is None  # no delay >= 95 ms in this grid
    assert metrics["size.ratio_plateau_to_50"] is None  # no 250 <= N <= 450
    assert metrics["size.gain_beyond_250"] is None
    assert metrics["size.ratio_largest_to_smallest"] == pytest.approx(
        metrics["size.distance.N=16"] / metrics["size.distance.N=8"]
    )
    assert metrics["pruning.random.distance=0.0"] == metrics["pruning.both.distance=0.0"]


def test_leading_eigenvalue_and_the_figures_of_every_analysis(tiny_run, tmp_path):
    """The leading eigenvalue of each trained W (max real part) as numpy finds it, its
    rotation |arg lambda| / (2 pi dt) in Hz, reaches arrays and metrics; every analysis
    has its figure (spec: figures for all of them)."""
    config, results, trained, _ = tiny_run
    metrics, arrays = results.metrics, results.arrays
    per_init = config.members_per_init
    for name in TASK_NAMES:
        weights = np.asarray(trained[name].recurrent_weights, dtype=np.float64)
        dt = tt._task(config, name).dt
        hz = []
        for w in weights:
            eig = np.linalg.eigvals(w)
            leading = eig[np.argmax(eig.real)]
            hz.append(abs(np.angle(leading)) / (2 * np.pi * dt) * 1000)
        np.testing.assert_allclose(arrays[f"{name}.leading_frequency_hz_after"], hz, rtol=1e-9)
        np.testing.assert_allclose(
            arrays[f"{name}.leading_angle_after"], np.array(hz) * 2 * np.pi * dt / 1000
        )
        for i, init in enumerate(config.inits):
            assert metrics[f"{name}.{init}.leading_frequency_hz_after_mean"] == pytest.approx(
                float(np.mean(hz[i * per_init : (i + 1) * per_init]))
            )
        assert arrays[f"{name}.epochs_trained"].shape == (2 * per_init,)
        assert arrays[f"{name}.solved"].dtype == bool
    paths = tt.figures(results, config, tmp_path)
    names = {path.stem for path in paths}
    expected = {"task_outputs", "henrici", "solution_diversity", "initialisation"}
    expected |= {"leading_eigenvalue", "pruning_and", "delay_sweep", "size_sweep"}
    expected |= {f"spectrum_{name}" for name in TASK_NAMES}
    assert expected <= names, expected - names
    assert all(path.stat().st_size > 5000 for path in paths)


def test_shape_summaries_give_the_published_numbers():
    """The summaries applied to the authors' curves give what the paper states: pruning
    tolerated to ~10 % and breaking at 12-14 %; delay plateau 1.8x the 25 ms distance;
    size plateau (250-450 units) 0.62x the N = 50 distance (spec §5.4)."""
    from rnnlab.experiments import _temporal_degradation as d

    pruning = d.pruning_shape(d.PAPER_PRUNING_FRACTIONS, d.PAPER_PRUNING_DISTANCE)
    assert pruning["tolerated_fraction"] == 0.10
    assert pruning["knee_fraction"] == 0.14
    assert pruning["ratio_at_20"] >= 5  # "at 20 % >= 5x undamaged"
    delay = d.delay_shape(d.PAPER_DELAYS, d.PAPER_DELAY_DISTANCE)
    assert delay["ratio_plateau_to_25"] == pytest.approx(1.8, abs=0.01)
    assert delay["spearman"] > 0.8
    size = d.size_shape(d.PAPER_SIZES, d.PAPER_SIZE_DISTANCE)
    assert size["ratio_plateau_to_50"] == pytest.approx(0.62, abs=0.01)
    assert size["spearman"] < -0.8
    # "no clear gain beyond N ~ 250": (1.08 + 1.04 + 1.20) / 3 against (1.05 + 1.08 + 1.05) / 3
    assert size["gain_beyond_250"] == pytest.approx(1 - 3.32 / 3.18)
    # a curve that never triples has no knee, and everything up to the end is tolerated
    flat = d.pruning_shape([0.0, 0.1, 0.2], [1.0, 1.5, 1.9])
    assert flat == {"knee_fraction": None, "tolerated_fraction": 0.2, "ratio_at_20": 1.9}
    # tolerated ends at the first fraction beyond 2x, even if the curve comes back
    dip = d.pruning_shape([0.0, 0.1, 0.2, 0.3], [1.0, 2.5, 1.5, 2.9])
    assert (dip["tolerated_fraction"], dip["knee_fraction"]) == (0.0, None)
    with pytest.raises(ValueError, match="must start at 0"):
        d.pruning_shape([0.1, 0.2], [1.0, 2.0])


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"delays": [250.0]}, "response_delay=250.0"),
        ({"sweep_init": "zeros"}, "zeros"),
        ({"label_window": 10, "label_steps": 5}, "label_window=10"),
        ({"sizes": [0]}, "sizes entry 0"),
        ({"model": "rate", "sweep_stacking": "stack"}, "sweep_stacking='stack' pads Elman"),
        ({"inits": ["orthogonal", "zeros"]}, "initialiser 'zeros' is unknown"),
        ({"inits": ["normal", "random_normal"]}, "inits lists 'normal' twice"),
        ({"inits": ["identity"]}, "pruning_init='orthogonal' is not among inits"),
        ({"learning_rate_decay": -1e-4}, "learning_rate_decay"),
        ({"task_num_trials": {"flip": 25000}}, "task_num_trials names task 'flip'"),
        ({"task_num_trials": {"flipflop": 0}}, "=0 must be > 0; e.g. 25000"),
        ({"task_fields": {"and": {"tail": float("inf")}}}, "tail=inf must be a finite number"),
        ({"task_fields": {"or": {"input_noise_std": float("nan")}}}, "input_noise_std=nan"),
        ({"delays": [float("inf")]}, "delays.0: Input should be a finite number"),
        ({"loss_threshold_scale": float("inf")}, "loss_threshold_scale"),
        ({"clip_norm": 0.0}, "clip_norm: Input should be greater than 0"),
        ({"model": "rate", "tasks": ["and"], "task_fields": {"and": {"dt": "a"}}}, "dt='a'"),
        ({"model": "rate", "tasks": ["and"], "task_fields": {"and": {"dt": None}}}, "dt=None"),
    ],
)
def test_bad_sweep_config_is_one_line(overrides, fragment):
    with pytest.raises(InvalidInputError, match=fragment) as info:
        EXPERIMENT.make_config(overrides=overrides)
    assert "\n" not in str(info.value)


def test_task_fields_go_on_top_of_the_task_defaults():
    """NOT trains without input noise whatever else task_fields sets for it, unless it sets
    the noise; other tasks keep their own noise."""
    from rnnlab.experiments._temporal_tasks import _task

    tail_only = EXPERIMENT.make_config(overrides={"task_fields": {"not": {"tail": 60}}})
    assert (_task(tail_only, "not").input_noise_std, _task(tail_only, "not").tail) == (0.0, 60)
    assert _task(tail_only, "xor").input_noise_std == 0.1
    noisy = EXPERIMENT.make_config(overrides={"task_fields": {"not": {"input_noise_std": 0.1}}})
    assert _task(noisy, "not").input_noise_std == 0.1
    assert _task(EXPERIMENT.make_config(), "not").input_noise_std == 0.0
    quick = EXPERIMENT.make_config(quick=True, overrides={"task_fields": {}})
    assert _task(quick, "not").input_noise_std == 0.0


def test_a_run_without_and_has_every_pruning_summary_null():
    config = EXPERIMENT.make_config(
        quick=True,
        overrides={
            **SMALL_AND,
            "tasks": ["not"],
            "task_fields": {"not": {"tail": 30}},
            "num_trials": 64,
            "max_epochs": 1,
        },
    )
    metrics = EXPERIMENT.run(config, key=jr.key(0), progress=SilentProgress()).metrics
    assert {name: metrics[name] for name in tt.PRUNING_SUMMARIES} == dict.fromkeys(
        tt.PRUNING_SUMMARIES
    )
    assert len(tt.PRUNING_SUMMARIES) == 10 and np.isfinite(metrics["not.distance"])


def test_task_num_trials_sets_one_tasks_epoch_and_leaves_the_sweeps():
    from rnnlab.experiments._temporal_tasks import _options

    config = EXPERIMENT.make_config(
        overrides={"task_num_trials": {"flipflop": 25000, "interval": 640}}
    )
    assert (_options(config, "flipflop").num_trials, _options(config, "and").num_trials) == (
        25000,
        15000,
    )
    assert _options(config, "flipflop").updates_per_epoch == 25000 // 64 == 390
    assert _options(config, "interval").num_trials == 640
    assert _options(config, "interval", sweep=True).num_trials == 15000


def test_pruning_init_takes_the_initialisers_aliases():
    config = EXPERIMENT.make_config(overrides={"pruning_init": "random_normal"})
    assert config.pruning_init == "normal"


def test_the_authors_optimiser_reaches_the_training_options():
    """--set learning_rate=1e-4 --set learning_rate_decay=1e-4 --set clip_norm=null
    --set restore_best=false: Adam at lr_k = 1e-4/(1 + 1e-4 k) without clipping, checked on
    the first two updates, keeping the last epoch's networks."""
    from rnnlab.experiments._temporal_tasks import _options
    from rnnlab.learning import make_optimiser

    config = EXPERIMENT.make_config(
        overrides={
            "learning_rate": 1e-4,
            "learning_rate_decay": 1e-4,
            "clip_norm": None,
            "restore_best": False,
        }
    )
    options = _options(config, "and")
    assert not options.restore_best and _options(EXPERIMENT.make_config(), "and").restore_best
    assert (options.learning_rate, options.learning_rate_decay) == (1e-4, 1e-4)
    assert options.clip_norm is None and options.loss_threshold == pytest.approx(5e-4)
    # one Adam step from zero state moves a parameter by lr_k (|g|/(|g| + eps) ~ 1)
    optimiser = make_optimiser(options)
    params = jnp.zeros(1)
    steps = []
    with jax.numpy_dtype_promotion("standard"):  # optax's int32 step count, as in training
        state = optimiser.init(params)
        for _ in range(2):
            step, state = optimiser.update(jnp.ones(1), state, params)
            steps.append(-float(step[0]))
    assert steps[0] == pytest.approx(1e-4, rel=1e-6)
    assert steps[1] == pytest.approx(1e-4 / (1 + 1e-4), rel=1e-6)


def test_a_rerun_on_the_same_directory_resumes_every_cell(tmp_path, monkeypatch):
    """The run directory passes OUT/checkpoints: a second run (as after a kill) resumes
    each training cell from its checkpoint, trains nothing and gives the same numbers."""
    import json

    import rnnlab.experiments._temporal_tasks as tt
    from rnnlab.experiments._rundir import run_experiment

    overrides = {
        "tasks": ["and", "not"],
        "hidden_size": 8,
        "members_per_init": 1,
        "num_trials": 64,
        "max_epochs": 2,
        "eval_trials": 8,
        "pruning_fractions": [0.0, 0.3],
        "task_fields": {"and": {"tail": 30}, "not": {"tail": 30}},
        "label_steps": 50,
        "label_window": 20,
        "fixed_point_networks": 0,
        "delays": [25.0],
        "sizes": [],
        "sweep_members": 1,
        "sweep_task_fields": {"trial_length": 120},
    }
    config = EXPERIMENT.make_config(quick=True, overrides=overrides)
    resumed = []
    train = tt.train_bptt

    def recording(*args, **kwargs):
        result = train(*args, **kwargs)
        resumed.append(result.resumed_from)
        return result

    monkeypatch.setattr(tt, "train_bptt", recording)
    assert run_experiment(EXPERIMENT, config, tmp_path)["state"] == "done"
    first = json.loads((tmp_path / "metrics.json").read_text())
    cells = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert cells == ["interval-delay25-N8", "task-and", "task-not"]
    assert resumed == [0, 0, 0]
    assert run_experiment(EXPERIMENT, config, tmp_path)["state"] == "done"
    assert resumed[3:] == [2, 2, 2]  # every cell resumed after its last (second) epoch
    assert json.loads((tmp_path / "metrics.json").read_text()) == first
    # same seed, fresh directory: the same numbers
    assert run_experiment(EXPERIMENT, config, tmp_path / "fresh")["state"] == "done"
    assert json.loads((tmp_path / "fresh" / "metrics.json").read_text()) == first
    assert resumed[6:] == [0, 0, 0]
    # killed right after the first epoch's checkpoint of the first cell: the rerun resumes
    # that cell from epoch 1, trains the rest afresh and ends with the same numbers
    killed = tmp_path / "killed"

    def kill_after_first_epoch(*args, **kwargs):
        def kill(epoch, losses):
            raise RuntimeError(f"killed after epoch {epoch}")

        return recording(*args, on_epoch_end=kill, **kwargs)

    monkeypatch.setattr(tt, "train_bptt", kill_after_first_epoch)
    status = run_experiment(EXPERIMENT, config, killed)
    assert status["state"] == "failed" and "killed after epoch 1" in status["error"]
    monkeypatch.setattr(tt, "train_bptt", recording)
    del resumed[:]
    assert run_experiment(EXPERIMENT, config, killed)["state"] == "done"
    assert resumed == [1, 0, 0]
    assert json.loads((killed / "metrics.json").read_text()) == first
    # another config into the same directory is refused before anything there changes
    other = EXPERIMENT.make_config(quick=True, overrides={**overrides, "hidden_size": 6})
    with pytest.raises(InvalidInputError, match="differs in hidden_size") as info:
        run_experiment(EXPERIMENT, other, tmp_path)
    assert "\n" not in str(info.value) and "give another --out" in str(info.value)
    assert json.loads((tmp_path / "metrics.json").read_text()) == first
    assert json.loads((tmp_path / "status.json").read_text())["state"] == "done"
    # a change outside the training (here the evaluation) resumes every cell
    del resumed[:]
    more_trials = EXPERIMENT.make_config(quick=True, overrides={**overrides, "eval_trials": 16})
    assert run_experiment(EXPERIMENT, more_trials, tmp_path)["state"] == "done"
    assert resumed == [2, 2, 2]


def test_a_cell_where_every_network_diverges_fails_the_run_with_the_reason(tmp_path):
    from rnnlab.experiments._rundir import run_experiment

    config = EXPERIMENT.make_config(
        quick=True,
        overrides={
            "tasks": ["and"],
            "hidden_size": 6,
            "members_per_init": 1,
            "num_trials": 64,
            "max_epochs": 2,
            "learning_rate": 1e30,
            "clip_norm": None,
            "delays": [],
            "sizes": [],
        },
    )
    status = run_experiment(EXPERIMENT, config, tmp_path)
    assert status["state"] == "failed"
    assert "task-and cell diverged" in status["error"] and "lower learning_rate" in status["error"]
    assert not (tmp_path / "metrics.json").exists()


def test_inits_choose_the_arms_and_keep_each_arms_networks():
    """``inits`` sets the arms: identity (IRNN) starts every network at W = I, so every
    initial eigenvalue is exactly 1 and the Henrici departure 0; a run of some arms builds
    the same initial networks as a run of others that share them (keys by name)."""
    overrides = {**SMALL_AND, "members_per_init": 2, "num_trials": 64, "max_epochs": 1}
    runs = {}
    for inits in (["identity", "normal"], ["orthogonal", "normal"]):
        config = EXPERIMENT.make_config(
            quick=True, overrides={**overrides, "inits": inits, "pruning_init": "normal"}
        )
        runs[inits[0]] = EXPERIMENT.run(config, key=jr.key(0), progress=SilentProgress())
    identity = runs["identity"]
    eigenvalues = identity.arrays["and.eigenvalues_before"]
    np.testing.assert_array_equal(eigenvalues[:2], np.ones((2, 8)))
    assert identity.metrics["and.identity.henrici_before_mean"] == 0.0
    assert "and.orthogonal.accuracy_mean" not in identity.metrics
    assert "init.epochs_to_criterion.identity" in identity.metrics
    # the normal arm is the same two networks in both runs, whatever stands before it
    np.testing.assert_array_equal(
        eigenvalues[2:], runs["orthogonal"].arrays["and.eigenvalues_before"][2:]
    )
    assert np.all(np.abs(runs["orthogonal"].arrays["and.eigenvalues_before"][:2]) > 0.999)


def test_stacked_size_sweep_gives_the_separate_cells_numbers(tmp_path):
    """sweep_stacking=stack trains the sizes 6 and 8 as one stack padded to 8 (20 units,
    beyond 1.5x, alone): 2 trainings of the sweep instead of 3, and every cell's mean
    distance and accuracy equal those of its own run (sweep_stacking=cells) to rounding.
    A cell whose own checkpoint folder exists (begun unstacked, e.g. on a CPU) is not
    stacked again: it resumes alone."""
    overrides = {
        **SMALL_AND,
        "members_per_init": 1,
        "num_trials": 128,
        "max_epochs": 3,
        "sizes": [6, 8, 20],
        "size_sweep_delay": 25.0,
        "sweep_members": 2,
        "sweep_learning_rate": 3e-3,
        "sweep_task_fields": {"trial_length": 120},
    }
    runs = {}
    for mode in ("cells", "stack"):
        config = EXPERIMENT.make_config(
            quick=True, overrides={**overrides, "sweep_stacking": mode}
        )
        runs[mode] = run_recording_trained(config)
    (cells, cell_calls), (stacked, stack_calls) = runs["cells"], runs["stack"]
    assert [c.recurrent_weights.shape for c in cell_calls[1:]] == [(2, n, n) for n in (6, 8, 20)]
    assert [c.recurrent_weights.shape for c in stack_calls[1:]] == [(4, 8, 8), (2, 20, 20)]
    for size in (6, 8, 20):
        for kind in ("distance", "accuracy"):
            name = f"size.{kind}.N={size}"
            assert stacked.metrics[name] == pytest.approx(cells.metrics[name], rel=1e-5), name
    assert cells.metrics["size.distance.N=6"] != pytest.approx(cells.metrics["size.distance.N=8"])
    (tmp_path / "interval-delay25-N6").mkdir()  # as a cell begun on its own leaves it
    config = EXPERIMENT.make_config(quick=True, overrides={**overrides, "sweep_stacking": "stack"})
    resumed, resumed_calls = run_recording_trained(config, checkpoint_dir=tmp_path)
    assert [c.recurrent_weights.shape for c in resumed_calls[1:]] == [
        (2, n, n) for n in (6, 8, 20)
    ]
    assert resumed.metrics["size.distance.N=6"] == cells.metrics["size.distance.N=6"]
    assert tt._size_groups([500, 50, 75, 76, 300, 450]) == [[50, 75], [76], [300, 450], [500]]


@pytest.mark.parametrize("mode", ["cells", "stack"])
def test_a_sweep_cell_trained_in_parts_is_the_whole_cell(tmp_path, mode):
    """sweep_member_offset: networks [1, 3) of each sweep cell, trained as a run of their
    own, start from the weights and see the batches they have in the whole 3-network cell,
    so they end with its trained weights and per-network scores (to rounding), on their own
    cells or stacked, and checkpoint in a folder of their own."""
    overrides = {
        **SMALL_AND,
        "members_per_init": 1,
        "num_trials": 128,
        "max_epochs": 2,
        "delays": [25.0] if mode == "cells" else [],
        "sizes": [6, 8],
        "size_sweep_delay": 25.0,
        "sweep_learning_rate": 3e-3,
        "sweep_stacking": mode,
        "sweep_task_fields": {"trial_length": 120},
    }
    whole, whole_calls = run_recording_trained(
        EXPERIMENT.make_config(quick=True, overrides={**overrides, "sweep_members": 3}),
        checkpoint_dir=tmp_path / "whole",
    )
    part, part_calls = run_recording_trained(
        EXPERIMENT.make_config(
            quick=True,
            overrides={**overrides, "sweep_members": 2, "sweep_member_offset": 1},
        ),
        checkpoint_dir=tmp_path / "part",
    )
    for kind in ("size", "delay") if mode == "cells" else ("size",):
        for field in ("distance", "accuracy"):
            name = f"{kind}.network_{field}"
            assert whole.arrays[name].shape[1] == 3 and part.arrays[name].shape[1] == 2
            np.testing.assert_allclose(
                part.arrays[name], whole.arrays[name][:, 1:], rtol=1e-5, err_msg=name
            )
    # the trained weights: per cell (3 networks vs 2), or one stack of both sizes
    members = (3, 2) if mode == "cells" else (6, 4)
    for whole_cell, part_cell in zip(whole_calls[1:], part_calls[1:], strict=True):
        w, p = whole_cell.recurrent_weights, part_cell.recurrent_weights
        assert (w.shape[0], p.shape[0]) == members
        keep = [1, 2] if mode == "cells" else [1, 2, 4, 5]
        np.testing.assert_allclose(p, w[np.array(keep)], rtol=1e-4, atol=1e-6)
    folders = sorted(p.name for p in (tmp_path / "part").iterdir())
    assert all(f.endswith("-networks1-2") for f in folders if f.startswith("interval"))
    assert not np.allclose(
        whole.arrays["size.network_distance"][:, 0], part.arrays["size.network_distance"][:, 0]
    )


def test_size_scaled_rates_train_each_cell_at_its_own_rate_stacked_or_not(tmp_path, monkeypatch):
    """size_sweep_rate_exponent = 0.5 trains the cell of N units at eta (N0/N)^0.5 (N0 =
    hidden_size = 8): N = 6 at 3e-3 sqrt(8/6), on its own or in a stack with N = 8 (one
    Adam rate, per-member rate_scales); the stack's numbers are the cells' to rounding."""
    overrides = {
        **SMALL_AND,
        "members_per_init": 1,
        "num_trials": 128,
        "max_epochs": 2,
        "sizes": [6, 8],
        "size_sweep_delay": 25.0,
        "sweep_members": 2,
        "sweep_learning_rate": 3e-3,
        "size_sweep_rate_exponent": 0.5,
        "sweep_task_fields": {"trial_length": 120},
    }
    calls = []
    train = tt.train_bptt

    def recording(models, task, **kwargs):
        scales = kwargs.get("rate_scales")
        calls.append((kwargs["options"].learning_rate, None if scales is None else list(scales)))
        return train(models, task, **kwargs)

    monkeypatch.setattr(tt, "train_bptt", recording)
    runs, folders = {}, {}
    for mode in ("cells", "stack"):
        config = EXPERIMENT.make_config(
            quick=True, overrides={**overrides, "sweep_stacking": mode}
        )
        out = tmp_path / mode
        runs[mode] = EXPERIMENT.run(
            config, key=jr.key(0), progress=SilentProgress(), checkpoint_dir=out
        ).metrics
        folders[mode] = sorted(p.name for p in out.iterdir())
    rate6, ratio = 3e-3 * np.sqrt(8 / 6), np.sqrt(6 / 8)
    cells, stack = calls[1:3], calls[4:]
    assert [rate for rate, _ in cells] == pytest.approx([rate6, 3e-3], rel=1e-12)
    assert len(stack) == 1 and stack[0][0] == pytest.approx(rate6, rel=1e-12)
    np.testing.assert_allclose(stack[0][1], [1, 1, ratio, ratio], rtol=1e-12)
    assert folders["cells"] == [
        "interval-delay25-N6-lr0.003464",
        "interval-delay25-N8",
        "task-and",
    ]
    assert folders["stack"] == ["interval-delay25-N6+8-lr0.003464-0.003", "task-and"]
    for name in ("size.distance.N=6", "size.accuracy.N=6", "size.distance.N=8"):
        assert runs["stack"][name] == pytest.approx(runs["cells"][name], rel=1e-5), name


def test_one_value_for_a_list_field_is_a_one_element_list():
    config = EXPERIMENT.make_config(overrides={"tasks": "xor", "delays": 25.0, "sizes": 50})
    assert (config.tasks, config.delays, config.sizes) == (["xor"], [25.0], [50])


@pytest.mark.slow
def test_full_mode_goals():
    """The issue's goals at the paper's sizes (many hours on 2 CPU cores; see the module
    docstring of rnnlab.experiments._temporal_tasks for the cost)."""
    config = EXPERIMENT.make_config(seed=0)
    metrics = EXPERIMENT.run(config, key=jr.key(0), progress=SilentProgress()).metrics
    for name in TASK_NAMES:
        assert metrics[f"{name}.accuracy"] >= 0.95, name
    # the pruning curve's shape beside the authors' (tolerated ~10 %, breaking at 12-14 %),
    # by the issue's definitions, within two steps of the 2 % pruning grid: measured at 20
    # orthogonal AND networks (docs/results.md) 10 % / 10 % at the default 3e-4, 14 % / 12 %
    # at 1e-3 and 14 % / 8 % with the authors' optimiser
    assert 0.06 <= metrics["pruning.tolerated_fraction"] <= 0.14
    assert 0.10 <= metrics["pruning.break_fraction"] <= 0.16
    assert metrics["pruning.ratio_at_20"] >= 5
    # graceful degradation with delay and size (spec §5.4 acceptance); the 24 delay cells
    # at 20 networks each, run as separate processes at the defaults (docs/results.md,
    # 2026-12-05): Spearman 25-110 ms 0.942, plateau / d(25) 1.58 (2.03 before restore_best)
    assert metrics["delay.spearman_25_110"] > 0.8
    assert metrics["delay.ratio_plateau_to_25"] == pytest.approx(1.8, abs=0.3)
    # measured on a CPU at the defaults with 20 networks in every size cell, run by parts
    # (docs/results.md, 2026-12-07): 0.557 (0.49 at one rate of 1e-4)
    assert metrics["size.ratio_plateau_to_50"] == pytest.approx(0.62, abs=0.1)
    # "no clear gain beyond N ~ 250": the distance above 350 units at most 10 % below that
    # of 250-350 (the authors' -4 %; ours 0.3 % from the same cells)
    assert metrics["size.gain_beyond_250"] < 0.1


def test_the_rate_model_runs_every_analysis(tmp_path):
    """model=rate: the continuous-time network (Euler steps of dt = 1 ms, tau = 2 ms)
    trains on AND and NOT (with its bias), and the fixed points' read-out is
    W tanh(h*) + c, computed here by NumPy from the trained weights."""
    from rnnlab.models import EulerRateRNN

    config = EXPERIMENT.make_config(
        quick=True,
        overrides={
            "model": "rate",
            "tau": 2.0,
            "tasks": ["and", "not"],
            "hidden_size": 16,
            "learning_rate": 3e-3,
            "members_per_init": 1,
            "num_trials": 512,
            "max_epochs": 10,
            "eval_trials": 64,
            "pruning_fractions": [0.0, 0.3],
            "task_fields": {"and": {"tail": 30}, "not": {"tail": 30, "input_noise_std": 0.0}},
            "label_steps": 300,
            "label_window": 100,
            "fixed_point_networks": 1,
            "fixed_point_starts": 32,
            "delays": [],
            "sizes": [],
        },
    )
    results, (trained_and, trained_not) = run_recording_trained(config)
    m, a = results.metrics, results.arrays
    assert isinstance(trained_and, EulerRateRNN) and trained_not.bias is not None
    np.testing.assert_array_equal(np.asarray(trained_and.network.tau), [2.0, 2.0])
    assert m["and.accuracy"] >= 0.75, m["and.accuracy"]
    # read-out of the fixed points of the first AND network, by hand
    first = unstack_model(trained_and, 0)
    points = a["and.fixed_points"]
    expected = np.tanh(points) @ np.asarray(
        first.network.readout_weights, np.float64
    ).T + np.asarray(first.readout_bias, np.float64)
    np.testing.assert_allclose(a["and.fixed_points_readout"], expected, rtol=1e-5, atol=1e-6)
    # pruning acts on J: 30 % pruned changes the distance, 0 % reproduces it
    assert m["pruning.both.distance=0.0"] == pytest.approx(m["and.orthogonal.distance_mean"])
    assert m["pruning.both.distance=0.3"] != m["pruning.both.distance=0.0"]


def test_rate_model_needs_tau_of_at_least_dt():
    with pytest.raises(InvalidInputError, match="tau=0.5"):
        EXPERIMENT.make_config(overrides={"model": "rate", "tau": 0.5})


def test_tolerated_fraction_stops_at_the_first_failure():
    fractions = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    assert tt._tolerated(fractions, [1.0, 0.95, 0.85, 0.6, 0.93]) == 0.1  # not 0.4
    assert tt._tolerated(fractions, [1.0, 1.0, 1.0, 1.0, 1.0]) == 0.4
    assert tt._tolerated(fractions, [0.5, 1.0, 1.0, 1.0, 1.0]) is None


def test_task_layout_builds_the_authors_generators(tmp_path):
    """task_layout='paper': every task and sweep cell is the preset jarne_laje_2023 spec
    (task_fields on top); the run trains on those trials, in its own checkpoint folders."""
    from rnnlab.experiments._rundir import run_experiment
    from rnnlab.experiments._temporal_tasks import _sweep_task, _task
    from rnnlab.tasks import jarne_laje_2023

    config = EXPERIMENT.make_config(overrides={"task_layout": "paper"})
    for name in config.tasks:
        fields = config.task_fields.get(name, {})
        assert _task(config, name) == jarne_laje_2023(name, "paper", **fields), name
    assert _task(config, "oscillation").num_steps == 420  # the stored network's layout
    assert _sweep_task(config, 150.0) == jarne_laje_2023("interval", "paper", response_delay=150.0)
    # the root scripts' delayed pulse ends at 100 ms: the default delays are refused
    with pytest.raises(InvalidInputError, match="response_delay=35.0"):
        EXPERIMENT.make_config(overrides={"task_layout": "root"})

    tiny = EXPERIMENT.make_config(
        quick=True,
        overrides={
            "task_layout": "paper",
            "task_fields": {},
            "tasks": ["and"],
            "hidden_size": 8,
            "members_per_init": 1,
            "num_trials": 64,
            "max_epochs": 1,
            "eval_trials": 8,
            "pruning_fractions": [0.0, 0.3],
            "label_steps": 50,
            "label_window": 20,
            "fixed_point_networks": 0,
            "delays": [30.0],
            "sizes": [],
            "sweep_members": 1,
        },
    )
    assert run_experiment(EXPERIMENT, tiny, tmp_path)["state"] == "done"
    cells = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert cells == ["interval-delay30-N8-paper", "task-and-paper"]
    with np.load(tmp_path / "arrays.npz") as arrays:
        inputs = arrays["and.sample_inputs"]
    expected = jarne_laje_2023("and", "paper")
    assert inputs.shape[1] == expected.num_steps == 210
    # the paper copy's noise-free AND: pulses of height A, B on [30, 50) ms, zero elsewhere
    assert np.all(inputs[:, :30] == 0.0) and np.all(inputs[:, 50:] == 0.0)
    np.testing.assert_array_equal(
        inputs[:, 30:50], np.repeat([[0, 0], [1, 0], [0, 1], [1, 1]], 20, 0).reshape(4, 20, 2)
    )


def test_the_size_sweep_trains_at_its_own_learning_rate(tmp_path, monkeypatch):
    """size_sweep_learning_rate (default None: the sweep rate) trains the size cells at
    their own Adam rate, in checkpoint folders named by it, and no longer shares the cell
    (delay 25, N 8) with the delay sweep, which keeps sweep_learning_rate; with None the
    size cell is the delay cell, trained once. The default run scales the size sweep's rate
    as sqrt(50/N) from the sweep rate (quick: one rate)."""
    full, quick = EXPERIMENT.make_config(), EXPERIMENT.make_config(quick=True)
    assert full.size_sweep_learning_rate is None and full.size_sweep_rate_exponent == 0.5
    assert tt._sweep_rate(full, "size", 50) == tt._sweep_rate(full, "delay") == 3e-4
    assert tt._sweep_rate(full, "size", 450) == pytest.approx(1e-4, rel=1e-12)
    assert tt._sweep_rate(quick, "size", 64) == tt._sweep_rate(quick, "delay")
    overrides = {
        **SMALL_AND,
        "members_per_init": 1,
        "num_trials": 128,
        "max_epochs": 2,
        "delays": [25.0],
        "sizes": [8],
        "size_sweep_delay": 25.0,
        "sweep_members": 1,
        "sweep_learning_rate": 3e-3,
        "sweep_task_fields": {"trial_length": 120},
    }
    rates = []
    train = tt.train_bptt

    def recording(models, task, **kwargs):
        rates.append(kwargs["options"].learning_rate)
        return train(models, task, **kwargs)

    monkeypatch.setattr(tt, "train_bptt", recording)
    runs = {}
    for size_rate in (None, 1e-3):
        config = EXPERIMENT.make_config(
            quick=True, overrides={**overrides, "size_sweep_learning_rate": size_rate}
        )
        out = tmp_path / str(size_rate)
        runs[size_rate] = EXPERIMENT.run(
            config, key=jr.key(0), progress=SilentProgress(), checkpoint_dir=out
        ).metrics
        runs[size_rate, "folders"] = sorted(p.name for p in out.iterdir())
    # AND at learning_rate, then the sweeps: shared (None), or one cell per rate
    assert rates == [1e-3, 3e-3, 1e-3, 3e-3, 1e-3]
    assert runs[None, "folders"] == ["interval-delay25-N8", "task-and"]
    assert runs[1e-3, "folders"] == [
        "interval-delay25-N8",
        "interval-delay25-N8-lr0.001",
        "task-and",
    ]
    shared, split = runs[None], runs[1e-3]
    assert shared["size.distance.N=8"] == shared["delay.distance.delay=25.0"]
    assert split["delay.distance.delay=25.0"] == shared["delay.distance.delay=25.0"]
    assert split["size.distance.N=8"] != split["delay.distance.delay=25.0"]
