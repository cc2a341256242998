r"""Finite-duration oscillation: a go cue starts a sinusoid that must stop on time.

One input channel. Go (condition 1): a smoothed pulse in
$[t_s, t_s + w)$; the target is $y_w + a \sin(2\pi (t - t_r)/P + \phi)$ on the window
$[t_r, t_r + L)$ with $t_r = t_s + w + \Delta$, and $y_0$ elsewhere. No-go (condition 0):
no pulse; the target is $y_w$ on the window and $y_0$ elsewhere. $y_w$ is
``response_baseline``, by default $y_0$ (a flat no-go target).
$T = t_r + L + \text{tail}$.
Defaults: $t_s = 100$, $w = 20$, unit-sum Hann smoothing of 10 steps, $\Delta = 20$,
$L = 200$, $P = 35$ ms (28.6 Hz), $a = 0.5$, $\phi = 0$, tail 40, so $T = 380$.

The authors' target is a unit step over the window convolved with
$\sin(2\pi \cdot 12 t / T)$ and scaled by 0.3 (0.2 in the paper copy), whose amplitude and
phase then depend on the window length; rnnlab sets period, amplitude, phase and window
directly, and :func:`rnnlab.tasks.jarne_laje_2023` derives them (with explicit samples
where the convolution's edges make the target other than a sinusoid).

References: Jarne & Laje, arXiv:1906.01094.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import InvalidInputError
from ._base import (
    AbstractTask,
    Trial,
    _steps,
    as_samples,
    check_samples,
    placed,
    window,
)


class OscillationTask(AbstractTask):
    """Go/no-go cue followed by a sinusoid of ``period`` ms for ``oscillation_duration`` ms.

    Fields beyond the shared ones: ``pulse_smoothing`` (Hann length in steps, 0 = square
    pulse), ``oscillation_duration`` $L$, ``period`` $P$, ``amplitude`` $a$, ``phase``
    $\\phi$ (radians), ``min_correlation`` and ``std_ratio_range`` of the accuracy.
    Exact waveforms (default ``None``): ``pulse_shape``, one value per step of the pulse
    width, is the stimulus on $[t_s, t_s + w)$ in place of the smoothed square pulse
    (``pulse_amplitude`` and ``pulse_smoothing`` then unused); ``response_shape``, one
    value per step of $L$, is the go wave on the window in place of
    $a \\sin(2\\pi (t - t_r)/P + \\phi)$ ($P$, $a$, $\\phi$ then only describe it: $a$
    still sets the no-go criterion of :meth:`score`); ``response_baseline`` $y_w$ is the
    level under the wave and the no-go target on the window (``None``: $y_0$).

    Example:
        >>> trial = sample_trial(jr.key(0), OscillationTask(), condition=1)
        >>> trial.targets.shape
        (380, 1)
    """

    stimulus_onset: float = eqx.field(static=True, default=100.0)
    tail: float = eqx.field(static=True, default=40.0)
    pulse_smoothing: int = eqx.field(static=True, default=10)
    oscillation_duration: float = eqx.field(static=True, default=200.0)
    period: float = eqx.field(static=True, default=35.0)
    amplitude: float = eqx.field(static=True, default=0.5)
    phase: float = eqx.field(static=True, default=0.0)
    min_correlation: float = eqx.field(static=True, default=0.8)
    std_ratio_range: tuple[float, float] = eqx.field(static=True, default=(0.5, 2.0))
    pulse_shape: tuple[float, ...] | None = eqx.field(
        static=True, default=None, converter=as_samples
    )
    response_shape: tuple[float, ...] | None = eqx.field(
        static=True, default=None, converter=as_samples
    )
    response_baseline: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        self._check_shared()
        self._check_unused("high_level", "amplitude (of the sine)")
        _steps("oscillation_duration", self.oscillation_duration, self.dt, allow_zero=False)
        if not self.period >= 2 * self.dt:
            raise InvalidInputError(
                f"period={self.period!r} ms is shorter than two steps of dt={self.dt!r}; "
                "use a period of at least 2 dt (the paper: 35 ms)"
            )
        if not self.amplitude > 0:
            raise InvalidInputError(f"amplitude={self.amplitude!r} must be > 0; e.g. 0.5")
        if not isinstance(self.pulse_smoothing, int) or self.pulse_smoothing < 0:
            raise InvalidInputError(
                f"pulse_smoothing={self.pulse_smoothing!r} must be an integer >= 0 (steps)"
            )
        check_samples("pulse_shape", self.pulse_shape, "pulse_width", self.steps("pulse_width"))
        check_samples(
            "response_shape",
            self.response_shape,
            "oscillation_duration",
            self.steps("oscillation_duration"),
        )
        if self.tail < self.response_jitter:
            raise InvalidInputError(
                f"tail={self.tail!r} ms < response_jitter={self.response_jitter!r} ms puts "
                "the oscillation past the trial's end; make tail >= response_jitter"
            )

    @property
    def num_inputs(self) -> int:
        return 1

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def num_conditions(self) -> int:
        return 2

    @property
    def num_steps(self) -> int:
        return self.response_onset + self.steps("oscillation_duration") + self.steps("tail")

    @property
    def window_level(self) -> float:
        """$y_w$: ``response_baseline``, or $y_0$ when it is ``None``."""
        return self.baseline if self.response_baseline is None else self.response_baseline

    def clean_trial(self, condition, jitter) -> Trial:
        num_steps, dtype = self.num_steps, self.dtype
        go = condition.astype(dtype)
        inputs = (go * self._stimulus(self.pulse_smoothing, self.pulse_shape))[:, None]
        start = self.response_onset + jitter
        inside = window(num_steps, start, start + self.steps("oscillation_duration"))
        if self.response_shape is None:
            t = (jnp.arange(num_steps, dtype=jnp.int32) - start).astype(dtype) * self.dt
            wave = self.amplitude * jnp.sin(2 * jnp.pi * t / self.period + self.phase)
        else:
            wave = placed(self.response_shape, num_steps, start, dtype)
        level = (
            self.baseline
            if self.response_baseline is None
            else jnp.where(inside, self.response_baseline, self.baseline)
        )
        targets = (level + go * jnp.where(inside, wave, 0.0)).astype(dtype)[:, None]
        return Trial(inputs, targets, jnp.ones_like(targets), condition, jitter)

    def score(self, outputs: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Go: Pearson r(z, y) >= ``min_correlation`` and std(z)/std(y) in ``std_ratio_range``
        over the window; no-go: max |z - y_w| < a/2 over the window."""
        clean = self.clean_trial(trial.condition, trial.response_shift)
        start = self.response_onset + trial.response_shift
        inside = window(self.num_steps, start, start + self.steps("oscillation_duration")).astype(
            outputs.dtype
        )
        count = jnp.sum(inside)
        z, y = outputs[:, 0], clean.targets[:, 0].astype(outputs.dtype)
        z_centred = (z - jnp.sum(inside * z) / count) * inside
        y_centred = (y - jnp.sum(inside * y) / count) * inside
        z_std = jnp.sqrt(jnp.sum(z_centred**2) / count)
        y_std = jnp.sqrt(jnp.sum(y_centred**2) / count)
        correlation = jnp.sum(z_centred * y_centred) / (count * z_std * y_std + 1e-30)
        ratio = z_std / (y_std + 1e-30)
        low, high = self.std_ratio_range
        go_correct = (correlation >= self.min_correlation) & (ratio >= low) & (ratio <= high)
        nogo_correct = jnp.max(inside * jnp.abs(z - self.window_level)) < 0.5 * self.amplitude
        return jnp.where(trial.condition == 1, go_correct, nogo_correct).astype(outputs.dtype)
