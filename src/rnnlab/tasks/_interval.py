r"""Delayed pulse ("pulse memorisation", interval reproduction): answer a cue after Δ.

One input channel. Go (condition 1): a smoothed pulse in $[t_s, t_s + w)$; the target is
$y_0$ plus a smoothed bump of width ``response_width`` and peak ``response_amplitude``
starting $\Delta$ after the stimulus offset. No-go (condition 0): no pulse, flat $y_0$.
Optionally the level on the response window is ``response_baseline`` $y_w$ instead of
$y_0$ (for go and no-go alike), and ``pulse_shape`` / ``response_shape`` give the
stimulus and the bump sample by sample.
The trial length is fixed by ``trial_length`` (not by the delay), so a delay sweep keeps
$T$ fixed as the authors did.
Defaults follow the authors' paper copy: $t_s = 50$, $w = 20$, unit-sum Hann smoothing of
10 steps on stimulus and target, $T = 300$ (so $\Delta \le 210$), noise 0.03 on inputs
*and* targets, $y_0 = 0.045$.

References: Jarne & Laje, arXiv:1906.01094.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import InvalidInputError
from ._base import AbstractTask, Trial, _steps, as_samples, check_samples, pulse_waveform, window


class IntervalTask(AbstractTask):
    """Go/no-go pulse reproduced after ``response_delay`` ms.

    Fields beyond the shared ones: ``pulse_smoothing`` and ``response_smoothing`` (Hann
    lengths in steps, 0 = square), ``response_width`` (ms), ``response_amplitude`` (peak
    height above $y_0$ of a long bump), ``trial_length`` (ms), ``peak_tolerance`` (ms)
    of the accuracy. ``tail`` is unused: $T$ is ``trial_length``.
    Exact waveforms (default ``None``): ``pulse_shape``, one value per step of the pulse
    width, is the stimulus on $[t_s, t_s + w)$ in place of ``pulse_amplitude`` times the
    smoothed square pulse; ``response_shape``, one value per step of ``response_width``,
    is the go bump on the response window $[t_r, t_r + \\text{response\\_width})$ in
    place of ``response_amplitude`` times the smoothed one; ``response_baseline`` $y_w$ is
    the level under the bump on that window, and the no-go target there (``None``: $y_0$).

    Example:
        >>> trial = sample_trial(jr.key(0), IntervalTask(response_delay=100), condition=1)
        >>> int(jnp.argmax(trial.targets[:, 0] > 0.5))  # 50 + 20 + 100
        170
    """

    stimulus_onset: float = eqx.field(static=True, default=50.0)
    input_noise_std: float = eqx.field(static=True, default=0.03)
    target_noise_std: float = eqx.field(static=True, default=0.03)
    baseline: float = eqx.field(static=True, default=0.045)
    pulse_smoothing: int = eqx.field(static=True, default=10)
    response_smoothing: int = eqx.field(static=True, default=10)
    response_width: float = eqx.field(static=True, default=20.0)
    response_amplitude: float = eqx.field(static=True, default=1.0)
    trial_length: float = eqx.field(static=True, default=300.0)
    peak_tolerance: float = eqx.field(static=True, default=10.0)
    pulse_shape: tuple[float, ...] | None = eqx.field(
        static=True, default=None, converter=as_samples
    )
    response_shape: tuple[float, ...] | None = eqx.field(
        static=True, default=None, converter=as_samples
    )
    response_baseline: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        self._check_shared()
        self._check_unused("high_level", "response_amplitude (the response peak)")
        _steps("response_width", self.response_width, self.dt, allow_zero=False)
        _steps("trial_length", self.trial_length, self.dt, allow_zero=False)
        for name in ("pulse_smoothing", "response_smoothing"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise InvalidInputError(f"{name}={value!r} must be an integer >= 0 (steps)")
        check_samples("pulse_shape", self.pulse_shape, "pulse_width", self.steps("pulse_width"))
        check_samples(
            "response_shape", self.response_shape, "response_width", self.steps("response_width")
        )
        end = (
            self.stimulus_onset
            + self.pulse_width
            + self.response_delay
            + self.response_width
            + self.response_jitter
        )
        if end > self.trial_length:
            longest = self.response_delay - (end - self.trial_length)
            fix = (
                f"use response_delay <= {longest!r} or trial_length >= {end!r}"
                if longest >= 0
                else f"use trial_length >= {end!r} or an earlier stimulus_onset"
            )
            raise InvalidInputError(
                f"response_delay={self.response_delay!r} ms puts the response (ending at "
                f"{end!r} ms) after the trial's end at trial_length={self.trial_length!r} ms; "
                + fix
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
        return self.steps("trial_length")

    @property
    def window_level(self) -> float:
        """$y_w$: ``response_baseline``, or $y_0$ when it is ``None``."""
        return self.baseline if self.response_baseline is None else self.response_baseline

    def clean_trial(self, condition, jitter) -> Trial:
        num_steps, dtype = self.num_steps, self.dtype
        go = condition.astype(dtype)
        inputs = (go * self._stimulus(self.pulse_smoothing, self.pulse_shape))[:, None]
        start, width = self.response_onset + jitter, self.steps("response_width")
        bump = pulse_waveform(
            num_steps,
            start,
            width,
            amplitude=self.response_amplitude,
            smoothing=self.response_smoothing,
            samples=self.response_shape,
            dtype=dtype,
        )
        level = (
            self.baseline
            if self.response_baseline is None
            else jnp.where(
                window(num_steps, start, start + width), self.response_baseline, self.baseline
            )
        )
        targets = (level + go * bump).astype(dtype)[:, None]
        return Trial(inputs, targets, jnp.ones_like(targets), condition, jitter)

    def score(self, outputs: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Over [target onset - tol, target end + tol): go correct if max z exceeds half the
        peak with its argmax within ``peak_tolerance`` of the target's; no-go correct if z
        stays below half the peak."""
        tolerance = self.steps("peak_tolerance")
        start = self.response_onset + trial.response_shift
        inside = window(
            self.num_steps, start - tolerance, start + self.steps("response_width") + tolerance
        )
        z = jnp.where(inside, outputs[:, 0], -jnp.inf)
        go_target = self.clean_trial(jnp.ones_like(trial.condition), trial.response_shift)
        y = go_target.targets[:, 0].astype(outputs.dtype)
        half = self.window_level + 0.5 * (jnp.max(y) - self.window_level)
        peak_error = jnp.abs(jnp.argmax(z) - jnp.argmax(jnp.where(inside, y, -jnp.inf)))
        go_correct = (jnp.max(z) > half) & (peak_error <= tolerance)
        nogo_correct = jnp.max(z) < half
        return jnp.where(trial.condition == 1, go_correct, nogo_correct).astype(outputs.dtype)
