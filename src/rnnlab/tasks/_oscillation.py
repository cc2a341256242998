r"""Finite-duration oscillation: a go cue starts a sinusoid that must stop on time.

One input channel. Go (condition 1): a smoothed pulse in
$[t_s, t_s + w)$; the target is $y_0 + a \sin(2\pi (t - t_r)/P + \phi)$ on the window
$[t_r, t_r + L)$ with $t_r = t_s + w + \Delta$, and $y_0$ elsewhere. No-go (condition 0):
no pulse, flat target $y_0$. $T = t_r + L + \text{tail}$.
Defaults: $t_s = 100$, $w = 20$, unit-sum Hann smoothing of 10 steps, $\Delta = 20$,
$L = 200$, $P = 35$ ms (28.6 Hz), $a = 0.5$, $\phi = 0$, tail 40, so $T = 380$.

Where we differ from the authors: their target is a unit step over the window convolved
with $\sin(2\pi \cdot 12 t / T)$ and scaled by 0.3 (0.2 in the paper copy), whose
amplitude then depends on $\Delta$; rnnlab sets period, amplitude, phase and window
directly.

References: Jarne & Laje, arXiv:1906.01094.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import InvalidInputError
from ._base import AbstractTask, Trial, _steps, hann_smoothing, window


class OscillationTask(AbstractTask):
    """Go/no-go cue followed by a sinusoid of ``period`` ms for ``oscillation_duration`` ms.

    Fields beyond the shared ones: ``pulse_smoothing`` (Hann length in steps, 0 = square
    pulse), ``oscillation_duration`` $L$, ``period`` $P$, ``amplitude`` $a$, ``phase``
    $\\phi$ (radians), ``min_correlation`` and ``std_ratio_range`` of the accuracy.

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

    def __check_init__(self):
        self._check_shared()
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

    def clean_trial(self, condition, jitter) -> Trial:
        num_steps, dtype = self.num_steps, self.dtype
        onset = self.steps("stimulus_onset")
        go = condition.astype(dtype)
        pulse = window(num_steps, onset, onset + self.steps("pulse_width")).astype(dtype)
        inputs = (self.pulse_amplitude * go * hann_smoothing(pulse, self.pulse_smoothing))[:, None]
        start = self.response_onset + jitter
        inside = window(num_steps, start, start + self.steps("oscillation_duration"))
        t = (jnp.arange(num_steps, dtype=jnp.int32) - start).astype(dtype) * self.dt
        wave = self.amplitude * jnp.sin(2 * jnp.pi * t / self.period + self.phase)
        targets = (self.baseline + go * jnp.where(inside, wave, 0.0)).astype(dtype)[:, None]
        return Trial(inputs, targets, jnp.ones_like(targets), condition, jitter)

    def score(self, outputs: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Go: Pearson r(z, y) >= ``min_correlation`` and std(z)/std(y) in ``std_ratio_range``
        over the window; no-go: max |z - y0| < a/2 over the window."""
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
        nogo_correct = jnp.max(inside * jnp.abs(z - self.baseline)) < 0.5 * self.amplitude
        return jnp.where(trial.condition == 1, go_correct, nogo_correct).astype(outputs.dtype)
