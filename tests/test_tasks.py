"""Task generators against hand-computed trials; purity, vmap, jit; the accuracy measures."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy import stats
from scipy.signal.windows import hann

import rnnlab
from rnnlab.tasks import (
    TASKS,
    AbstractGateTask,
    AndTask,
    FlipFlopTask,
    IntervalTask,
    NotTask,
    OrTask,
    OscillationTask,
    XorTask,
    all_conditions,
    evaluate,
    make_task,
    sample_batch,
    sample_trial,
    trial_distance,
)


def gate_expected(a, b, answer, baseline, num_steps=200, onset=30, width=20, response=70):
    inputs = np.zeros((num_steps, 2))
    inputs[onset : onset + width, 0] = a
    inputs[onset : onset + width, 1] = b
    targets = np.full((num_steps, 1), baseline)
    targets[response:, 0] = answer
    return inputs, targets


@pytest.mark.parametrize(
    ("spec", "condition", "a", "b", "answer", "baseline"),
    [
        (AndTask(), 3, 1, 1, 1.0, 0.0),
        (AndTask(), 1, 1, 0, 0.0, 0.0),
        (OrTask(), 2, 0, 1, 1.0, 0.01),
        (OrTask(), 0, 0, 0, 0.0, 0.01),
        (XorTask(input_noise_std=0.0), 3, 1, 1, 0.0, 0.01),
        (XorTask(input_noise_std=0.0), 1, 1, 0, 1.0, 0.01),
    ],
)
def test_gate_trials_match_hand_computed(key, spec, condition, a, b, answer, baseline):
    trial = sample_trial(key, spec, condition=condition)
    inputs, targets = gate_expected(a, b, answer, baseline)
    np.testing.assert_array_equal(np.asarray(trial.inputs), inputs.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(trial.targets), targets.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(trial.mask), np.ones((200, 1)))
    assert int(trial.condition) == condition


def test_not_trial_and_noise_std(key):
    clean = sample_trial(key, NotTask(input_noise_std=0.0), condition=0)
    expected = np.full((200, 1), 0.01)
    expected[70:] = 1.0
    np.testing.assert_allclose(np.asarray(clean.targets), expected, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(clean.inputs), np.zeros((200, 1)))
    # default NOT: input noise 0.1 per step; on a silent trial the inputs are pure noise
    batch = jax.vmap(lambda k: sample_trial(k, NotTask(), condition=0))(jr.split(key, 50))
    assert abs(float(jnp.std(batch.inputs)) - 0.1) < 0.005


def test_delay_and_tail_set_the_layout(key):
    spec = OrTask(response_delay=45, tail=35, stimulus_onset=10, pulse_width=5)
    assert spec.num_steps == 10 + 5 + 45 + 35
    trial = sample_trial(key, spec, condition=1)
    assert float(trial.targets[59, 0]) == pytest.approx(0.01)
    assert float(trial.targets[60, 0]) == 1.0
    assert np.flatnonzero(np.asarray(trial.inputs[:, 0])).tolist() == list(range(10, 15))


def test_flipflop_trial_matches_hand_computed(key):
    spec = FlipFlopTask(num_pulses=3, pulse_interval=60, stimulus_onset=20, input_noise_std=0.0)
    assert spec.num_steps == 20 + 2 * 60 + 20 + 20 + 80
    trial = sample_trial(key, spec, condition=0b101)  # set, reset, set
    inputs = np.zeros((260, 2))
    inputs[20:40, 1] = 1  # pulse 0 on the set channel
    inputs[80:100, 0] = 1  # pulse 1 resets
    inputs[140:160, 1] = 1  # pulse 2 sets
    targets = np.full((260, 1), 0.01)
    targets[60:120] = 1.0
    targets[120:180] = 0.0
    targets[180:] = 1.0
    np.testing.assert_array_equal(np.asarray(trial.inputs), inputs)
    np.testing.assert_allclose(np.asarray(trial.targets), targets, rtol=1e-6)
    assert FlipFlopTask().num_steps == 1010


def test_oscillation_trial(key):
    spec = OscillationTask(input_noise_std=0.0)
    go = sample_trial(key, spec, condition=1)
    nogo = sample_trial(key, spec, condition=0)
    t = np.arange(380)
    inside = (t >= 140) & (t < 340)
    expected = 0.01 + np.where(inside, 0.5 * np.sin(2 * np.pi * (t - 140) / 35), 0.0)
    np.testing.assert_allclose(np.asarray(go.targets[:, 0]), expected, atol=1e-5)  # float32
    np.testing.assert_allclose(np.asarray(nogo.targets[:, 0]), 0.01, atol=1e-7)
    pulse = np.asarray(go.inputs[:, 0])
    assert pulse.sum() == pytest.approx(20.0, rel=1e-5)  # unit-sum smoothing keeps the area
    assert pulse.max() == pytest.approx(1.0, abs=1e-6)
    assert np.all(pulse[(t < 95) | (t >= 125)] == 0)
    assert float(jnp.max(jnp.abs(nogo.inputs))) == 0.0


def test_interval_trial(key):
    spec = IntervalTask(response_delay=100, input_noise_std=0.0, target_noise_std=0.0)
    go = sample_trial(key, spec, condition=1)
    y = np.asarray(go.targets[:, 0])
    assert go.targets.shape == (300, 1)
    # bump: Hann-smoothed [170, 190) of height 1 on the baseline 0.045
    assert y[:160].max() == pytest.approx(0.045)
    assert 175 <= int(np.argmax(y)) <= 184
    assert y.max() == pytest.approx(1.045, abs=1e-6)
    nogo = sample_trial(key, spec, condition=0)
    np.testing.assert_allclose(np.asarray(nogo.targets), 0.045, rtol=1e-6)
    noisy = sample_batch(key, IntervalTask(), 64)
    assert abs(float(jnp.std(noisy.targets[:, :40])) - 0.03) < 0.003


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: IntervalTask(response_delay=250), "after the trial's end"),
        (lambda: AndTask(pulse_width=-5), "pulse_width=-5"),
        (lambda: AndTask(pulse_width=0), "pulse_width=0"),
        (lambda: OrTask(response_delay=2.5), "multiple of dt"),
        (lambda: XorTask(tail=0), "after the trial's end"),
        (lambda: FlipFlopTask(pulse_interval=10), "pulse_interval"),
        # a layout whose scored window would be empty (every output would score 1)
        (lambda: AndTask(tail=10), "make tail > 10"),
        (lambda: AndTask(tail=30, response_jitter=25), "make tail > 35"),
        (lambda: FlipFlopTask(tail=10), "tail > response_jitter + settling = 10"),
        (lambda: FlipFlopTask(pulse_interval=25, settling=30), "pulse_interval > settling"),
        (lambda: OscillationTask(period=1), "period"),
        (lambda: IntervalTask(high_level=2.0), "high_level=2.0 has no effect on IntervalTask"),
        (lambda: OscillationTask(high_level=0.5), "set amplitude (of the sine) instead"),
        (lambda: make_task("nand"), "task='nand'"),
        (lambda: make_task("and", colour=1), "'colour' is not a field of AndTask"),
        (lambda: make_task("and", pulse_width="abc"), "pulse_width='abc' must be a number"),
        (lambda: make_task("or", pulse_amplitude=True), "pulse_amplitude=True must be"),
        (
            lambda: IntervalTask(stimulus_onset=290, response_delay=0),
            "use trial_length >= 330.0 or an earlier stimulus_onset",
        ),
        (
            lambda: IntervalTask(response_delay=250),
            "use response_delay <= 210.0 or trial_length >= 340.0",
        ),
    ],
)
def test_bad_parameters_raise_one_line(make, fragment):
    with pytest.raises(rnnlab.InvalidInputError) as info:
        make()
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_contract_same_key_vmap_jit(key, name):
    spec = make_task(name, **({"num_pulses": 3} if name == "flipflop" else {}))
    keys = jr.split(key, 3)
    one = sample_trial(keys[0], spec)
    again = sample_trial(keys[0], spec)
    for a, b in zip(one, again, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    batch = jax.vmap(lambda k: sample_trial(k, spec))(keys)
    jitted = jax.jit(sample_trial)(keys[1], spec)
    for i in range(3):
        loop = sample_trial(keys[i], spec)
        for a, b in zip(loop, batch, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b[i]), rtol=1e-6, atol=1e-5)
    for a, b in zip(jitted, sample_trial(keys[1], spec), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-5)
    assert batch.inputs.shape == (3, spec.num_steps, spec.num_inputs)
    assert batch.targets.shape == (3, spec.num_steps, spec.num_outputs)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_sample_batch_is_sample_trial_of_each_split_key(key, name):
    """sample_batch draws in compiled chunks of TRIAL_CHUNK trials (the last one padded):
    every trial must be exactly sample_trial of its own key of jr.split(key, n), compiled
    as one program, whatever n; all_conditions likewise with the condition given."""
    from rnnlab.tasks._base import TRIAL_CHUNK

    spec = make_task(name, **({"num_pulses": 3} if name == "flipflop" else {}))
    for count in (1, TRIAL_CHUNK, TRIAL_CHUNK + 3):
        keys = jr.split(key, count)
        reference = jax.jit(jax.vmap(lambda k: sample_trial(k, spec)))(keys)
        for a, b in zip(sample_batch(key, spec, count), reference, strict=True):
            assert a.shape[0] == count
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # raw uint32 keys (jax.random.PRNGKey) work too, padded chunk included
    raw = jax.random.PRNGKey(7)
    reference = jax.jit(jax.vmap(lambda k: sample_trial(k, spec)))(jr.split(raw, 3))
    for a, b in zip(sample_batch(raw, spec, 3), reference, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(rnnlab.InvalidInputError, match="batch_size=0 must be a positive"):
        sample_batch(key, spec, 0)
    conditions = jnp.arange(spec.num_conditions, dtype=jnp.int32)
    keys = jr.split(key, spec.num_conditions)
    reference = jax.jit(jax.vmap(lambda k, c: sample_trial(k, spec, condition=c)))(
        keys, conditions
    )
    for a, b in zip(all_conditions(key, spec), reference, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_conditions_are_uniform(key):
    conditions = np.asarray(sample_batch(key, XorTask(), 4000).condition)
    counts = np.bincount(conditions, minlength=4)
    assert stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.parametrize("name", sorted(TASKS))
def test_clean_target_scores_one_and_silence_fails(key, name):
    spec = make_task(name, **({"num_pulses": 3} if name == "flipflop" else {}))
    trials = all_conditions(key, spec) if spec.num_conditions <= 8 else sample_batch(key, spec, 8)
    clean = jax.vmap(spec.clean_trial)(trials.condition, trials.response_shift)
    perfect = evaluate(clean.targets, trials, spec)
    np.testing.assert_array_equal(np.asarray(perfect["accuracy"]), 1.0)
    silent = jnp.full_like(clean.targets, spec.baseline)
    accuracy = np.asarray(evaluate(silent, trials, spec)["accuracy"])
    assert accuracy.mean() < 1.0


def test_gate_accuracy_is_a_sign_test():
    spec = AndTask()
    trial = sample_trial(jr.key(0), spec, condition=3)
    outputs = jnp.zeros((200, 1)).at[80:, 0].set(0.51)
    assert float(spec.score(outputs, trial)) == 1.0
    assert float(spec.score(outputs.at[80:, 0].set(0.49), trial)) == 0.0


def test_an_empty_level_window_scores_zero():
    """The sign test on a window with no steps has nothing to test: 0, never a free 1."""
    from rnnlab.tasks._base import level_window_accuracy

    outputs = jnp.zeros((20, 1))
    targets = jnp.zeros((20, 1))
    assert float(level_window_accuracy(outputs, targets, [(5, 10)], 0.5)) == 1.0
    assert float(level_window_accuracy(outputs, targets, [(5, 10), (12, 12)], 0.5)) == 0.5
    strict = level_window_accuracy(outputs, targets, [(20, 20)], 0.5, strict=True)
    assert float(strict) == 0.0


def test_distance_is_the_euclidean_norm():
    outputs = jnp.zeros((200, 1))
    targets = jnp.full((200, 1), 0.1)
    assert float(trial_distance(outputs, targets)) == pytest.approx(0.1 * np.sqrt(200))


def test_documented_new_task_in_a_few_lines(key):
    class SameTask(AbstractGateTask):
        """High when A == B (XNOR)."""

        @property
        def num_inputs(self) -> int:
            return 2

        def gate(self, levels):
            return 1 - (levels[0] ^ levels[1])

    trials = all_conditions(key, SameTask(response_delay=40, input_noise_std=0.0))
    assert np.asarray(trials.targets[:, -1, 0]).tolist() == [1.0, 0.0, 0.0, 1.0]


def test_strict_accuracy_needs_every_step_of_the_window():
    """A hand-made AND output: right on average over the response window but one step on
    the wrong side of the threshold passes the sign test and fails the strict one."""
    import dataclasses

    from rnnlab.tasks import AndTask, all_conditions

    task = AndTask(tail=30, input_noise_std=0.0)
    trial = jax.tree.map(lambda x: x[3], all_conditions(jr.key(0), task))  # A = B = 1
    start = task.response_onset + task.steps("settling")
    outputs = np.array(trial.targets, dtype=np.float32)  # high (1) from the response onset
    outputs[start + 5, 0] = 0.2  # one step below theta = 0.5
    strict_task = dataclasses.replace(task, strict_accuracy=True)
    assert float(task.score(jnp.asarray(outputs), trial)) == 1.0
    assert float(strict_task.score(jnp.asarray(outputs), trial)) == 0.0
    outputs[start - 3, 0] = 0.2  # inside the settling time: ignored by both
    outputs[start + 5, 0] = 1.0
    assert float(strict_task.score(jnp.asarray(outputs), trial)) == 1.0


def scipy_hann_smoothed(start, stop, num_steps, length=10, height=1.0):
    """A box of ``height`` on [start, stop) convolved (``mode="same"``) with SciPy's Hann
    window of length + 2 points without its zero ends, normalised to unit sum."""
    box = np.zeros(num_steps)
    box[start:stop] = height
    window = hann(length + 2)[1:-1]
    return np.convolve(box, window / window.sum(), mode="same")


def test_hann_smoothing_is_scipys_window():
    from rnnlab.tasks import hann_smoothing

    signal = np.zeros(60)
    signal[20:27] = 1.0
    signal[40] = -2.0
    for length in (2, 5, 10):
        window = hann(length + 2)[1:-1]
        expected = np.convolve(signal, window / window.sum(), mode="same")
        got = np.asarray(hann_smoothing(jnp.asarray(signal), length))
        np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(hann_smoothing(jnp.asarray(signal), 1)), signal)


def test_oscillation_and_interval_waveforms_sample_for_sample(key):
    """The smoothed pulses and the delayed bump, every step, against SciPy's Hann window."""
    go = sample_trial(key, OscillationTask(input_noise_std=0.0), condition=1)
    np.testing.assert_allclose(
        np.asarray(go.inputs[:, 0]), scipy_hann_smoothed(100, 120, 380), atol=1e-6
    )
    spec = IntervalTask(response_delay=100, input_noise_std=0.0, target_noise_std=0.0)
    go = sample_trial(key, spec, condition=1)
    np.testing.assert_allclose(
        np.asarray(go.inputs[:, 0]), scipy_hann_smoothed(50, 70, 300), atol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(go.targets[:, 0]), 0.045 + scipy_hann_smoothed(170, 190, 300), atol=1e-6
    )
