r"""The flip-flop: a one-bit memory set and reset by pulses.

Two input channels: a pulse on channel 1 *sets* the memory ($\to y_1$), a pulse on
channel 0 *resets* it ($\to 0$). ``num_pulses`` pulses start at
``stimulus_onset + k * pulse_interval``; each goes to a random channel (repeats allowed),
so the condition index is a ``num_pulses``-bit number whose bit $k$ is pulse $k$'s
channel. After pulse $k$ the target holds its level from the pulse offset $+ \Delta$ to
the next pulse offset $+ \Delta$; before the first response it is $y_0$.
Defaults: 8 pulses of 20 ms every 120 ms from 50 ms, $\Delta = 20$, tail 80, $T = 1010$.

References: Jarne & Laje, arXiv:1906.01094; Sussillo & Barak 2013 (3-bit flip-flop).
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import InvalidInputError
from ._base import AbstractTask, Trial, _steps, level_window_accuracy, window


class FlipFlopTask(AbstractTask):
    """Flip-flop with ``num_pulses`` set/reset pulses ``pulse_interval`` ms apart.

    Example:
        >>> spec = FlipFlopTask()
        >>> spec.num_steps, spec.num_conditions
        (1010, 256)
    """

    stimulus_onset: float = eqx.field(static=True, default=50.0)
    tail: float = eqx.field(static=True, default=80.0)
    num_pulses: int = eqx.field(static=True, default=8)
    pulse_interval: float = eqx.field(static=True, default=120.0)

    def __check_init__(self):
        self._check_shared()
        if not isinstance(self.num_pulses, int) or not 1 <= self.num_pulses <= 30:
            raise InvalidInputError(
                f"num_pulses={self.num_pulses!r} must be an integer in [1, 30]; e.g. 8"
            )
        interval = _steps("pulse_interval", self.pulse_interval, self.dt, allow_zero=False)
        width = self.steps("pulse_width")
        if interval <= width + self._jitter_steps():
            raise InvalidInputError(
                f"pulse_interval={self.pulse_interval!r} ms must exceed pulse_width="
                f"{self.pulse_width!r} ms (+ response_jitter) so pulses do not overlap"
            )
        if self.tail <= self.response_jitter:
            raise InvalidInputError(
                f"tail={self.tail!r} ms puts the last response after the trial's end; "
                "make tail > response_jitter, e.g. 80"
            )
        settle, jitter = self.steps("settling"), self._jitter_steps()
        if interval <= settle or self.steps("tail") <= jitter + settle:
            raise InvalidInputError(
                f"settling={self.settling!r} ms leaves a held level unscored (pulse_interval="
                f"{self.pulse_interval!r} ms, tail={self.tail!r} ms, response_jitter="
                f"{self.response_jitter!r} ms); make pulse_interval > settling and tail > "
                f"response_jitter + settling = {self.response_jitter + self.settling:g}"
            )

    @property
    def num_inputs(self) -> int:
        return 2

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def num_conditions(self) -> int:
        return 2**self.num_pulses

    def pulse_onsets(self) -> list[int]:
        """Onset step of every pulse."""
        onset, interval = self.steps("stimulus_onset"), self.steps("pulse_interval")
        return [onset + k * interval for k in range(self.num_pulses)]

    def response_onsets(self) -> list[int]:
        """Step at which the target takes the level set by each pulse (without jitter)."""
        offset = self.steps("pulse_width") + self.steps("response_delay")
        return [start + offset for start in self.pulse_onsets()]

    @property
    def num_steps(self) -> int:
        return self.response_onsets()[-1] + self.steps("tail")

    def channels(self, condition) -> Array:
        """Channel (0 reset, 1 set) of each pulse of ``condition``."""
        return (condition >> jnp.arange(self.num_pulses, dtype=jnp.int32)) & 1

    def clean_trial(self, condition, jitter) -> Trial:
        num_steps, dtype, width = self.num_steps, self.dtype, self.steps("pulse_width")
        channels = self.channels(condition).astype(dtype)
        t = jnp.arange(num_steps, dtype=jnp.int32)
        inputs = jnp.zeros((num_steps, 2), dtype)
        targets = jnp.full((num_steps,), self.baseline, dtype)
        for k, (start, response) in enumerate(
            zip(self.pulse_onsets(), self.response_onsets(), strict=True)
        ):
            pulse = window(num_steps, start, start + width).astype(dtype)
            inputs = inputs.at[:, 1].add(self.pulse_amplitude * pulse * channels[k])
            inputs = inputs.at[:, 0].add(self.pulse_amplitude * pulse * (1 - channels[k]))
            level = (self.high_level * channels[k]).astype(dtype)
            targets = jnp.where(t >= response + jitter, level, targets)
        targets = targets[:, None]
        return Trial(inputs, targets, jnp.ones_like(targets), condition, jitter)

    def score(self, outputs: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """Fraction of the ``num_pulses`` held levels whose mean output is on the right side of θ.

        Window $k$ runs from response onset $k$ + ``settling`` to response onset $k+1$
        (the last to the trial end).
        """
        clean = self.clean_trial(trial.condition, trial.response_shift)
        settle, shift = self.steps("settling"), trial.response_shift
        onsets = self.response_onsets()
        stops = onsets[1:] + [self.num_steps]
        windows = [
            (start + shift + settle, stop + shift if k < self.num_pulses - 1 else stop)
            for k, (start, stop) in enumerate(zip(onsets, stops, strict=True))
        ]
        return level_window_accuracy(
            outputs, clean.targets, windows, self.threshold, strict=self.strict_accuracy
        )
