r"""Temporal tasks: pure, vmappable trial generators over frozen specs.

The family of Jarne & Laje (arXiv:1906.01094): pulse logic gates (:class:`AndTask`,
:class:`OrTask`, :class:`XorTask`, :class:`NotTask`), the :class:`FlipFlopTask`, a
finite-duration :class:`OscillationTask` and the delayed pulse :class:`IntervalTask`.
Every spec is a frozen ``eqx.Module`` with static fields (times in ms);
``sample_trial(key, spec, *, condition=None) -> Trial(inputs, targets, mask, condition,
response_shift)`` is pure, so ``jax.vmap`` over keys gives a batch.
:func:`jarne_laje_2023` returns the spec that reproduces the authors' own generators
(``variant="paper"``, their ``code_paper_rep/`` copies, or ``"root"``), e.g.
``jarne_laje_2023("oscillation", response_delay=200)``.

Adding a task takes a subclass with a few methods. For example, a "same/different" task
whose answer is high when both channels carry the same pulse:

.. code-block:: python

    import jax.random as jr
    from rnnlab.tasks import AbstractGateTask, sample_trial

    class SameTask(AbstractGateTask):
        '''High when A == B (an XNOR gate).'''

        @property
        def num_inputs(self) -> int:
            return 2

        def gate(self, levels):
            return 1 - (levels[0] ^ levels[1])

    trial = sample_trial(jr.key(0), SameTask(response_delay=40), condition=0)

A task with a new layout subclasses :class:`AbstractTask` instead and implements
``num_steps``, ``num_inputs``, ``num_outputs``, ``num_conditions``,
``clean_trial(condition, jitter)`` (the noise-free trial; build waveforms with
:func:`window`) and ``score(outputs, trial)`` (its threshold accuracy);
:func:`sample_trial` adds the noise.

Measures (both per trial, defined in the docstrings of the functions):
:func:`trial_distance`, the paper's $\lVert z - y\rVert_2$ over all steps, and each
spec's ``score``, rnnlab's threshold accuracy (a sign test of the mean output against
$\theta = (y_0 + y_1)/2$ per held level; peak and correlation tests for the pulse and
oscillation tasks). :func:`evaluate` computes both for a batch.
"""

from ._base import AbstractTask as AbstractTask
from ._base import Trial as Trial
from ._base import all_conditions as all_conditions
from ._base import build_spec as build_spec
from ._base import hann_smoothing as hann_smoothing
from ._base import level_window_accuracy as level_window_accuracy
from ._base import sample_batch as sample_batch
from ._base import sample_trial as sample_trial
from ._base import trial_distance as trial_distance
from ._base import window as window
from ._flipflop import FlipFlopTask as FlipFlopTask
from ._interval import IntervalTask as IntervalTask
from ._logic import AbstractGateTask as AbstractGateTask
from ._logic import AndTask as AndTask
from ._logic import NotTask as NotTask
from ._logic import OrTask as OrTask
from ._logic import XorTask as XorTask
from ._oscillation import OscillationTask as OscillationTask
from ._presets import jarne_laje_2023 as jarne_laje_2023

TASKS = {
    "and": AndTask,
    "or": OrTask,
    "xor": XorTask,
    "not": NotTask,
    "flipflop": FlipFlopTask,
    "oscillation": OscillationTask,
    "interval": IntervalTask,
}
"""Task specs by the short name the experiment's metrics use."""


def make_task(name: str, **fields) -> AbstractTask:
    """The task spec called ``name`` (a key of :data:`TASKS`) with ``fields`` overridden."""
    from .._errors import InvalidInputError

    if name not in TASKS:
        raise InvalidInputError(f"task={name!r} is unknown; choose one of {sorted(TASKS)}")
    return build_spec(TASKS[name], fields)


def evaluate(outputs, trials: Trial, spec: AbstractTask) -> dict:
    """Per-trial ``distance`` (against the trial's targets) and ``accuracy`` of a batch.

    ``outputs`` (batch, time, output) from the network; ``trials`` a batched :class:`Trial`.
    """
    import jax

    distance = jax.vmap(trial_distance)(outputs, trials.targets)
    accuracy = jax.vmap(spec.score)(outputs, trials)
    return {"distance": distance, "accuracy": accuracy}
