r"""What every temporal task provides: a frozen spec and a pure trial generator.

A task is a frozen :class:`AbstractTask` (an ``eqx.Module`` whose fields are all static,
so it is a pytree without leaves: pass it through ``jit`` and ``vmap`` freely) and the
pure function :func:`sample_trial`. The trial length $T$ depends only on the spec, so

    >>> batch = jax.vmap(lambda k: sample_trial(k, spec))(jr.split(key, 64))

gives a batch of trials with a leading axis of 64.

Times are in ms; one step is ``dt`` ms. Waveforms are built by comparing ``arange(T)``
with onsets, so anything drawn per trial (the condition, a response jitter) may be traced.
"""

import abc
import dataclasses
import math
from collections.abc import Sequence
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int

from .._errors import InvalidInputError
from .._types import Key


class Trial(NamedTuple):
    """One trial: what the network sees, what it should answer and where it is scored.

    ``inputs`` (time, input), ``targets`` (time, output), ``mask`` (time, output) with 1
    where the squared error counts, ``condition`` the integer index of the trial's
    condition (e.g. ``(A, B) = (1, 0)`` of a gate), so scores can be broken down per
    condition and the noise-free target rebuilt; ``response_shift`` the response jitter
    drawn for this trial, in steps.
    """

    inputs: Float[Array, "time input"]
    targets: Float[Array, "time output"]
    mask: Float[Array, "time output"]
    condition: Int[Array, ""]
    response_shift: Int[Array, ""] | int = 0


def _steps(name: str, value: float, dt: float, *, allow_zero: bool = True) -> int:
    """``value`` ms as a whole number of steps of ``dt`` ms, or a one-line error."""
    if not math.isfinite(value):
        raise InvalidInputError(f"{name}={value!r} ms must be a finite number; e.g. {name}=20")
    steps = value / dt
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInputError(
            f"{name}={value!r} ms must be {'>= 0' if allow_zero else '> 0'}; e.g. {name}=20"
        )
    if abs(steps - round(steps)) > 1e-9:
        raise InvalidInputError(
            f"{name}={value!r} ms is not a multiple of dt={dt!r} ms; round it to a multiple of dt"
        )
    return int(round(steps))


def check_fields(cls: type, fields: dict) -> None:
    """A one-line :class:`InvalidInputError` naming the field and the fix if ``cls`` has no
    field of a name in ``fields``, or a value is not a number where the default is one."""
    defaults = {field.name: field.default for field in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - set(defaults))
    if unknown:
        raise InvalidInputError(
            f"{unknown[0]!r} is not a field of {cls.__name__}; choose from {sorted(defaults)}"
        )
    for name, value in fields.items():
        default = defaults[name]
        numeric = isinstance(default, int | float) and not isinstance(default, bool)
        if numeric and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidInputError(
                f"{cls.__name__} field {name}={value!r} must be a number; e.g. {name}={default!r}"
            )
        if numeric and not math.isfinite(value):
            raise InvalidInputError(
                f"{cls.__name__} field {name}={value!r} must be a finite number; "
                f"e.g. {name}={default!r}"
            )


def build_spec(cls: type, fields: dict) -> "AbstractTask":
    """``cls(**fields)`` after :func:`check_fields`; any other error of the spec's
    construction becomes a one-line :class:`InvalidInputError` too."""
    check_fields(cls, fields)
    try:
        return cls(**fields)
    except InvalidInputError:
        raise
    except (TypeError, ValueError, ArithmeticError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InvalidInputError(
            f"{cls.__name__} cannot be built from {fields}: {message}; give each field a "
            "value of its default's type"
        ) from None


def window(num_steps: int, start, stop) -> Array:
    """Boolean indicator of the steps ``start <= t < stop`` over ``arange(num_steps)``.

    ``start`` and ``stop`` may be traced (per-trial onsets).
    """
    t = jnp.arange(num_steps, dtype=jnp.int32)
    return (t >= jnp.asarray(start, jnp.int32)) & (t < jnp.asarray(stop, jnp.int32))


def hann_smoothing(signal: Float[Array, " time"], length: int) -> Float[Array, " time"]:
    """Convolve with a unit-sum Hann window of ``length`` points (``mode="same"``).

    ``length`` 0 or 1 returns ``signal`` unchanged. The window is
    $w_k = \\sin^2(\\pi (k+1)/(L+1))$, $k = 0..L-1$ (NumPy's ``hanning(L+2)`` without its
    zero end points), normalised to sum 1, so a long pulse keeps its height.
    """
    if length <= 1:
        return signal
    k = jnp.arange(length, dtype=signal.dtype)
    weights = jnp.sin(jnp.pi * (k + 1) / (length + 1)) ** 2
    return jnp.convolve(signal, weights / jnp.sum(weights), mode="same")


def as_samples(values: Sequence[float] | None) -> tuple[float, ...] | None:
    """Field converter: a sequence of numbers as a tuple of floats (hashable, so it can be a
    static field), ``None`` unchanged."""
    if values is None:
        return None
    return tuple(np.asarray(values, dtype=np.float64).ravel().tolist())


def check_samples(name: str, samples: tuple[float, ...] | None, span: str, steps: int) -> None:
    """One-line error unless ``samples`` is ``None`` or holds one finite value per step of
    ``span`` (a field name, e.g. ``"pulse_width"``), which is ``steps`` steps long."""
    if samples is None:
        return
    if len(samples) != steps:
        raise InvalidInputError(
            f"{name} has {len(samples)} values but {span} is {steps} steps; give one value "
            f"per step of {span}"
        )
    if not all(math.isfinite(v) for v in samples):
        raise InvalidInputError(f"{name} has a non-finite value; give finite numbers")


def placed(samples: tuple[float, ...], num_steps: int, start, dtype) -> Array:
    """``samples`` on the steps ``start <= t < start + len(samples)``, 0 elsewhere.

    ``start`` may be traced (a jittered response onset).
    """
    values = jnp.asarray(samples, dtype)
    offset = jnp.arange(num_steps, dtype=jnp.int32) - jnp.asarray(start, jnp.int32)
    inside = (offset >= 0) & (offset < len(samples))
    return jnp.where(inside, values[jnp.clip(offset, 0, len(samples) - 1)], 0.0).astype(dtype)


def pulse_waveform(
    num_steps: int,
    start,
    width: int,
    *,
    amplitude: float,
    smoothing: int,
    samples: tuple[float, ...] | None,
    dtype,
) -> Array:
    """A pulse on ``[start, start + width)``: ``amplitude`` times a square pulse smoothed by
    :func:`hann_smoothing` of ``smoothing`` points, or, when ``samples`` are given, exactly
    those values there (and 0 elsewhere)."""
    if samples is not None:
        return placed(samples, num_steps, start, dtype)
    square = window(num_steps, start, start + width).astype(dtype)
    return amplitude * hann_smoothing(square, smoothing)


class AbstractTask(eqx.Module):
    r"""Base of every task spec: the parameters shared by the whole family.

    Fields (times in ms): ``dt`` step; ``pulse_width`` and ``pulse_amplitude`` of stimulus
    pulses (0 on an absent channel); ``stimulus_onset``; ``response_delay`` $\Delta$ from
    stimulus offset to response onset; ``tail`` after the response onset;
    ``input_noise_std`` / ``target_noise_std`` i.i.d. Gaussian noise per step and
    channel; ``baseline`` $y_0$ before the response and ``high_level`` $y_1$;
    ``response_jitter``: the response onset is delayed by a whole number of steps drawn
    uniformly in $[0, \text{jitter}]$ per trial (0 in the paper); ``settling`` the time
    after a target change that the threshold accuracy ignores; ``strict_accuracy``: a
    level window counts as correct only if every step of it, not just its mean, is on the
    target's side of the threshold (spec §4, ``strict``; gates and flip-flop);
    ``dtype`` of the arrays.

    Subclasses set their defaults, implement :meth:`num_steps`, :attr:`num_inputs`,
    :attr:`num_outputs`, :attr:`num_conditions`, :meth:`clean_trial` and :meth:`score`,
    and validate in ``__check_init__`` (call :meth:`_check_shared`).
    """

    dt: float = eqx.field(static=True, default=1.0)
    pulse_width: float = eqx.field(static=True, default=20.0)
    pulse_amplitude: float = eqx.field(static=True, default=1.0)
    stimulus_onset: float = eqx.field(static=True, default=30.0)
    response_delay: float = eqx.field(static=True, default=20.0)
    tail: float = eqx.field(static=True, default=130.0)
    input_noise_std: float = eqx.field(static=True, default=0.1)
    target_noise_std: float = eqx.field(static=True, default=0.0)
    baseline: float = eqx.field(static=True, default=0.01)
    high_level: float = eqx.field(static=True, default=1.0)
    response_jitter: float = eqx.field(static=True, default=0.0)
    settling: float = eqx.field(static=True, default=10.0)
    strict_accuracy: bool = eqx.field(static=True, default=False)
    dtype: type = eqx.field(static=True, default=jnp.float32)

    def _check_shared(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidInputError(
                    f"{field.name}={value!r} must be a finite number; e.g. "
                    f"{field.name}={field.default!r}"
                )
        if not self.dt > 0:
            raise InvalidInputError(f"dt={self.dt!r} ms must be > 0; the paper uses dt=1")
        _steps("pulse_width", self.pulse_width, self.dt, allow_zero=False)
        _steps("stimulus_onset", self.stimulus_onset, self.dt)
        _steps("response_delay", self.response_delay, self.dt)
        _steps("tail", self.tail, self.dt)
        _steps("response_jitter", self.response_jitter, self.dt)
        _steps("settling", self.settling, self.dt)
        for name in ("input_noise_std", "target_noise_std"):
            if getattr(self, name) < 0:
                raise InvalidInputError(f"{name}={getattr(self, name)!r} must be >= 0")

    def _check_unused(self, name: str, instead: str) -> None:
        """Refuse a shared field that this task's target does not use, unless at its default."""
        default = {f.name: f.default for f in dataclasses.fields(self)}[name]
        if getattr(self, name) != default:
            raise InvalidInputError(
                f"{name}={getattr(self, name)!r} has no effect on {type(self).__name__}; "
                f"set {instead} instead"
            )

    def steps(self, name: str) -> int:
        """The field ``name`` (ms) in steps."""
        return _steps(name, getattr(self, name), self.dt)

    @property
    def response_onset(self) -> int:
        """First step of the response (without jitter): onset + pulse width + delay."""
        return (
            self.steps("stimulus_onset") + self.steps("pulse_width") + self.steps("response_delay")
        )

    @property
    def threshold(self) -> float:
        """Decision threshold $\\theta = (y_0 + y_1)/2$ of the level accuracy."""
        return 0.5 * (self.baseline + self.high_level)

    @property
    @abc.abstractmethod
    def num_steps(self) -> int:
        """Trial length $T$ in steps (depends only on the spec)."""

    @property
    @abc.abstractmethod
    def num_inputs(self) -> int:
        """Input channels."""

    @property
    @abc.abstractmethod
    def num_outputs(self) -> int:
        """Output channels."""

    @property
    @abc.abstractmethod
    def num_conditions(self) -> int:
        """Number of distinct conditions; ``condition`` is drawn in ``range`` of it."""

    @abc.abstractmethod
    def clean_trial(self, condition: Int[Array, ""], jitter: Int[Array, ""]) -> Trial:
        """Noise-free trial of ``condition`` with the response delayed by ``jitter`` steps."""

    @abc.abstractmethod
    def score(self, outputs: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Threshold accuracy of ``outputs`` on ``trial``: the fraction of correct windows."""

    def _jitter_steps(self) -> int:
        return self.steps("response_jitter")

    def _stimulus(self, smoothing: int, samples: tuple[float, ...] | None) -> Array:
        """The stimulus on $[t_s, t_s + w)$: :func:`pulse_waveform` at this spec's onset."""
        return pulse_waveform(
            self.num_steps,
            self.steps("stimulus_onset"),
            self.steps("pulse_width"),
            amplitude=self.pulse_amplitude,
            smoothing=smoothing,
            samples=samples,
            dtype=self.dtype,
        )


def sample_trial(key: Key, spec: AbstractTask, *, condition=None) -> Trial:
    """Draw one trial of ``spec``: a uniform condition unless given, then noise.

    Pure and vmappable over ``key`` (and ``condition``); ``jit`` with ``spec`` as an
    argument works because a spec has no array leaves.

    Example:
        >>> from rnnlab.tasks import AndTask
        >>> trial = sample_trial(jr.key(0), AndTask())
        >>> trial.inputs.shape, trial.targets.shape
        ((200, 2), (200, 1))
    """
    condition_key, jitter_key, input_key, target_key = jr.split(key, 4)
    if condition is None:
        condition = jr.randint(condition_key, (), 0, spec.num_conditions, dtype=jnp.int32)
    condition = jnp.asarray(condition, dtype=jnp.int32)
    max_jitter = spec._jitter_steps()
    jitter = (
        jr.randint(jitter_key, (), 0, max_jitter + 1, dtype=jnp.int32)
        if max_jitter
        else jnp.zeros((), jnp.int32)
    )
    clean = spec.clean_trial(condition, jitter)
    inputs, targets = clean.inputs, clean.targets
    if spec.input_noise_std:
        inputs = inputs + spec.input_noise_std * jr.normal(input_key, inputs.shape, inputs.dtype)
    if spec.target_noise_std:
        targets = targets + spec.target_noise_std * jr.normal(
            target_key, targets.shape, targets.dtype
        )
    return Trial(inputs, targets, clean.mask, condition, jitter)


TRIAL_CHUNK = 64
"""Trials per compiled sampling call: :func:`sample_batch` and :func:`all_conditions`
draw in chunks of this many, so one compiled program per spec serves every batch size
(compiling a sampler costs about a second on a CPU, mostly the counter-based PRNG)."""


@eqx.filter_jit
def _sample_chunk(keys: Key, conditions: Int[Array, " chunk"], spec: AbstractTask) -> Trial:
    """:func:`sample_trial` of each key; a negative condition means "draw it"."""

    def one(key, condition):
        drawn = jr.randint(jr.split(key, 4)[0], (), 0, spec.num_conditions, dtype=jnp.int32)
        return sample_trial(key, spec, condition=jnp.where(condition < 0, drawn, condition))

    return jax.vmap(one)(keys, conditions)


def _sample_keys(keys: Key, conditions: Int[Array, " n"], spec: AbstractTask) -> Trial:
    """:func:`_sample_chunk` over ``keys`` in chunks of :data:`TRIAL_CHUNK` (the last
    padded by repeating keys, its extra trials dropped)."""
    count = keys.shape[0]
    pad = -count % TRIAL_CHUNK
    keys = jnp.concatenate([keys, jnp.repeat(keys[:1], pad, axis=0)])  # typed or raw uint32
    conditions = jnp.concatenate([conditions, jnp.full((pad,), -1, jnp.int32)])
    chunks = [
        _sample_chunk(
            keys[start : start + TRIAL_CHUNK], conditions[start : start + TRIAL_CHUNK], spec
        )
        for start in range(0, count + pad, TRIAL_CHUNK)
    ]
    return jax.tree.map(lambda *parts: jnp.concatenate(parts)[:count], *chunks)


def sample_batch(key: Key, spec: AbstractTask, batch_size: int) -> Trial:
    """``batch_size`` trials at once: :func:`sample_trial` of each of
    ``jr.split(key, batch_size)`` (drawn in compiled chunks of :data:`TRIAL_CHUNK`)."""
    if batch_size < 1:
        raise InvalidInputError(f"batch_size={batch_size} must be a positive number of trials")
    conditions = jnp.full((batch_size,), -1, jnp.int32)
    return _sample_keys(jr.split(key, batch_size), conditions, spec)


def all_conditions(key: Key, spec: AbstractTask) -> Trial:
    """One trial per condition, in condition order (for per-condition evaluation): trial
    ``c`` is :func:`sample_trial` of ``jr.split(key, num_conditions)[c]`` at condition ``c``."""
    conditions = jnp.arange(spec.num_conditions, dtype=jnp.int32)
    return _sample_keys(jr.split(key, spec.num_conditions), conditions, spec)


def level_window_accuracy(
    outputs: Float[Array, "time output"],
    clean_targets: Float[Array, "time output"],
    windows: list[tuple],
    threshold: float,
    *,
    strict: bool = False,
) -> Float[Array, ""]:
    """Fraction of ``windows`` ``(start, stop)`` where mean(z) is on the target's side of θ.

    The target level of a window is the mean clean target over it; the window is correct
    when ``sign(mean_W z - θ) == sign(level - θ)`` (a sign test, output channel 0), or,
    with ``strict``, when every step of it is on that side. An empty window scores 0
    (the task specs refuse layouts that would make one).
    """
    num_steps = outputs.shape[0]
    clean_targets = clean_targets.astype(outputs.dtype)
    correct = []
    for start, stop in windows:
        inside = window(num_steps, start, stop).astype(outputs.dtype)
        count = jnp.maximum(jnp.sum(inside), 1.0)
        mean_output = jnp.sum(inside * outputs[:, 0]) / count
        level = jnp.sum(inside * clean_targets[:, 0]) / count
        if strict:
            right_side = (outputs[:, 0] > threshold) == (level > threshold)
            right = jnp.all(right_side | (inside == 0))
        else:
            right = (mean_output > threshold) == (level > threshold)
        correct.append(right & (jnp.sum(inside) > 0))
    return jnp.mean(jnp.stack(correct).astype(outputs.dtype))


def trial_distance(
    outputs: Float[Array, "time output"], targets: Float[Array, "time output"]
) -> Float[Array, ""]:
    r"""The paper's distance between output and target over one trial.

    $$d = \lVert z - y \rVert_2 = \Big(\sum_t \sum_k (z_{tk} - y_{tk})^2\Big)^{1/2}.$$

    Over every step of one trial; it grows like $\sqrt{T}$ at a fixed per-step error
    (at $T = 200$, $d = 1$ is an RMS error of 0.071 per step).
    """
    return jnp.sqrt(jnp.sum((outputs - targets) ** 2))
