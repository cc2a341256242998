r"""Pulse logic gates: AND, OR, XOR (two inputs) and NOT (one input).

Layout (defaults, times in ms): a pulse of height $A$ (and $B$) on each input channel in
$[30, 50)$; the target is $y_0$ until the response onset $50 + \Delta$, then
$y_1 \cdot \mathrm{gate}(A, B)$ held to the end; $T = 30 + 20 + \Delta + 130 = 200$.
Conditions are numbered $c = A + 2B$, i.e. in the order 00, 10, 01, 11 (NOT: $c = A$).

References: Jarne & Laje, arXiv:1906.01094 (authors' generators in
katejarne/RNN_study_with_keras).
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .._errors import InvalidInputError
from ._base import AbstractTask, Trial, level_window_accuracy, window


class AbstractGateTask(AbstractTask):
    """A pulse logic gate: inputs are pulses, the target a held level after a delay.

    Subclasses implement :meth:`gate` on the 0/1 input levels and :attr:`num_inputs`.
    """

    def __check_init__(self):
        self._check_shared()
        if self.tail <= self.response_jitter:
            raise InvalidInputError(
                f"tail={self.tail!r} ms leaves no response after the trial's end (response "
                f"jitter {self.response_jitter!r} ms); make tail > response_jitter, e.g. 130"
            )
        if self.steps("tail") <= self.steps("response_jitter") + self.steps("settling"):
            raise InvalidInputError(
                f"tail={self.tail!r} ms leaves no scored response (response_jitter="
                f"{self.response_jitter!r} ms + settling={self.settling!r} ms); make tail > "
                f"{self.response_jitter + self.settling:g} or settling smaller"
            )

    @abc.abstractmethod
    def gate(self, levels: Int[Array, " input"]) -> Int[Array, ""]:
        """The gate's 0/1 answer for the 0/1 input levels."""

    def levels(self, condition: Int[Array, ""]) -> Int[Array, " input"]:
        """0/1 input levels of ``condition``: bit ``k`` of the condition index on channel k."""
        return (condition >> jnp.arange(self.num_inputs, dtype=jnp.int32)) & 1

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def num_conditions(self) -> int:
        return 2**self.num_inputs

    @property
    def num_steps(self) -> int:
        return self.response_onset + self.steps("tail")

    def clean_trial(self, condition, jitter) -> Trial:
        num_steps, dtype = self.num_steps, self.dtype
        onset = self.steps("stimulus_onset")
        pulse = window(num_steps, onset, onset + self.steps("pulse_width")).astype(dtype)
        levels = self.levels(condition)
        inputs = self.pulse_amplitude * pulse[:, None] * levels[None, :].astype(dtype)
        answer = self.gate(levels).astype(dtype)
        responding = window(num_steps, self.response_onset + jitter, num_steps)
        targets = jnp.where(responding, self.high_level * answer, self.baseline).astype(dtype)
        targets = targets[:, None]
        return Trial(inputs, targets, jnp.ones_like(targets), condition, jitter)

    def score(self, outputs: Float[Array, "time output"], trial: Trial) -> Float[Array, ""]:
        """1 if the mean output over [response onset + settling, T) is on the right side of θ."""
        clean = self.clean_trial(trial.condition, trial.response_shift)
        start = self.response_onset + trial.response_shift + self.steps("settling")
        return level_window_accuracy(
            outputs,
            clean.targets,
            [(start, self.num_steps)],
            self.threshold,
            strict=self.strict_accuracy,
        )


class AndTask(AbstractGateTask):
    """AND of two pulses. Defaults: noise-free inputs and $y_0 = 0$ (authors' generator).

    Example:
        >>> trial = sample_trial(jr.key(0), AndTask(), condition=3)  # both pulses
        >>> float(trial.targets[-1, 0])
        1.0
    """

    input_noise_std: float = eqx.field(static=True, default=0.0)
    baseline: float = eqx.field(static=True, default=0.0)

    @property
    def num_inputs(self) -> int:
        return 2

    def gate(self, levels):
        return levels[0] & levels[1]


class OrTask(AbstractGateTask):
    """OR of two pulses. Defaults: noise-free inputs (authors' generator)."""

    input_noise_std: float = eqx.field(static=True, default=0.0)

    @property
    def num_inputs(self) -> int:
        return 2

    def gate(self, levels):
        return levels[0] | levels[1]


class XorTask(AbstractGateTask):
    """XOR of two pulses; input noise 0.1 (authors' root generator)."""

    @property
    def num_inputs(self) -> int:
        return 2

    def gate(self, levels):
        return levels[0] ^ levels[1]


class NotTask(AbstractGateTask):
    """NOT of one pulse: answer high when no pulse came; input noise 0.1.

    With zero input and no recurrent bias the origin is a fixed point, so a network needs
    a bias or the input noise to answer "high" to silence (spec §7).
    """

    @property
    def num_inputs(self) -> int:
        return 1

    def gate(self, levels):
        return 1 - levels[0]
