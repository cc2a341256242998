r"""``temporal-tasks``: small tanh RNNs trained on temporal and decision tasks.

Reproduces the shape of Jarne & Laje (arXiv:1906.01094): discrete-time tanh networks
(:class:`rnnlab.models.ElmanRNN`, the authors' Keras ``SimpleRNN``) trained by BPTT on the
task family of :mod:`rnnlab.tasks`, from orthogonal and random-normal recurrent
initialisations; eigenvalues before and after training; how each network holds its
state, twice: a spectral label (leading eigenvalue real or an oscillatory pair) and a
dynamical one (stimulus, then silence: fixed point, limit cycle, quasi-periodic or
irregular), with the
fixed and slow points of the trained networks (Sussillo & Barak 2013); graceful
degradation under pruning of the weakest recurrent weights (with random pruning as the
control), with longer delays and with fewer units (delayed-pulse task, spec §5.4), each
beside the authors' published curve (:mod:`._temporal_degradation`).

NOT networks train a recurrent bias from 0, as the authors' NOT network did.

``--set inits=...`` chooses the arms (default the paper's orthogonal and normal):
``identity`` (IRNN, Le, Jaitly & Hinton, arXiv:1504.00941; every initial eigenvalue 1) is
rnnlab's third arm, ``glorot_uniform`` a fourth. Each arm's networks draw their weights
from a key named after the initialiser, so ``--set inits=normal`` trains the very networks
that the normal arm of the default run starts from (a cell can be split over processes;
the batch order, drawn per position in the stack, then differs).

``--set model=rate`` swaps in the continuous-time rate network of spec §2.4,
$\tau \dot h = -h + W \tanh h + U u + b$ stepped by forward Euler on the task's 1 ms
grid (:class:`rnnlab.models.EulerRateRNN`, ``tau`` = 5 ms by default), initialised like
the Elman network; every analysis runs on it unchanged (spectra and pruning act on $W$,
labels and fixed points on $h$, whose step Jacobian is $(1-\alpha) I + \alpha W
\mathrm{diag}(1 - \tanh^2 h)$, $\alpha = dt/\tau$).

Where we differ from the paper (quick and default modes alike): Adam at a larger learning
rate with clipping (3e-4, clip 1) instead of 1e-4 with Keras' decay, and each network
keeps its parameters of its lowest-loss epoch (``restore_best``) where the authors keep
the last (the authors' optimiser: ``--set learning_rate=1e-4 --set
learning_rate_decay=1e-4 --set clip_norm=null --set restore_best=false``), and, in ``--quick``,
fewer trials per epoch and shorter task layouts; compare ratios, not absolute distances.
``--set task_layout=paper`` (or ``root``) builds every task and sweep cell from
:func:`rnnlab.tasks.jarne_laje_2023`, the authors' generators sample for sample (e.g. the
oscillation of their stored network: T = 420, period 35 ms), with ``task_fields`` on top
(``--quick`` sets shorter layouts: add ``--set task_fields={}``); the root scripts' delayed
pulse ends at 100 ms, so their sweeps need ``delays`` <= 30.
The default keeps the authors' 15,000 trials per epoch (234 updates of 64: the last partial
batch of 24, which their Keras loop keeps, is dropped so every update has one shape; the
flip-flop too, where the authors used 25,000: ``task_num_trials``): at N = 50 with 4
networks per initialisation, 2,048 trials (32 updates an epoch, 20 epochs) left 1 of 4
orthogonal and 2 of 4 normal AND networks on a plateau (AND accuracy 0.90, NOT 0.54),
while 8,192 trials solved every orthogonal AND, NOT and oscillation network (accuracy
1.0; the pruning curve of those AND networks then breaks at 14 %, as the authors').
The delayed pulse at 150 ms (N = 50, 4 networks, 8,192 trials) is learned at learning
rate 3e-4 (accuracy 0.995, distance 1.31) and not at 1e-3 or 3e-3 (accuracy 0.555: a
flat output), so the sweeps train at ``sweep_learning_rate`` = 3e-4 (quick: 1e-3).
Large networks need less: at 3e-4, size-sweep networks of N = 400 and 450 came near the
stopping loss within 3-4 epochs and then jumped to a flat output (loss 0.03) that they
never left (with ``restore_best`` too: distance 1.40, accuracy 0.78 at N = 450), while at
1e-4 (the authors' rate) all four converged (distance 0.54 and 0.53, accuracy 1.0; 2
networks per cell, 2026-12-05). At 1e-4, though, the N = 50 cell is still learning after
20 epochs (distance 1.14 against 0.98 at 3e-4 with ``restore_best``). So the size sweep's
rate shrinks with size: the cell of N units trains at eta (hidden_size / N)^p, eta =
``size_sweep_learning_rate`` (None, the default: ``sweep_learning_rate``), p =
``size_sweep_rate_exponent`` = 0.5 (quick: 0), i.e. 3e-4 at N = 50 (the delay sweep's
150 ms cell, trained once for both) down to 1e-4 at N = 450: Adam moves each weight by
about the rate, while the weights scale as 1/sqrt(N). Stacked cells of several sizes train
at one Adam rate with per-network factors (``train_bptt``'s ``rate_scales``).
At 3e-3 the loss of many networks jumped back up mid-training; in quick layouts (N = 32,
24 epochs, 3 networks per initialisation) 1 of 6 flip-flop and 5 of 6 XOR networks were
solved at 3e-3 with 512 trials per epoch, 5 of 6 and 6 of 6 at 1e-3 with 1024.

NOT trains without input noise (the authors' paper copy; their root generator adds
0.1), in both modes: with no cue, a NOT network times its switch to "high" by a slow
escape from the origin driven by its small bias, which noise of 0.1 per step swamps
(measured likewise: 5 of 6 networks solved noise-free, 2 of 6 with noise). ``--quick``
relaxes the early-stopping thresholds 10x, since ~400 updates rarely reach the authors'
values, uses shorter task layouts and N = 32, labels after 2,000 silent steps instead of
5,000, and sweeps delays {25, 100, 170} ms at N = 32 and sizes {16, 32, 64} at 100 ms with
2 networks per cell (the spec's {50, 100, 200} at 4 networks does not fit 3 minutes on 2
CPU cores; the sweeps' distances in quick mode are from undertrained networks).

Cost of the default (paper) sizes on a CPU, on one core of the project's 2-core machines
(docs/results.md): since Elman networks train through the batch-major
:func:`rnnlab.models.elman_outputs` (2.5-3x faster per update than before), a flip-flop arm
of 20 networks (1,010 steps, 15,000 trials) costs about 110 s per epoch on an idle core,
at most 20 epochs; the 200-step gates (15,000 trials) cost about an eighth of that.
Before it, an AND
cell of 40 networks took 2,600 s of CPU and the flip-flop ~14 min per epoch. The sweeps
dominate (24 delays and 22 sizes up to N = 500, 20 networks per cell: many core-hours,
mostly in the N >= 300 cells). On one CPU core a vmapped stack of networks costs about as
much per network as one network alone (BENCHMARKS.md, BPTT). Run tasks as separate
processes (``--set tasks=...``), split a cell by arm (``--set inits=normal``: the same
initial networks as the default run's normal arm) and sweep subsets (``--set
delays=...`` / ``--set sizes=...``); ``bench/sweep_cells.py`` runs the sweep cells as
parallel invocations, one per core, and puts their numbers together. A cell too long for
one sitting (20 networks at N = 450: about 6 h on one core) splits by network:
``--set sweep_members=2 --set sweep_member_offset=F`` trains networks F and F + 1 of every
sweep cell exactly as the whole cell would (same initial weights, batch orders and
evaluation trials), and ``bench/sweep_cells.py --part-size 2`` queues and merges the parts.

On a GPU every cell is bound by the latency of its time loop (an H200 took about as long
per update for 20 networks as for one, BENCHMARKS.md), so ``sweep_stacking`` (default
``auto``: on accelerators) trains the size-sweep cells within 1.5x of each other as one
stack, padded with silent units (:func:`rnnlab.models.pad_units`) and with each cell's own
batch orders: the size sweep becomes 5 trainings instead of 21, with the cells' own
numbers up to rounding.
"""

from pathlib import Path
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pydantic

from .._errors import DivergenceError, InvalidInputError
from ..analysis import (
    dynamical_labels,
    spectral_label,
    spectrum_summary,
    trained_fixed_points,
)
from ..learning import BPTTOptions, batch_outputs, evaluate_members, train_bptt
from ..models import (
    ElmanRNN,
    EulerRateRNN,
    make_initialiser,
    pad_units,
    stack_models,
    unstack_model,
)
from ..tasks import TASKS, NotTask, all_conditions, jarne_laje_2023, make_task
from ._base import Experiment, ExperimentConfig, Results, derived_key
from ._figures import FigureSaver, pyplot
from ._temporal_degradation import (
    PAPER_DELAY_DISTANCE,
    PAPER_DELAYS,
    PAPER_PRUNING_DISTANCE,
    PAPER_PRUNING_FRACTIONS,
    PAPER_SIZE_DISTANCE,
    PAPER_SIZES,
    delay_shape,
    pruning_curves,
    pruning_shape,
    size_shape,
)
from ._temporal_figures import (
    SOLUTION_LABELS,
    diversity_figure,
    initialisation_figure,
    leading_eigenvalue_figure,
)

CITATION = """@article{jarne2023exploring,
  title = {Exploring weight initialization, diversity of solutions, and degradation in
           recurrent neural networks trained for temporal and decision-making tasks},
  author = {Jarne, Cecilia and Laje, Rodrigo},
  journal = {Journal of Computational Neuroscience}, volume = {51}, pages = {407--431},
  year = {2023}, eprint = {1906.01094}, archivePrefix = {arXiv}
}
@article{sussillo2013opening,
  title = {Opening the Black Box: Low-Dimensional Dynamics in High-Dimensional Recurrent
           Neural Networks},
  author = {Sussillo, David and Barak, Omri},
  journal = {Neural Computation}, volume = {25}, number = {3}, pages = {626--649},
  year = {2013}, doi = {10.1162/NECO_a_00409}
}
@article{henrici1962bounds,
  title = {Bounds for iterates, inverses, spectral variation and fields of values of
           non-normal matrices},
  author = {Henrici, Peter},
  journal = {Numerische Mathematik}, volume = {4}, pages = {24--40}, year = {1962},
  doi = {10.1007/BF01386294}
}"""

# The authors' early-stopping thresholds on the mean training loss (spec §2.3).
LOSS_THRESHOLDS = {
    "and": 5e-4,
    "not": 5e-4,
    "or": 1e-4,
    "xor": 1e-3,
    "oscillation": 1e-3,
    "interval": 1e-3,
    "flipflop": 1e-3,
}

INITS = ("orthogonal", "normal")  # the paper's two arms, the default
# Every initialiser's members draw their weights from a key derived from its place here,
# so a run of some initialisations builds the same networks as a run of all of them.
INIT_KEYS = ("orthogonal", "normal", "identity", "glorot_uniform")
_INIT_ALIASES = {"random_normal": "normal", "glorot": "glorot_uniform"}
#: Spec fields every layout gets unless ``task_fields`` sets them: NOT without input noise
#: (the authors' paper copy; their root generator adds 0.1).
TASK_DEFAULTS = {"not": {"input_noise_std": 0.0}}


class TemporalTasksConfig(ExperimentConfig):
    """Config of ``temporal-tasks``."""

    tasks: list[str] = pydantic.Field(
        list(TASKS), min_length=1, description="task names (rnnlab.tasks.TASKS)"
    )
    hidden_size: int = pydantic.Field(50, gt=0, description="N, units per network")
    model: Literal["elman", "rate"] = pydantic.Field(
        "elman",
        description="elman: the authors' discrete tanh RNN; rate: the continuous-time rate "
        "network tau h' = -h + W tanh h + U u + b, Euler steps of the task's dt (spec §2.4)",
    )
    tau: float = pydantic.Field(
        5.0, gt=0, description="time constant of model=rate (ms; must be >= the task's dt)"
    )
    inits: list[str] = pydantic.Field(
        list(INITS),
        min_length=1,
        description="recurrent initialisations, one arm each: orthogonal, normal (the "
        "paper's), identity (IRNN, an rnnlab extension), glorot_uniform",
    )
    members_per_init: int = pydantic.Field(20, gt=0, description="networks per (task, init)")
    learning_rate: float = pydantic.Field(
        3e-4,
        gt=0,
        description="Adam learning rate of the task cells (at 1e-3 with 15,000 trials NOT, "
        "oscillation and normal-init networks stalled; 3e-4 solved them; quick: 1e-3)",
    )
    learning_rate_decay: float = pydantic.Field(
        0.0,
        ge=0,
        description="Keras' legacy decay per update, lr_k = lr/(1 + decay k) (the authors': "
        "1e-4 with learning_rate 1e-4 and clip_norm None)",
    )
    clip_norm: float | None = pydantic.Field(
        1.0, gt=0, description="clip by global norm; None: off"
    )
    restore_best: bool = pydantic.Field(
        True,
        description="each network ends with its parameters after its epoch of lowest training "
        "loss, not its last (Keras' restore_best_weights; the authors keep the last): at 3e-4 "
        "a quarter of the 130 ms networks jumped late to a flat output (distance 1.41 -> 0.99)",
    )
    num_trials: int = pydantic.Field(
        15000,
        gt=0,
        description="training trials per epoch (the authors' 15,000; the last partial batch "
        "is dropped: 234 updates of 64)",
    )
    task_num_trials: dict[str, int] = pydantic.Field(
        {},
        description="per-task training trials per epoch, overriding num_trials, e.g. "
        "{'flipflop': 25000} (the authors' flip-flop count; our recorded runs used 15,000)",
    )
    batch_size: int = pydantic.Field(64, gt=0)
    max_epochs: int = pydantic.Field(20, gt=0)
    loss_threshold_scale: float = pydantic.Field(
        1.0, gt=0, description="multiplies the authors' early-stopping thresholds"
    )
    eval_trials: int = pydantic.Field(200, gt=0, description="fresh trials per evaluation")
    pruning_fractions: list[float] = pydantic.Field(
        [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.2, 0.28, 0.36, 0.4],
        min_length=2,
        description="fractions of the weakest recurrent weights zeroed (AND networks)",
    )
    pruning_init: str = pydantic.Field(
        "orthogonal",
        description="whose solved AND networks are pruned: one of inits, or all (the "
        "authors': orthogonal)",
    )
    task_fields: dict[str, dict[str, Any]] = pydantic.Field(
        {"not": {"input_noise_std": 0.0}},  # TASK_DEFAULTS, spelt out in config.json
        description="per-task spec overrides, e.g. {'and': {'tail': 60}}, on top of "
        "TASK_DEFAULTS (NOT without input noise, the authors' paper copy; put it back with "
        "{'not': {'input_noise_std': 0.1}})",
    )
    label_steps: int = pydantic.Field(5000, gt=0, description="silent steps after a stimulus")
    label_window: int = pydantic.Field(1000, gt=0, description="last steps that are labelled")
    label_conditions: int = pydantic.Field(
        4, gt=0, description="stimuli (conditions) labelled per network, spread over all"
    )
    fixed_point_networks: int = pydantic.Field(
        5, ge=0, description="networks per (task, init) whose fixed points are found"
    )
    fixed_point_starts: int = pydantic.Field(256, gt=0, description="starts per network")
    delays: list[float] = pydantic.Field(
        [float(d) for d in PAPER_DELAYS],
        description="delay sweep of the delayed-pulse task (ms); [] skips it",
    )
    sizes: list[int] = pydantic.Field(
        [int(n) for n in PAPER_SIZES], description="size sweep (units N); [] skips it"
    )
    size_sweep_delay: float = pydantic.Field(150.0, gt=0, description="delay of the size sweep")
    sweep_members: int = pydantic.Field(20, gt=0, description="networks per sweep cell")
    sweep_member_offset: int = pydantic.Field(
        0,
        ge=0,
        description="index of a sweep cell's first network: a run trains networks "
        "[offset, offset + sweep_members) of each cell, with the initial weights and batch "
        "orders they have in the whole cell, so a cell can be trained in parts (processes, "
        "machines, sessions) and put together (bench/sweep_cells.py --part-size)",
    )
    sweep_init: str = pydantic.Field("orthogonal", description="initialisation of sweep cells")
    sweep_learning_rate: float = pydantic.Field(
        3e-4, gt=0, description="Adam learning rate of the sweep cells (long delays need < 1e-3)"
    )
    size_sweep_learning_rate: float | None = pydantic.Field(
        None,
        gt=0,
        description="Adam learning rate of the size sweep at N = hidden_size (None: "
        "sweep_learning_rate); at 3e-4 networks of N >= 400 came near the stopping loss, then "
        "jumped to a flat output (loss 0.03) for good; at 1e-4 they converged",
    )
    size_sweep_rate_exponent: float = pydantic.Field(
        0.5,
        ge=0,
        le=2,
        description="size-sweep cell of N units trains at size_sweep_learning_rate x "
        "(hidden_size / N)^exponent; 0: one rate for all sizes, 0.5: Adam's step shrinks as "
        "the weights' scale 1/sqrt(N)",
    )
    sweep_stacking: Literal["auto", "cells", "stack"] = pydantic.Field(
        "auto",
        description="size sweep: 'stack' trains sizes within 1.5x of each other as one stack, "
        "padded with silent units to the largest (the cells' own networks, trials and batch "
        "orders: their results up to rounding); 'cells' one training per cell; 'auto' "
        "stacks on an accelerator only (model=elman), where a cell's loop is latency-bound",
    )
    sweep_task_fields: dict[str, Any] = pydantic.Field(
        {}, description="delayed-pulse spec of both sweeps (default: the authors' paper copy)"
    )
    task_layout: Literal["rnnlab", "paper", "root"] = pydantic.Field(
        "rnnlab",
        description="trial layouts: rnnlab's task defaults, or the authors' generators "
        "exactly (rnnlab.tasks.jarne_laje_2023: 'paper' = code_paper_rep/, 'root' = their "
        "top-level scripts); task_fields and sweep_task_fields apply on top",
    )

    @pydantic.field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: list[str]) -> list[str]:
        for name in tasks:
            if name not in TASKS:
                raise ValueError(f"task {name!r} is unknown; choose from {sorted(TASKS)}")
        return tasks

    @pydantic.field_validator("task_num_trials")
    @classmethod
    def _known_task_num_trials(cls, counts: dict) -> dict:
        for name, count in counts.items():
            if name not in TASKS:
                raise ValueError(
                    f"task_num_trials names task {name!r}, which is unknown; "
                    f"choose from {sorted(TASKS)}"
                )
            if count <= 0:
                raise ValueError(f"task_num_trials[{name!r}]={count} must be > 0; e.g. 25000")
        return counts

    @pydantic.field_validator("pruning_init")
    @classmethod
    def _canonical_pruning_init(cls, name: str) -> str:
        return _INIT_ALIASES.get(name, name)

    @pydantic.field_validator("task_fields")
    @classmethod
    def _known_task_fields(cls, task_fields: dict) -> dict:
        for name in task_fields:
            if name not in TASKS:
                raise ValueError(
                    f"task_fields names task {name!r}, which is unknown; "
                    f"choose from {sorted(TASKS)}"
                )
        return task_fields

    @pydantic.field_validator("sweep_init")
    @classmethod
    def _known_init(cls, name: str) -> str:
        make_initialiser(name)  # one-line error naming the choices
        return _INIT_ALIASES.get(name, name)

    @pydantic.field_validator("inits")
    @classmethod
    def _known_inits(cls, names: list[str]) -> list[str]:
        canonical = []
        for name in names:
            make_initialiser(name)  # one-line error naming the choices
            name = _INIT_ALIASES.get(name, name)
            if name in canonical:
                raise ValueError(f"inits lists {name!r} twice; name each initialisation once")
            canonical.append(name)
        return canonical

    @pydantic.model_validator(mode="after")
    def _consistent(self):
        if self.label_window > self.label_steps:
            raise ValueError(
                f"label_window={self.label_window} must not exceed label_steps={self.label_steps}"
            )
        # every task and sweep cell must be a possible trial (one-line error otherwise)
        specs = [_task(self, name) for name in self.tasks]
        specs += [_sweep_task(self, delay) for delay in self.delays]
        if self.sizes:
            specs.append(_sweep_task(self, self.size_sweep_delay))
        if self.model == "rate":
            dts = [spec.dt for spec in specs]
            if dts and self.tau < max(dts):
                raise ValueError(
                    f"tau={self.tau!r} ms must be >= the task's dt={max(dts)!r} ms for "
                    "model=rate (forward Euler); e.g. tau=5"
                )
        for size in self.sizes:
            if size <= 0:
                raise ValueError(f"sizes entry {size} must be a positive number of units")
        if self.sweep_stacking == "stack" and self.model != "elman":
            raise ValueError(
                f"sweep_stacking='stack' pads Elman networks only, not model={self.model!r}; "
                "use sweep_stacking=cells (or auto)"
            )
        if self.pruning_init != "all" and self.pruning_init not in self.inits:
            raise ValueError(
                f"pruning_init={self.pruning_init!r} is not among inits={self.inits}; "
                "choose one of them or 'all'"
            )
        return self

    @pydantic.field_validator("pruning_fractions")
    @classmethod
    def _fractions(cls, fractions: list[float]) -> list[float]:
        for p in fractions:
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"pruning fraction {p} must lie in [0, 1]")
        return sorted(set([0.0, *fractions]))


QUICK = {
    "hidden_size": 32,
    "members_per_init": 1,
    "num_trials": 1024,
    "max_epochs": 24,
    "loss_threshold_scale": 10.0,
    "eval_trials": 64,
    "pruning_fractions": [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4],
    "task_fields": {
        "and": {"tail": 30},
        "or": {"tail": 30},
        "xor": {"tail": 30},
        "not": {"tail": 30, "input_noise_std": 0.0},
        "flipflop": {"num_pulses": 3, "pulse_interval": 60, "stimulus_onset": 20, "tail": 40},
        "oscillation": {
            "stimulus_onset": 20,
            "oscillation_duration": 60,
            "period": 20,
            "tail": 10,
        },
        "interval": {"stimulus_onset": 20, "response_delay": 40, "trial_length": 120},
    },
    "label_steps": 2000,
    "label_window": 500,
    "fixed_point_networks": 2,
    "fixed_point_starts": 128,
    "delays": [25.0, 100.0, 170.0],
    "sizes": [16, 32, 64],
    "size_sweep_delay": 100.0,
    "sweep_members": 2,
    "sweep_learning_rate": 1e-3,
    "size_sweep_learning_rate": None,
    "size_sweep_rate_exponent": 0.0,
    "learning_rate": 1e-3,
}

#: The pruning summaries, null in a run without ``and``.
PRUNING_SUMMARIES = [
    "pruning.tolerated_fraction",
    "pruning.tolerated_fraction_strict",
    "pruning.break_fraction",
    "pruning.num_networks",
] + [
    f"pruning.{name}{whose}"
    for name in ("tolerated_fraction_relative", "break_fraction_relative", "ratio_at_20")
    for whose in ("", "_paper")
]

METRICS = {
    "<task>.accuracy": "threshold accuracy, mean over all trained networks of the task",
    "<task>.distance": "the paper's distance ||z - y||_2 per trial, mean over networks",
    "<task>.distance_clean": "distance against the noise-free target, mean over networks",
    "<task>.rmse_clean": "distance_clean / sqrt(T): per-step error, comparable across tasks",
    "<task>.<init>.diverged_fraction": (
        "fraction whose training loss or weights became non-finite (each keeps its weights of "
        "its lowest-loss epoch with restore_best, else of before the failing epoch; a task "
        "whose networks all diverge, over every initialisation, fails the run)"
    ),
    "<task>.<init>.accuracy_mean": "accuracy, mean over the networks of one initialisation",
    "<task>.<init>.distance_mean": "distance, mean over the networks of one initialisation",
    "<task>.<init>.solved_fraction": "fraction of networks with accuracy >= 0.95",
    "<task>.<init>.converged_fraction": "fraction that reached the early-stopping loss",
    "<task>.<init>.spectral_radius_after_mean": "spectral radius of W after training",
    "<task>.<init>.henrici_before_mean": "relative Henrici departure of W at initialisation",
    "<task>.<init>.henrici_after_mean": "relative Henrici departure of W after training",
    "<task>.<init>.leading_angle_after_mean": (
        "|arg lambda| of the max-real-part eigenvalue of W after training (rad per step)"
    ),
    "<task>.<init>.leading_frequency_hz_after_mean": (
        "that eigenvalue's rotation as a frequency, 1000 |arg lambda| / (2 pi dt) Hz (dt in ms)"
    ),
    "<task>.<init>.oscillatory_fraction": "fraction spectrally labelled oscillatory",
    "pruning.tolerated_fraction": (
        "largest pruned fraction (weakest |w|, both signs) up to which the mean AND "
        "accuracy stays >= 0.9 (at it and every smaller fraction); null if the undamaged "
        "networks already fall short or 'and' is not among the tasks"
    ),
    "pruning.tolerated_fraction_strict": (
        "the same with the strict accuracy (every step of the response window on the right "
        "side of the threshold, not just its mean)"
    ),
    "pruning.break_fraction": (
        "smallest pruned fraction with mean AND distance >= 1.0 (null if none reaches it)"
    ),
    "pruning.tolerated_fraction_relative": (
        "largest pruned fraction up to which (there and at every smaller one) the mean AND "
        "distance stays within 2x the undamaged one (the spec's shape criterion)"
    ),
    "pruning.break_fraction_relative": (
        "first pruned fraction whose mean AND distance exceeds 3x the undamaged one (null if none)"
    ),
    "pruning.num_networks": (
        "solved AND networks of pruning_init that were pruned (0: none solved, so all "
        "networks of pruning_init were pruned)"
    ),
    "pruning.<sign>.distance=<p>": (
        "mean AND distance with fraction p pruned; sign = both, positive, negative or "
        "random (the control: a random fraction p of the weights)"
    ),
    "diversity.oscillatory_fraction": (
        "fraction of all solved networks whose leading eigenvalue is an oscillatory complex "
        "pair (oscillation index >= 0.15); null if no network solved its task"
    ),
    "<task>.<init>.<label>_fraction": (
        "fraction of (network, stimulus) pairs whose hidden state ends on label = fixed_point, "
        "limit_cycle, slow (a steady drift, e.g. a slow approach), quasi_periodic (neither "
        "settles nor returns, largest Lyapunov exponent < 2e-3 per step: an invariant "
        "circle) or irregular (a positive exponent: chaotic); stimulus, then label_steps "
        "of silence (spec §5.2)"
    ),
    "<task>.<init>.label_disagreement_fraction": (
        "fraction of networks whose spectral label (oscillatory pair) differs from the "
        "dynamical one (some stimulus ends on a limit cycle, quasi-periodic or irregular "
        "motion)"
    ),
    "<task>.<init>.stable_points_mean": (
        "stable fixed points at zero input per analysed network (fixed_point_networks)"
    ),
    "<task>.<init>.unstable_points_mean": "unstable or marginal fixed points, likewise",
    "diversity.held_by_oscillation_fraction": (
        "fraction of solved networks with some stimulus ending on a limit cycle, "
        "quasi-periodic or irregular motion (null if none solved)"
    ),
    "diversity.label_disagreement_fraction": (
        "spectral vs dynamical label, solved networks (null if none solved)"
    ),
    "diversity.num_solved": "networks with accuracy >= 0.95, all tasks",
    "pruning.<sign>.knee_fraction": (
        "first pruned fraction with mean AND distance > 3x undamaged (null if none); sign = "
        "both, positive, negative, random (the control)"
    ),
    "pruning.ratio_at_20": "mean AND distance at 20 % pruned over the undamaged one",
    "pruning.<tolerated_fraction_relative|break_fraction_relative|ratio_at_20>_paper": (
        "the same relative criteria on the authors' damage table (10 %, 14 %, 10.5)"
    ),
    "delay.distance.delay=<ms>": "delayed pulse, mean distance over sweep_members networks",
    "delay.accuracy.delay=<ms>": "its mean accuracy",
    "delay.ratio_plateau_to_25": (
        "mean distance over delays >= 95 ms over the distance at the shortest delay (paper: 1.8)"
    ),
    "delay.spearman": "rank correlation of distance with delay (paper: 0.94 over 24 delays)",
    "delay.spearman_25_110": "the same over 25-110 ms, the spec's acceptance range (paper: 0.97)",
    "size.distance.N=<n>": "delayed pulse at size_sweep_delay, mean distance at N units",
    "size.accuracy.N=<n>": "its mean accuracy",
    "size.ratio_plateau_to_50": (
        "mean distance over 250 <= N <= 450 over the distance at the smallest N (paper: 0.62)"
    ),
    "size.ratio_largest_to_smallest": "distance at the largest N over the smallest N's",
    "size.spearman": "rank correlation of distance with N (paper: -0.92; negative: larger better)",
    "size.gain_beyond_250": (
        "1 - mean distance over N > 350 / mean over 250 <= N <= 350 "
        "(paper: -0.04, no clear gain beyond N ~ 250)"
    ),
    "<metric>_paper": "the same summary of the authors' published curve",
    "init.epochs_to_criterion.<init>": (
        "epochs to the early-stopping loss, mean over converged networks of all tasks "
        "(null if none converged)"
    ),
}


def _layout_task(layout: str, name: str, **fields):
    """Task ``name`` in ``layout``: rnnlab's defaults or the authors' generators."""
    if layout == "rnnlab":
        return make_task(name, **fields)
    return jarne_laje_2023(name, layout, **fields)


def _task(config, name: str):
    fields = {**TASK_DEFAULTS.get(name, {}), **config.task_fields.get(name, {})}
    try:
        return _layout_task(config.task_layout, name, **fields)
    except InvalidInputError as error:
        if config.task_layout == "rnnlab" or name not in config.task_fields:
            raise
        raise InvalidInputError(
            f"{error} (task_layout={config.task_layout!r} with task_fields for {name!r}: "
            f"{fields}; --quick sets shorter layouts, drop them with --set task_fields={{}})"
        ) from None


def _sweep_task(config, delay: float):
    """The delayed-pulse task of a sweep cell at ``delay`` ms."""
    fields = {**config.sweep_task_fields, "response_delay": delay}
    return _layout_task(config.task_layout, "interval", **fields)


def _layout_suffix(config) -> str:
    return "" if config.task_layout == "rnnlab" else f"-{config.task_layout}"


def _cell_suffix(config) -> str:
    """Checkpoint-folder suffix of a task cell that differs from the default run's: other
    initialisation arms, another trial layout."""
    arms = "" if config.inits == list(INITS) else "-" + "-".join(config.inits)
    return arms + _layout_suffix(config)


def _options(
    config: TemporalTasksConfig, name: str, learning_rate=None, *, sweep: bool = False
) -> BPTTOptions:
    """Training options of the task cell ``name`` (``sweep``: of a delay or size sweep
    cell, which ``task_num_trials`` leaves alone)."""
    num_trials = (
        config.num_trials if sweep else config.task_num_trials.get(name, config.num_trials)
    )
    return BPTTOptions(
        learning_rate=config.learning_rate if learning_rate is None else learning_rate,
        learning_rate_decay=config.learning_rate_decay,
        batch_size=min(config.batch_size, num_trials),
        num_trials=num_trials,
        max_epochs=config.max_epochs,
        loss_threshold=LOSS_THRESHOLDS[name] * config.loss_threshold_scale,
        clip_norm=config.clip_norm,
        restore_best=config.restore_best,
    )


def _members(config, task, key, *, inits=None, members=None, hidden_size=None, first=0):
    """The stack of ``members`` networks per initialisation, ordered by ``inits``; each
    network's key derives from its initialiser's name and its index (``INIT_KEYS``), the
    indices running from ``first``."""
    inits = config.inits if inits is None else inits
    members = config.members_per_init if members is None else members
    models = []
    for init in inits:
        for member in range(first, first + members):
            models.append(
                _network(
                    config,
                    task,
                    config.hidden_size if hidden_size is None else hidden_size,
                    derived_key(key, INIT_KEYS.index(init), member),
                    init,
                )
            )
    return stack_models(models)


def _network(config, task, hidden_size, key, init):
    """One network of ``config.model``; NOT must answer "high" to silence, so it trains a
    recurrent bias from 0 (spec §7)."""
    shape = (task.num_inputs, hidden_size, task.num_outputs)
    use_bias = isinstance(task, NotTask)
    if config.model == "rate":
        return EulerRateRNN.for_task(
            *shape, key=key, tau=config.tau, dt=task.dt, recurrent_init=init, use_bias=use_bias
        )
    return ElmanRNN(*shape, key=key, recurrent_init=init, use_bias=use_bias)


@eqx.filter_jit
def _outputs(model, inputs):
    """Outputs of one network on a batch (trial, time, input) of input sequences."""
    return batch_outputs(model, inputs)


def _tolerated(fractions, accuracy, level: float = 0.9) -> float | None:
    """Largest pruned fraction up to which the mean accuracy stays >= ``level`` (at it
    and every smaller fraction); ``None`` if even the undamaged networks fall short."""
    below = np.nonzero(np.asarray(accuracy) < level)[0]
    stop = below[0] if below.size else len(fractions)
    return float(fractions[stop - 1]) if stop else None


def _mean(values) -> float | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


def _label_stimuli(task, count: int) -> jax.Array:
    """Clean inputs (conditions, time, input) of up to ``count`` conditions spread evenly
    over all of them (first and last included)."""
    conditions = np.unique(np.linspace(0, task.num_conditions - 1, count).round().astype(int))
    zero = jnp.zeros((), jnp.int32)
    return jax.vmap(lambda c: task.clean_trial(c, zero).inputs)(jnp.asarray(conditions, jnp.int32))


def _train_cell(
    config,
    name,
    task,
    key,
    checkpoints,
    cell,
    *,
    init_key=None,
    learning_rate=None,
    first=0,
    **member_fields,
):
    """Train one stack of networks on ``task``; the data key is shared by the stack.
    ``init_key`` (default: derived from ``key``) draws the initial weights, ``key`` the
    training and evaluation trials. With ``checkpoints`` (a folder) the cell checkpoints
    every epoch to ``checkpoints/cell`` and resumes from there (a finished cell is not
    trained again). ``first``: the index of the first network (one initialisation), which
    gets that network's initial weights and batch order in a stack from index 0."""
    own_init_key, data_key, eval_key = jr.split(key, 3)
    init_key = own_init_key if init_key is None else init_key
    models = _members(config, task, init_key, first=first, **member_fields)
    folder = None if checkpoints is None else Path(checkpoints) / cell
    options = _options(config, name, learning_rate)
    members = jax.tree.leaves(eqx.filter(models, eqx.is_array))[0].shape[0]
    result = train_bptt(
        models,
        task,
        key=data_key,
        options=options,
        checkpoint_dir=folder,
        shuffle_ids=None if first == 0 else np.arange(first, first + members),
    )
    if all(status == "diverged" for status in result.status):
        raise DivergenceError(
            f"every network of the {cell} cell diverged (non-finite training loss); lower "
            f"learning_rate={options.learning_rate!r} or set clip_norm"
        )
    scores = evaluate_members(result.models, task, key=eval_key, num_trials=config.eval_trials)
    return models, result, scores, eval_key


def _solutions(config, name, task, trained, key, arrays):
    """Dynamical labels of every network and fixed points of the first few, per init."""
    stimuli = _label_stimuli(task, config.label_conditions)
    labels = dynamical_labels(
        trained, stimuli, num_steps=config.label_steps, window=config.label_window
    )
    arrays[f"{name}.dynamical_labels"] = labels.labels
    arrays[f"{name}.dynamical_periods"] = labels.periods
    arrays[f"{name}.lyapunov_exponents"] = labels.lyapunov_exponents
    stable, unstable = [], []
    for index in range(labels.labels.shape[0]):
        if index % config.members_per_init >= config.fixed_point_networks:
            stable.append(np.nan)
            unstable.append(np.nan)
            continue
        found, trajectories = trained_fixed_points(
            unstack_model(trained, index),
            stimuli,
            key=derived_key(key, index),
            num_starts=config.fixed_point_starts,
        )
        is_stable = np.array([s == "stable" for s in found.stability], dtype=bool)
        stable.append(int(is_stable.sum()))
        unstable.append(int((~is_stable).sum()))
        if index == 0:  # the first network of the task, for the phase-space figure
            arrays[f"{name}.fixed_points"] = found.points
            arrays[f"{name}.fixed_points_stable"] = is_stable
            network = unstack_model(trained, index)
            arrays[f"{name}.fixed_points_readout"] = np.asarray(
                jax.vmap(network.readout)(jnp.asarray(found.points, network.readout_bias.dtype))
            )
            arrays[f"{name}.trajectories"] = trajectories
    arrays[f"{name}.stable_points"] = np.array(stable)
    arrays[f"{name}.unstable_points"] = np.array(unstable)
    return labels, np.array(stable), np.array(unstable)


SIZE_STACK_SPREAD = 1.5
"""Stacked size-sweep cells: sizes up to this factor above a group's smallest share one
stack padded to the group's largest, so padding multiplies a product's work by at most
1.5^2 = 2.25."""


def _sweep_rate(config, kind: str, size: int | None = None) -> float:
    r"""The learning rate of the delay (``kind`` = "delay") or size sweep's cells; a size
    cell of ``size`` units trains at $\eta_N = \eta (N_0 / N)^p$, $\eta$ =
    ``size_sweep_learning_rate`` (None: ``sweep_learning_rate``), $N_0$ = ``hidden_size``,
    $p$ = ``size_sweep_rate_exponent``."""
    if kind == "delay":
        return config.sweep_learning_rate
    rate = config.size_sweep_learning_rate
    rate = config.sweep_learning_rate if rate is None else rate
    exponent = config.size_sweep_rate_exponent
    if exponent == 0 or size is None or size == config.hidden_size:
        return rate
    return float(rate * (config.hidden_size / size) ** exponent)


def _sweep_folder(config, delay: float, sizes, rates) -> str:
    """Checkpoint folder of a sweep cell (or stack of cells): named by delay, size(s),
    trial layout and, where they are not ``sweep_learning_rate``, the learning rates (the
    first and last of a stack whose sizes train at different rates)."""
    rates = sorted(set(rates), reverse=True)
    if rates == [config.sweep_learning_rate]:
        rate_suffix = ""
    else:
        rate_suffix = "-lr" + "-".join(
            f"{rate:.4g}" for rate in (rates[0], rates[-1])[: len(rates)]
        )
    sizes = "+".join(map(str, sizes))
    first = config.sweep_member_offset
    part = f"-networks{first}-{first + config.sweep_members - 1}" if first else ""
    return f"interval-delay{delay:g}-N{sizes}{_layout_suffix(config)}{rate_suffix}{part}"


def _stacking(config) -> bool:
    if config.sweep_stacking == "auto":
        return config.model == "elman" and jax.default_backend() != "cpu"
    return config.sweep_stacking == "stack"


def _size_groups(sizes) -> list[list[int]]:
    """``sizes`` sorted into groups whose largest is <= SIZE_STACK_SPREAD x smallest."""
    groups: list[list[int]] = []
    for size in sorted(set(sizes)):
        if groups and size <= SIZE_STACK_SPREAD * groups[-1][0]:
            groups[-1].append(size)
        else:
            groups.append([size])
    return groups


def _train_size_stack(config, key, delay: float, sizes: list[int], checkpoints) -> dict:
    """The size-sweep cells ``sizes`` at ``delay`` trained as one stack, each cell's
    networks padded to the largest size with silent units (:func:`rnnlab.models.pad_units`).
    Each cell keeps the networks, trials, batch orders (``shuffle_ids``) and evaluation
    trials of its own run (:func:`_train_cell`), so its scores are that run's up to
    rounding (tested). Returns ``{(delay, size, learning rate): scores}``."""
    task = _sweep_task(config, delay)
    _, data_key, eval_key = jr.split(derived_key(key, round(1000 * delay)), 3)
    members, largest = config.sweep_members, max(sizes)
    first = config.sweep_member_offset
    stacks = []
    for size in sizes:
        cell = _members(
            config,
            task,
            derived_key(key, round(1000 * delay), size),
            inits=(config.sweep_init,),
            members=members,
            hidden_size=size,
            first=first,
        )
        stacks.append(pad_units(cell, largest))
    arrays = [eqx.filter(stack, eqx.is_array) for stack in stacks]
    models = eqx.combine(
        jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *arrays),
        eqx.partition(stacks[0], eqx.is_array)[1],
    )
    rates = [_sweep_rate(config, "size", size) for size in sizes]
    folder = _sweep_folder(config, delay, sizes, rates)
    result = train_bptt(
        models,
        task,
        key=data_key,
        options=_options(config, "interval", rates[0], sweep=True),
        checkpoint_dir=None if checkpoints is None else Path(checkpoints) / folder,
        shuffle_ids=np.tile(np.arange(first, first + members), len(sizes)),
        rate_scales=np.repeat(np.array(rates) / rates[0], members),
    )
    scores = evaluate_members(result.models, task, key=eval_key, num_trials=config.eval_trials)
    cells = {}
    for index, (size, rate) in enumerate(zip(sizes, rates, strict=True)):
        part = slice(index * members, (index + 1) * members)
        if all(status == "diverged" for status in result.status[part]):
            raise DivergenceError(
                f"every network of the interval-delay{delay:g}-N{size} cell diverged "
                f"(non-finite training loss at learning rate {rate:g}); lower "
                "size_sweep_learning_rate or set clip_norm"
            )
        cells[delay, size, rate] = {
            field: np.asarray(value)[part] for field, value in scores.items()
        }
    return cells


def _sweep(config, key, progress_advance, metrics, arrays, kind, cells, checkpoints):
    """Delay or size sweep of the delayed-pulse task: one stack of networks per cell.

    A cell is named by its (delay, N, learning rate): its trials derive from the delay
    alone (every size at one delay sees the same trials, as the authors' fixed-seed
    generator gave) and its initial weights from (delay, N), so a cell that both sweeps
    contain (e.g. N = 50 at the size sweep's delay, where both sweeps train at one rate)
    is trained once (``cells``)."""
    values = config.delays if kind == "delay" else config.sizes
    distances, accuracies, network_scores = [], [], []
    if kind == "size" and _stacking(config):
        delay = config.size_sweep_delay

        def own_checkpoint(size):  # a cell begun on its own (e.g. on a CPU) resumes alone
            folder = _sweep_folder(config, delay, [size], [_sweep_rate(config, kind, size)])
            return checkpoints is not None and (Path(checkpoints) / folder).exists()

        pending = [
            int(v)
            for v in values
            if (delay, int(v), _sweep_rate(config, kind, int(v))) not in cells
            and not own_checkpoint(int(v))
        ]
        for group in _size_groups(pending):
            if len(group) > 1:
                cells.update(_train_size_stack(config, key, delay, group, checkpoints))
    for value in values:
        delay = float(value) if kind == "delay" else config.size_sweep_delay
        size = config.hidden_size if kind == "delay" else int(value)
        rate = _sweep_rate(config, kind, size)
        if (delay, size, rate) not in cells:
            task = _sweep_task(config, delay)
            cells[delay, size, rate] = _train_cell(
                config,
                "interval",
                task,
                derived_key(key, round(1000 * delay)),
                checkpoints,
                _sweep_folder(config, delay, [size], [rate]),
                init_key=derived_key(key, round(1000 * delay), size),
                learning_rate=rate,
                inits=(config.sweep_init,),
                members=config.sweep_members,
                hidden_size=size,
                first=config.sweep_member_offset,
            )[2]
        scores = cells[delay, size, rate]
        network_scores.append([np.asarray(scores[f], float) for f in ("distance", "accuracy")])
        distances.append(float(scores["distance"].mean()))
        accuracies.append(float(scores["accuracy"].mean()))
        suffix = f"delay={delay!r}" if kind == "delay" else f"N={size}"
        metrics[f"{kind}.distance.{suffix}"] = distances[-1]
        metrics[f"{kind}.accuracy.{suffix}"] = accuracies[-1]
        progress_advance(1)
    arrays[f"{kind}.values"] = np.array(values, dtype=float)
    arrays[f"{kind}.distance"] = np.array(distances)
    arrays[f"{kind}.accuracy"] = np.array(accuracies)
    # each network's scores (value, network): networks sweep_member_offset onwards
    arrays[f"{kind}.network_distance"] = np.array([d for d, _ in network_scores])
    arrays[f"{kind}.network_accuracy"] = np.array([a for _, a in network_scores])
    if kind == "delay":
        ours, paper = (
            delay_shape(values, distances),
            delay_shape(PAPER_DELAYS, PAPER_DELAY_DISTANCE),
        )
    else:
        ours, paper = size_shape(values, distances), size_shape(PAPER_SIZES, PAPER_SIZE_DISTANCE)
    for name, value in ours.items():
        metrics[f"{kind}.{name}"] = value
        metrics[f"{kind}.{name}_paper"] = paper[name]


def run(config: TemporalTasksConfig, *, key, progress, checkpoint_dir=None) -> Results:
    """Train every (task, init) cell, analyse spectra, labels and fixed points, prune the
    AND networks, and sweep the delayed pulse over delays and sizes.

    ``checkpoint_dir``: every training cell checkpoints there each epoch and resumes from
    it (the run directory passes ``OUT/checkpoints``)."""
    metrics: dict = {}
    arrays: dict[str, np.ndarray] = {}
    per_init = config.members_per_init
    spectral_all, dynamical_all, solved_all = [], [], []
    epochs = {init: [] for init in config.inits}
    and_models = None
    total = len(config.tasks) + 1 + len(config.delays) + len(config.sizes)
    with progress.task("temporal-tasks: train", total) as advance:
        for name in config.tasks:
            task = _task(config, name)
            task_key = derived_key(key, list(TASKS).index(name))  # same networks in any subset
            cell_name = f"task-{name}{_cell_suffix(config)}"  # another stack: own folder
            models, result, scores, eval_key = _train_cell(
                config, name, task, task_key, checkpoint_dir, cell_name
            )
            before = np.asarray(models.recurrent_weights, dtype=np.float64)
            after = np.asarray(result.models.recurrent_weights, dtype=np.float64)
            summaries_before = [spectrum_summary(w, dt=task.dt) for w in before]
            summaries_after = [spectrum_summary(w, dt=task.dt) for w in after]
            spectral = np.array([spectral_label(w) == "oscillatory" for w in after])
            labels, stable, unstable = _solutions(
                config, name, task, result.models, derived_key(task_key, 7), arrays
            )
            dynamical = labels.held_by_oscillation
            metrics[f"{name}.accuracy"] = float(scores["accuracy"].mean())
            metrics[f"{name}.distance"] = float(scores["distance"].mean())
            metrics[f"{name}.distance_clean"] = float(scores["distance_clean"].mean())
            metrics[f"{name}.rmse_clean"] = float(
                scores["distance_clean"].mean() / np.sqrt(task.num_steps)
            )
            for init_index, init in enumerate(config.inits):
                cell = slice(init_index * per_init, (init_index + 1) * per_init)
                prefix = f"{name}.{init}"
                converged = result.converged[cell]
                cell_labels = labels.labels[cell]
                metrics[f"{prefix}.accuracy_mean"] = float(scores["accuracy"][cell].mean())
                metrics[f"{prefix}.distance_mean"] = float(scores["distance"][cell].mean())
                metrics[f"{prefix}.solved_fraction"] = float(scores["solved"][cell].mean())
                metrics[f"{prefix}.converged_fraction"] = float(converged.mean())
                metrics[f"{prefix}.diverged_fraction"] = float(
                    np.mean([status == "diverged" for status in result.status[cell]])
                )
                metrics[f"{prefix}.spectral_radius_after_mean"] = _mean(
                    [s["spectral_radius"] for s in summaries_after[cell]]
                )
                metrics[f"{prefix}.henrici_before_mean"] = _mean(
                    [s["henrici"] for s in summaries_before[cell]]
                )
                metrics[f"{prefix}.henrici_after_mean"] = _mean(
                    [s["henrici"] for s in summaries_after[cell]]
                )
                metrics[f"{prefix}.leading_angle_after_mean"] = _mean(
                    [s["leading_angle"] for s in summaries_after[cell]]
                )
                metrics[f"{prefix}.leading_frequency_hz_after_mean"] = _mean(
                    [1000 * s["leading_frequency"] for s in summaries_after[cell]]
                )
                metrics[f"{prefix}.oscillatory_fraction"] = float(np.mean(spectral[cell]))
                for label in SOLUTION_LABELS:
                    metrics[f"{prefix}.{label}_fraction"] = float(np.mean(cell_labels == label))
                metrics[f"{prefix}.label_disagreement_fraction"] = float(
                    np.mean(spectral[cell] != dynamical[cell])
                )
                metrics[f"{prefix}.stable_points_mean"] = _mean(stable[cell])
                metrics[f"{prefix}.unstable_points_mean"] = _mean(unstable[cell])
                epochs[init].extend(result.epochs_trained[cell][converged].tolist())
            spectral_all.extend(spectral.tolist())
            dynamical_all.extend(dynamical.tolist())
            solved_all.extend(scores["solved"].tolist())
            arrays[f"{name}.eigenvalues_before"] = np.array([np.linalg.eigvals(w) for w in before])
            arrays[f"{name}.eigenvalues_after"] = np.array([np.linalg.eigvals(w) for w in after])
            for when, summaries in (("before", summaries_before), ("after", summaries_after)):
                for number in ("henrici", "spectral_radius", "leading_angle"):
                    arrays[f"{name}.{number}_{when}"] = np.array([s[number] for s in summaries])
                arrays[f"{name}.leading_frequency_hz_{when}"] = np.array(
                    [1000 * s["leading_frequency"] for s in summaries]
                )
            arrays[f"{name}.spectral_oscillatory"] = spectral
            arrays[f"{name}.solved"] = np.asarray(scores["solved"], dtype=bool)
            arrays[f"{name}.converged"] = result.converged
            arrays[f"{name}.epochs_trained"] = np.asarray(result.epochs_trained)
            arrays[f"{name}.losses"] = result.losses
            arrays[f"{name}.accuracy"] = scores["accuracy"]
            arrays[f"{name}.distance"] = scores["distance"]
            sample = all_conditions(eval_key, task)
            shown = min(task.num_conditions, 4)
            arrays[f"{name}.sample_inputs"] = np.asarray(sample.inputs[:shown])
            arrays[f"{name}.sample_targets"] = np.asarray(sample.targets[:shown])
            arrays[f"{name}.sample_outputs"] = np.asarray(
                _outputs(unstack_model(result.models, 0), sample.inputs[:shown])
            )
            if name == "and":
                # prune the solved networks of pruning_init (all of that init if none solved)
                member_init = np.repeat(np.array(config.inits), per_init)
                pool = (
                    np.ones(len(member_init), bool)
                    if config.pruning_init == "all"
                    else member_init == config.pruning_init
                )
                solved_pool = pool & scores["solved"]
                keep = np.nonzero(solved_pool if solved_pool.any() else pool)[0]
                and_models = jax.tree.map(lambda x, keep=keep: x[keep], result.models)
                and_task, and_eval_key = task, eval_key
                metrics["pruning.num_networks"] = int(solved_pool.sum())
            advance(1)

        solved = np.array(solved_all, dtype=bool)
        spectral = np.array(spectral_all, dtype=bool)
        dynamical = np.array(dynamical_all, dtype=bool)
        metrics["diversity.num_solved"] = int(solved.sum())
        metrics["diversity.oscillatory_fraction"] = (
            float(spectral[solved].mean()) if solved.any() else None
        )
        metrics["diversity.held_by_oscillation_fraction"] = (
            float(dynamical[solved].mean()) if solved.any() else None
        )
        metrics["diversity.label_disagreement_fraction"] = (
            float((spectral != dynamical)[solved].mean()) if solved.any() else None
        )
        for init in config.inits:
            metrics[f"init.epochs_to_criterion.{init}"] = _mean(epochs[init])

        fractions = np.array(config.pruning_fractions)
        arrays["pruning.fractions"] = fractions
        for name in PRUNING_SUMMARIES:  # null unless AND is trained (then all are set)
            metrics.setdefault(name, None)
        if and_models is not None:
            curves = pruning_curves(
                and_models,
                and_task,
                fractions=fractions,
                key=derived_key(key, 90),
                eval_key=and_eval_key,
                num_trials=config.eval_trials,
            )
            for sign, (distances, accuracies, strict) in curves.items():
                arrays[f"pruning.{sign}.distance"] = distances
                arrays[f"pruning.{sign}.accuracy"] = accuracies
                arrays[f"pruning.{sign}.accuracy_strict"] = strict
                for p, d in zip(fractions, distances, strict=True):
                    metrics[f"pruning.{sign}.distance={float(p)!r}"] = float(d)
                metrics[f"pruning.{sign}.knee_fraction"] = pruning_shape(fractions, distances)[
                    "knee_fraction"
                ]
            both, accuracy, strict = curves["both"]
            metrics["pruning.tolerated_fraction"] = _tolerated(fractions, accuracy)
            metrics["pruning.tolerated_fraction_strict"] = _tolerated(fractions, strict)
            far = np.nonzero(both >= 1.0)[0]
            metrics["pruning.break_fraction"] = float(fractions[far[0]]) if far.size else None
            # The spec's shape criteria, relative to the undamaged distance, ours and theirs.
            ours = pruning_shape(fractions, both)
            paper = pruning_shape(PAPER_PRUNING_FRACTIONS, PAPER_PRUNING_DISTANCE)
            metrics["pruning.tolerated_fraction_relative"] = ours["tolerated_fraction"]
            metrics["pruning.break_fraction_relative"] = ours["knee_fraction"]
            metrics["pruning.ratio_at_20"] = ours["ratio_at_20"]
            metrics["pruning.tolerated_fraction_relative_paper"] = paper["tolerated_fraction"]
            metrics["pruning.break_fraction_relative_paper"] = paper["knee_fraction"]
            metrics["pruning.ratio_at_20_paper"] = paper["ratio_at_20"]
        advance(1)
        cells: dict = {}
        if config.delays:
            _sweep(
                config,
                derived_key(key, 100),
                advance,
                metrics,
                arrays,
                "delay",
                cells,
                checkpoint_dir,
            )
        if config.sizes:
            _sweep(
                config,
                derived_key(key, 100),
                advance,
                metrics,
                arrays,
                "size",
                cells,
                checkpoint_dir,
            )
    return Results(metrics=metrics, arrays=arrays)


def figures(results: Results, config: TemporalTasksConfig, folder: Path) -> list[Path]:
    """Task samples and trained outputs, spectra and Henrici departure before/after
    training, fixed points in PCA space, and the pruning, delay and size curves beside
    the authors'."""
    plt = pyplot()
    save = FigureSaver(folder)
    a = results.arrays
    tasks = [name for name in config.tasks if f"{name}.eigenvalues_after" in a]

    # trained outputs against targets, one panel per task (first network, per condition)
    if tasks:
        fig, axes = plt.subplots(len(tasks), 2, figsize=(9, 1.7 * len(tasks)), squeeze=False)
        for row, name in zip(axes, tasks, strict=True):
            inputs, targets = a[f"{name}.sample_inputs"], a[f"{name}.sample_targets"]
            outputs = a[f"{name}.sample_outputs"]
            for c in range(inputs.shape[0]):
                row[0].plot(inputs[c] + 1.5 * c, lw=0.8, color=f"C{c}")
                row[1].plot(targets[c, :, 0] + 1.5 * c, lw=0.8, color="0.6")
                row[1].plot(outputs[c, :, 0] + 1.5 * c, lw=0.9, color=f"C{c}")
            row[0].set_ylabel(name)
            row[0].set_yticks([])
            row[1].set_yticks([])
        axes[0, 0].set_title("inputs (one row per condition)")
        axes[0, 1].set_title("target (grey) and trained output")
        axes[-1, 0].set_xlabel("time step (ms)")
        axes[-1, 1].set_xlabel("time step (ms)")
        save(fig, "task_outputs")

    theta = np.linspace(0, 2 * np.pi, 400)
    for name in tasks:
        fig, ax = plt.subplots(figsize=(4.4, 4.4))
        before, after = a[f"{name}.eigenvalues_before"], a[f"{name}.eigenvalues_after"]
        ax.plot(before.real.ravel(), before.imag.ravel(), ".", ms=2, label="initial")
        ax.plot(after.real.ravel(), after.imag.ravel(), ".", ms=2, label="trained")
        ax.plot(np.cos(theta), np.sin(theta), "k-", lw=0.8)
        ax.set_aspect("equal")
        ax.set(xlabel="Re", ylabel="Im", title=f"{name}: eigenvalues of W")
        ax.legend(loc="upper right", fontsize=7)
        save(fig, f"spectrum_{name}")

    if tasks:
        fig, ax = plt.subplots(figsize=(6, 3.4))
        per_init = config.members_per_init
        offsets = np.linspace(-0.15, 0.15, len(config.inits)) if len(config.inits) > 1 else [0.0]
        for i, init in enumerate(config.inits):
            cell = slice(i * per_init, (i + 1) * per_init)
            x = np.arange(len(tasks)) + offsets[i]
            before = [a[f"{name}.henrici_before"][cell].mean() for name in tasks]
            after = [a[f"{name}.henrici_after"][cell].mean() for name in tasks]
            ax.plot(x, before, "o", mfc="none", color=f"C{i}", label=f"{init}, initial")
            ax.plot(x, after, "s", color=f"C{i}", label=f"{init}, trained")
        ax.set_xticks(np.arange(len(tasks)), tasks, rotation=30)
        ax.set(ylabel="Henrici departure H", title="departure from normality")
        ax.legend(fontsize=7)
        save(fig, "henrici")

    per_init = config.members_per_init
    arms = [
        (i, init, slice(i * per_init, (i + 1) * per_init)) for i, init in enumerate(config.inits)
    ]
    with_labels = [name for name in tasks if f"{name}.dynamical_labels" in a]
    if with_labels:
        diversity_figure(plt, save, a, with_labels, arms)
    if tasks and all(f"{name}.epochs_trained" in a for name in tasks):
        initialisation_figure(plt, save, a, tasks, arms)
        periods = (
            {"oscillation": _task(config, "oscillation").period} if "oscillation" in tasks else {}
        )
        leading_eigenvalue_figure(plt, save, a, tasks, arms, periods)

    # fixed points of the first trained network of each task, in PCA space of its states
    shown = [name for name in tasks if f"{name}.trajectories" in a]
    if shown:
        fig, axes = plt.subplots(1, len(shown), figsize=(3 * len(shown), 3.2), squeeze=False)
        for ax, name in zip(axes[0], shown, strict=True):
            trajectories = a[f"{name}.trajectories"]
            flat = trajectories.reshape(-1, trajectories.shape[-1])
            centre = flat.mean(0)
            _, _, vt = np.linalg.svd(flat - centre, full_matrices=False)
            basis = vt[:2].T
            for c, path in enumerate(trajectories):
                xy = (path - centre) @ basis
                ax.plot(xy[:, 0], xy[:, 1], lw=0.7, color=f"C{c}")
            points = a[f"{name}.fixed_points"]
            if points.size:
                xy = (points - centre) @ basis
                stable = a[f"{name}.fixed_points_stable"]
                ax.plot(xy[stable, 0], xy[stable, 1], "ko", ms=5, label="stable")
                ax.plot(
                    xy[~stable, 0], xy[~stable, 1], "o", mfc="w", mec="k", ms=5, label="unstable"
                )
            ax.set(title=name, xlabel="PC 1", ylabel="PC 2")
        axes[0, 0].legend(fontsize=7)
        save(fig, "fixed_points_pca")

    if "pruning.both.distance" in a:
        fractions = a["pruning.fractions"]
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
        for sign in ("both", "positive", "negative", "random"):
            axes[0].plot(100 * fractions, a[f"pruning.{sign}.distance"], "o-", label=sign)
        for level in (1.0, 1.5):
            axes[0].axhline(level, ls="--", c="gray", lw=0.8)
        axes[0].set(
            xlabel="weakest weights removed (%)",
            ylabel="mean distance",
            title="AND pruning (ours)",
        )
        axes[0].legend(fontsize=7)
        both = a["pruning.both.distance"]
        axes[1].plot(100 * fractions, both / both[0], "o-", label="ours")
        axes[1].plot(
            100 * PAPER_PRUNING_FRACTIONS,
            PAPER_PRUNING_DISTANCE / PAPER_PRUNING_DISTANCE[0],
            "s--",
            color="k",
            label="Jarne & Laje",
        )
        for level in (2.0, 3.0):
            axes[1].axhline(level, ls=":", c="gray", lw=0.8)
        axes[1].set(
            xlabel="weakest weights removed (%)",
            ylabel="distance / undamaged",
            title="shape beside the paper",
            yscale="log",
        )
        axes[1].legend(fontsize=7)
        save(fig, "pruning_and")

    for kind, label, paper_x, paper_y in (
        ("delay", "delay (ms)", PAPER_DELAYS, PAPER_DELAY_DISTANCE),
        ("size", "units N", PAPER_SIZES, PAPER_SIZE_DISTANCE),
    ):
        if f"{kind}.distance" not in a:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.6))
        per_network = a.get(f"{kind}.network_distance")
        # standard error of the mean over each cell's networks (none for one network)
        sem = (
            per_network.std(axis=1, ddof=1) / np.sqrt(per_network.shape[1])
            if per_network is not None and per_network.ndim == 2 and per_network.shape[1] > 1
            else None
        )
        ax.errorbar(
            a[f"{kind}.values"],
            a[f"{kind}.distance"],
            yerr=sem,
            fmt="o-",
            capsize=2,
            label="ours" if sem is None else "ours (± s.e.m.)",
        )
        ax.plot(paper_x, paper_y, "s--", color="k", ms=3, label="Jarne & Laje")
        ax.set(xlabel=label, ylabel="mean distance", title=f"delayed pulse: {kind} sweep")
        ax.legend(fontsize=7)
        save(fig, f"{kind}_sweep")
    return save.paths


EXPERIMENT = Experiment(
    id="temporal-tasks",
    title="temporal-tasks: small RNNs on temporal and decision tasks (Jarne & Laje)",
    summary=(
        "tanh RNNs trained by BPTT on AND/OR/XOR/NOT, flip-flop, oscillation and delayed "
        "pulse from orthogonal and normal initialisations; spectra before/after, diversity "
        "of solutions, pruning of the weakest recurrent weights."
    ),
    config_type=TemporalTasksConfig,
    run=run,
    figures=figures,
    citation=CITATION,
    quick=QUICK,
    metric_docs=METRICS,
    resumable=True,
    # in every training cell's fingerprint: a change makes OUT/checkpoints another run's
    checkpoint_fields=(
        "seed",
        "model",
        "tau",
        "hidden_size",
        "members_per_init",
        "num_trials",
        "batch_size",
        "max_epochs",
        "loss_threshold_scale",
        "learning_rate_decay",
        "clip_norm",
        "restore_best",
        "task_layout",
    ),
)
