"""jarne_laje_2023 against the authors' layouts, rebuilt here in NumPy from the table of
spec §3.2-3.3 (onsets, widths, T, baselines, noise) and the construction of their
generators: a box of ones convolved with a kernel in SciPy's "same" mode."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy import signal
from scipy.signal import windows

import rnnlab
from rnnlab.tasks import (
    FlipFlopTask,
    IntervalTask,
    OscillationTask,
    all_conditions,
    evaluate,
    jarne_laje_2023,
    sample_batch,
    sample_trial,
)


def box_same(width, kernel):
    """``width`` ones convolved with ``kernel``: the ``width`` central samples of the full
    convolution, from index (len(kernel) - 1) // 2 (SciPy's "same" alignment)."""
    start = (len(kernel) - 1) // 2
    return np.convolve(np.ones(width), kernel, mode="full")[start : start + width]


def clean(spec, condition):
    """Noise-free trial of ``condition`` as float64 arrays (inputs, targets)."""
    trial = spec.clean_trial(jnp.asarray(condition, jnp.int32), jnp.zeros((), jnp.int32))
    return np.asarray(trial.inputs, np.float64), np.asarray(trial.targets, np.float64)


@pytest.mark.parametrize(
    ("width", "kernel"),
    [
        (20, windows.hann(10)),
        (40, windows.hann(15)),
        (20, windows.gaussian(20, std=12)),
        (220, np.sin(2 * np.pi * 12 / 420 * np.arange(420))),  # kernel longer than the box
        (180, np.sin(2 * np.pi * 12 / 340 * np.arange(340))),
    ],
)
def test_reference_alignment_is_scipy_same_mode(width, kernel):
    """The authors called scipy.signal.convolve(box, kernel, mode="same"); our NumPy
    reference of it must agree, for odd and even kernels, shorter or longer than the box."""
    expected = signal.convolve(np.ones(width), kernel, mode="same")
    np.testing.assert_allclose(box_same(width, kernel), expected, atol=1e-12)


# --- gates --------------------------------------------------------------------------------

GATES = {
    "and": (lambda a, b: a & b, 2),
    "or": (lambda a, b: a | b, 2),
    "xor": (lambda a, b: a ^ b, 2),
    "not": (lambda a, b: 1 - a, 1),
}
# (task, variant) -> (T at delay 20, baseline, input noise)
GATE_LAYOUT = {
    ("and", "root"): (200, 0.0, 0.0),
    ("and", "paper"): (210, 0.0, 0.0),
    ("or", "root"): (200, 0.01, 0.0),
    ("or", "paper"): (200, 0.01, 0.0),
    ("xor", "root"): (200, 0.01, 0.1),
    ("xor", "paper"): (200, 0.01, 0.0),
    ("not", "root"): (200, 0.01, 0.1),
    ("not", "paper"): (200, 0.01, 0.0),
}


@pytest.mark.parametrize(("task", "variant"), sorted(GATE_LAYOUT))
@pytest.mark.parametrize("delay", [20, 150])
def test_gate_layouts(task, variant, delay):
    num_steps, baseline, noise = GATE_LAYOUT[task, variant]
    num_steps += delay - 20  # T = 30 + 20 + delay + tail
    spec = jarne_laje_2023(task, variant, response_delay=delay)
    gate, num_inputs = GATES[task]
    assert spec.num_steps == num_steps
    assert (spec.input_noise_std, spec.target_noise_std, spec.baseline) == (noise, 0.0, baseline)
    for condition in range(2**num_inputs):
        levels = [(condition >> k) & 1 for k in range(num_inputs)]
        inputs = np.zeros((num_steps, num_inputs))
        inputs[30:50] = levels
        targets = np.full((num_steps, 1), baseline)
        targets[50 + delay :] = gate(levels[0], levels[-1])
        got_inputs, got_targets = clean(spec, condition)
        np.testing.assert_array_equal(got_inputs, inputs)
        np.testing.assert_allclose(got_targets, targets, atol=1e-8)


# --- flip-flop ----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["paper", "root"])
@pytest.mark.parametrize("delay", [20, 60])
def test_flipflop_layout_has_fixed_length(variant, delay):
    """8 pulses at 50 + 120k; the level of pulse k from 70 + 120k + delay to the next one;
    T = 1010 whatever the delay (the authors' max() expression)."""
    spec = jarne_laje_2023("flipflop", variant, response_delay=delay)
    assert spec.num_steps == 1010
    assert (spec.input_noise_std, spec.baseline) == (0.1, 0.01)
    condition = 0b10110100
    inputs = np.zeros((1010, 2))
    targets = np.full((1010, 1), 0.01)
    for k in range(8):
        channel = (condition >> k) & 1
        inputs[50 + 120 * k : 70 + 120 * k, channel] = 1.0
        targets[70 + 120 * k + delay : 190 + 120 * k + delay] = channel
    got_inputs, got_targets = clean(spec, condition)
    np.testing.assert_array_equal(got_inputs, inputs)
    np.testing.assert_allclose(got_targets, targets, atol=1e-8)


# --- oscillation --------------------------------------------------------------------------


def authors_oscillation(variant, delay):
    """(T, input of a go trial, go target, no-go target), per spec §3.3."""
    width, tail, scale, hann = (20, 20, 0.3, 10) if variant == "root" else (40, 40, 0.2, 15)
    num_steps = (140 if variant == "root" else 220) + delay
    start, stop = 120 + width, num_steps - tail
    inputs = np.zeros(num_steps)
    inputs[100 : 100 + width] = box_same(width, windows.hann(hann) / windows.hann(hann).sum())
    carrier = np.sin(2 * np.pi * 12 / num_steps * np.arange(num_steps))
    go = np.full(num_steps, 0.01)
    go[start:stop] = box_same(stop - start, carrier)
    nogo = np.full(num_steps, 0.01)
    nogo[start:stop] = 0.0
    return num_steps, inputs, scale * go, scale * nogo


@pytest.mark.parametrize(
    ("variant", "delay", "num_steps"),
    [("paper", 200, 420), ("paper", 150, 370), ("root", 200, 340), ("root", 150, 290)],
)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_oscillation_matches_the_convolution(variant, delay, num_steps, dtype):
    spec = jarne_laje_2023("oscillation", variant, response_delay=delay, dtype=dtype)
    expected_steps, inputs, go, nogo = authors_oscillation(variant, delay)
    assert spec.num_steps == expected_steps == num_steps
    assert spec.period == pytest.approx(num_steps / 12)
    assert (spec.input_noise_std, spec.target_noise_std) == (0.1, 0.0)
    tolerance = 1e-5 if dtype == jnp.float32 else 1e-12
    go_inputs, go_targets = clean(spec, 1)
    nogo_inputs, nogo_targets = clean(spec, 0)
    np.testing.assert_allclose(go_inputs[:, 0], inputs, atol=tolerance)
    np.testing.assert_allclose(go_targets[:, 0], go, atol=tolerance)
    np.testing.assert_allclose(nogo_targets[:, 0], nogo, atol=tolerance)
    np.testing.assert_array_equal(nogo_inputs, 0.0)


def test_oscillation_paper_at_200_numbers_by_hand():
    """T = 220 + 200 = 420, P = T/12 = 35 ms, window [160, 380), L = 220, and
    a = 0.2 |sin(pi 12 L/T) / sin(pi 12/T)| = 0.2 sin(2 pi/7) / sin(pi/35) = 1.7444."""
    spec = jarne_laje_2023("oscillation")  # the paper copy at its default delay, 200
    assert (spec.num_steps, spec.period) == (420, 35.0)
    assert spec.response_onset == 160 and spec.oscillation_duration == 220
    assert spec.amplitude == pytest.approx(0.2 * np.sin(2 * np.pi / 7) / np.sin(np.pi / 35))
    assert spec.amplitude == pytest.approx(1.7444, abs=1e-4)
    assert (spec.baseline, spec.response_baseline) == (pytest.approx(0.002), 0.0)
    assert (spec.stimulus_onset, spec.pulse_width, spec.response_delay) == (100, 40, 20)


@pytest.mark.parametrize(("variant", "delay"), [("paper", 200), ("root", 250), ("paper", 182)])
def test_oscillation_cut_edges_and_sinusoidal_interior(variant, delay):
    """Past delay 181 the kernel's ends fall inside the box: the target is the sinusoid
    (period, amplitude, phase) only in the interior; the preset gives the samples."""
    spec = jarne_laje_2023("oscillation", variant, response_delay=delay, dtype=jnp.float64)
    num_steps, _, go, _ = authors_oscillation(variant, delay)
    length, centre = int(spec.oscillation_duration), (num_steps - 1) // 2
    assert spec.response_shape is not None
    n = np.arange(length)
    sinusoid = spec.amplitude * np.sin(2 * np.pi * n / spec.period + spec.phase)
    window = go[spec.response_onset : spec.response_onset + length]
    interior = (n >= length - 1 - centre) & (n <= num_steps - 1 - centre)
    np.testing.assert_allclose(window[interior], sinusoid[interior], atol=1e-12)
    assert np.max(np.abs(window - sinusoid)[~interior]) > 1e-3


def test_oscillation_below_182_is_a_pure_sinusoid():
    spec = jarne_laje_2023("oscillation", "paper", response_delay=181)
    assert spec.response_shape is None
    assert spec.amplitude == pytest.approx(
        0.2 * abs(np.sin(np.pi * 12 * 201 / 401)) / np.sin(np.pi * 12 / 401)
    )


# --- delayed pulse ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "delay", "num_steps", "onset", "baseline", "noise", "peak"),
    [
        ("root", 20, 100, 30, 0.01, 0.1, 0.7165),
        ("root", 30, 100, 30, 0.01, 0.1, 0.7165),
        ("paper", 20, 300, 50, 0.045, 0.03, 0.9851),
        ("paper", 200, 300, 50, 0.045, 0.03, 0.9851),
    ],
)
def test_interval_layouts(variant, delay, num_steps, onset, baseline, noise, peak):
    spec = jarne_laje_2023("interval", variant, response_delay=delay)
    assert spec.num_steps == num_steps
    assert (spec.input_noise_std, spec.target_noise_std, spec.baseline) == (noise, noise, baseline)
    gaussian = windows.gaussian(20, std=12)
    if variant == "root":
        stimulus, bump = box_same(20, 0.04 * gaussian), box_same(20, 0.04 * gaussian)
    else:
        stimulus = box_same(20, windows.hann(10) / windows.hann(10).sum())
        bump = box_same(20, 0.055 * gaussian)
    assert bump.max() == pytest.approx(peak, abs=1e-4)
    response = onset + 20 + delay
    inputs = np.zeros(num_steps)
    inputs[onset : onset + 20] = stimulus
    go = np.full(num_steps, baseline)
    go[response : response + 20] = bump
    nogo = np.full(num_steps, baseline)
    nogo[response : response + 20] = 0.0
    go_inputs, go_targets = clean(spec, 1)
    nogo_inputs, nogo_targets = clean(spec, 0)
    np.testing.assert_allclose(go_inputs[:, 0], inputs, atol=1e-7)
    np.testing.assert_array_equal(nogo_inputs, 0.0)
    np.testing.assert_allclose(go_targets[:, 0], go, atol=1e-7)
    np.testing.assert_allclose(nogo_targets[:, 0], nogo, atol=1e-7)


# --- noise, overrides, errors -------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "variant", "input_std", "target_std"),
    [("xor", "root", 0.1, 0.0), ("interval", "root", 0.1, 0.1), ("interval", "paper", 0.03, 0.03)],
)
def test_noise_levels_are_drawn_as_set(key, task, variant, input_std, target_std):
    spec = jarne_laje_2023(task, variant)
    trials = sample_batch(key, spec, 200)
    clean_trials = jax.vmap(spec.clean_trial)(trials.condition, trials.response_shift)
    input_noise = np.asarray(trials.inputs - clean_trials.inputs)
    target_noise = np.asarray(trials.targets - clean_trials.targets)
    assert input_noise.std() == pytest.approx(input_std, rel=0.05)
    assert target_noise.std() == pytest.approx(target_std, rel=0.05)


def test_overrides_replace_fields():
    spec = jarne_laje_2023("xor", "root", response_delay=150, input_noise_std=0.0)
    assert (spec.num_steps, spec.response_delay, spec.input_noise_std) == (330, 150, 0.0)
    flipflop = jarne_laje_2023("flipflop", response_delay=150, tail=40)
    assert isinstance(flipflop, FlipFlopTask) and flipflop.num_steps == 50 + 840 + 20 + 150 + 40
    interval = jarne_laje_2023("interval", "paper", response_delay=150, target_noise_std=0.0)
    assert isinstance(interval, IntervalTask) and interval.target_noise_std == 0.0
    oscillation = jarne_laje_2023("oscillation", "root", min_correlation=0.9)
    assert isinstance(oscillation, OscillationTask) and oscillation.min_correlation == 0.9


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: jarne_laje_2023("nand"), "task='nand'"),
        (lambda: jarne_laje_2023("and", "copy"), "variant='copy'"),
        (lambda: jarne_laje_2023("or", response_delay=2.5), "multiple of dt"),
        (lambda: jarne_laje_2023("and", pulse_width=0), "pulse_width=0"),
        (lambda: jarne_laje_2023("interval", "root", response_delay=40), "after the trial's end"),
        (lambda: jarne_laje_2023("flipflop", response_delay=120), "T = 1010"),
        (lambda: jarne_laje_2023("flipflop", response_delay=95), "use response_delay < 90"),
        (lambda: jarne_laje_2023("oscillation", "root", response_delay=100), "flat"),
        (lambda: jarne_laje_2023("oscillation", "paper", response_delay=20), "flat"),
        (lambda: jarne_laje_2023("oscillation", "root", response_delay=20), "empty"),
        (lambda: jarne_laje_2023("oscillation", response_delay=-4), "response_delay=-4"),
        (lambda: jarne_laje_2023("oscillation", pulse_shape=(1.0, 1.0)), "pulse_shape has 2"),
        (lambda: jarne_laje_2023("not", leak=0.5), "'leak' is not a field of NotTask"),
    ],
)
def test_bad_overrides_raise_one_line(make, fragment):
    with pytest.raises(rnnlab.InvalidInputError) as info:
        make()
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


PRESETS = [
    (task, variant)
    for task in ("and", "or", "xor", "not", "flipflop", "oscillation", "interval")
    for variant in ("paper", "root")
]


@pytest.mark.parametrize(("task", "variant"), PRESETS)
def test_clean_targets_score_one(key, task, variant):
    spec = jarne_laje_2023(task, variant)
    trials = all_conditions(key, spec) if spec.num_conditions <= 8 else sample_batch(key, spec, 4)
    clean_trials = jax.vmap(spec.clean_trial)(trials.condition, trials.response_shift)
    accuracy = evaluate(clean_trials.targets, trials, spec)["accuracy"]
    np.testing.assert_array_equal(np.asarray(accuracy), 1.0)


@pytest.mark.parametrize("task", ["oscillation", "interval"])
@pytest.mark.parametrize("variant", ["paper", "root"])
def test_sampled_shapes_vmap_and_jit_with_jitter(key, task, variant):
    """Explicit samples and the window level move with a response jitter: same key, same
    trial; vmap = loop; jit = eager; jittered clean targets are scored correct."""
    spec = jarne_laje_2023(task, variant, response_jitter=3.0)
    keys = jr.split(key, 3)
    batch = jax.vmap(lambda k: sample_trial(k, spec))(keys)
    jitted = jax.jit(sample_trial)(keys[1], spec)
    for i in range(3):
        for a, b in zip(sample_trial(keys[i], spec), batch, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b[i]), rtol=1e-6, atol=1e-6)
    for a, b in zip(jitted, sample_trial(keys[1], spec), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    clean_trials = jax.vmap(spec.clean_trial)(batch.condition, batch.response_shift)
    accuracy = evaluate(clean_trials.targets, batch, spec)["accuracy"]
    np.testing.assert_array_equal(np.asarray(accuracy), 1.0)


def test_jittered_oscillation_samples_move_with_the_window():
    spec = jarne_laje_2023("oscillation", dtype=jnp.float64)  # paper, delay 200: samples
    still = spec.clean_trial(jnp.asarray(1, jnp.int32), jnp.asarray(0, jnp.int32))
    moved = spec.clean_trial(jnp.asarray(1, jnp.int32), jnp.asarray(7, jnp.int32))
    np.testing.assert_allclose(
        np.asarray(moved.targets[167:387]), np.asarray(still.targets[160:380]), atol=1e-12
    )
