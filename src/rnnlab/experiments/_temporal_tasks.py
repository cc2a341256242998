r"""``temporal-tasks``: small tanh RNNs trained on temporal and decision tasks.

Reproduces the shape of Jarne & Laje (arXiv:1906.01094): discrete-time tanh networks
(:class:`rnnlab.models.ElmanRNN`, the authors' Keras ``SimpleRNN``) trained by BPTT on the
task family of :mod:`rnnlab.tasks`, from orthogonal and random-normal recurrent
initialisations; eigenvalues before and after training; a spectral label per network
(held state kept by a fixed point or an oscillation); graceful degradation under pruning
of the weakest recurrent weights.

NOT networks train a recurrent bias from 0, as the authors' NOT network did.

Where we differ from the paper (quick and default modes alike): Adam at a larger learning
rate with clipping (1e-3, clip 1) instead of 1e-4 with Keras' decay, fewer trials per
epoch, and shorter task layouts in ``--quick``; compare ratios, not absolute distances.
At 3e-3 the loss of many networks jumped back up mid-training; in quick layouts (N = 32,
24 epochs, 3 networks per initialisation) 1 of 6 flip-flop and 5 of 6 XOR networks were
solved at 3e-3 with 512 trials per epoch, 5 of 6 and 6 of 6 at 1e-3 with 1024.

``--quick`` also trains NOT without input noise (the authors' paper copy; their root
generator adds 0.1): with no cue, a NOT network times its switch to "high" by a slow
escape from the origin driven by its small bias, which noise of 0.1 per step swamps
(measured likewise: 5 of 6 networks solved noise-free, 2 of 6 with noise), and relaxes the
early-stopping thresholds 10x, since ~400 updates rarely reach the authors' values.
"""

from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.random as jr
import numpy as np
import pydantic

from ..analysis import prune_weakest, spectral_label, spectrum_summary
from ..learning import BPTTOptions, evaluate_members, train_bptt
from ..models import ElmanRNN, stack_models
from ..tasks import TASKS, NotTask, make_task
from ._base import Experiment, ExperimentConfig, Results, derived_key

CITATION = """@article{jarne2023exploring,
  title = {Exploring weight initialization, diversity of solutions, and degradation in
           recurrent neural networks trained for temporal and decision-making tasks},
  author = {Jarne, Cecilia and Laje, Rodrigo},
  journal = {Journal of Computational Neuroscience}, volume = {51}, pages = {407--431},
  year = {2023}, eprint = {1906.01094}, archivePrefix = {arXiv}
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

INITS = ("orthogonal", "normal")


class TemporalTasksConfig(ExperimentConfig):
    """Config of ``temporal-tasks``."""

    tasks: list[str] = pydantic.Field(
        list(TASKS), min_length=1, description="task names (rnnlab.tasks.TASKS)"
    )
    hidden_size: int = pydantic.Field(50, gt=0, description="N, units per network")
    members_per_init: int = pydantic.Field(20, gt=0, description="networks per (task, init)")
    learning_rate: float = pydantic.Field(1e-3, gt=0)
    clip_norm: float | None = pydantic.Field(1.0, description="clip by global norm; None: off")
    num_trials: int = pydantic.Field(2048, gt=0, description="training trials per epoch")
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
    task_fields: dict[str, dict[str, Any]] = pydantic.Field(
        {}, description="per-task spec overrides, e.g. {'and': {'tail': 60}}"
    )

    @pydantic.field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: list[str]) -> list[str]:
        for name in tasks:
            if name not in TASKS:
                raise ValueError(f"task {name!r} is unknown; choose from {sorted(TASKS)}")
        return tasks

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
}

METRICS = {
    "<task>.accuracy": "threshold accuracy, mean over all trained networks of the task",
    "<task>.distance": "the paper's distance ||z - y||_2 per trial, mean over networks",
    "<task>.<init>.accuracy_mean": "accuracy, mean over the networks of one initialisation",
    "<task>.<init>.distance_mean": "distance, mean over the networks of one initialisation",
    "<task>.<init>.solved_fraction": "fraction of networks with accuracy >= 0.95",
    "<task>.<init>.converged_fraction": "fraction that reached the early-stopping loss",
    "<task>.<init>.spectral_radius_after_mean": "spectral radius of W after training",
    "<task>.<init>.henrici_before_mean": "relative Henrici departure of W at initialisation",
    "<task>.<init>.henrici_after_mean": "relative Henrici departure of W after training",
    "<task>.<init>.oscillatory_fraction": "fraction spectrally labelled oscillatory",
    "pruning.tolerated_fraction": (
        "largest pruned fraction (weakest |w|, both signs) with mean AND accuracy >= 0.9"
    ),
    "pruning.break_fraction": "smallest pruned fraction with mean AND distance >= 1.0",
    "pruning.tolerated_fraction_relative": (
        "largest pruned fraction whose mean AND distance stays within 2x the undamaged one "
        "(before the first break; the spec's shape criterion)"
    ),
    "pruning.break_fraction_relative": (
        "first pruned fraction whose mean AND distance exceeds 3x the undamaged one (null if none)"
    ),
    "pruning.num_networks": "solved AND networks pruned (0: none solved, all were pruned)",
    "pruning.<sign>.distance=<p>": (
        "mean AND distance with fraction p pruned; sign = both, positive or negative"
    ),
    "diversity.oscillatory_fraction": (
        "fraction of all solved networks whose leading eigenvalue is an oscillatory complex "
        "pair (oscillation index >= 0.15)"
    ),
    "init.epochs_to_criterion.<init>": (
        "epochs to the early-stopping loss, mean over converged networks of all tasks "
        "(null if none converged)"
    ),
}


def _task(config: TemporalTasksConfig, name: str):
    return make_task(name, **config.task_fields.get(name, {}))


def _members(config, task, key):
    models = []
    for init_index, init in enumerate(INITS):
        for member in range(config.members_per_init):
            models.append(
                ElmanRNN(
                    task.num_inputs,
                    config.hidden_size,
                    task.num_outputs,
                    key=derived_key(key, init_index, member),
                    recurrent_init=init,
                    # NOT must answer "high" to silence: it trains a bias from 0 (spec §7)
                    use_bias=isinstance(task, NotTask),
                )
            )
    return stack_models(models)


def _mean(values) -> float | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


def _with_recurrent(models, weights):
    return eqx.tree_at(lambda m: m.recurrent_weights, models, weights)


def run(config: TemporalTasksConfig, *, key, progress) -> Results:
    """Train every (task, init) cell, analyse spectra, prune the AND networks."""
    metrics: dict = {}
    arrays: dict[str, np.ndarray] = {}
    per_init = config.members_per_init
    labels_all, solved_all = [], []
    epochs = {init: [] for init in INITS}
    and_models = None
    with progress.task("temporal-tasks: train", len(config.tasks) + 1) as advance:
        for task_index, name in enumerate(config.tasks):
            task = _task(config, name)
            task_key = derived_key(key, task_index)
            init_key, data_key, eval_key = jr.split(task_key, 3)
            models = _members(config, task, init_key)
            options = BPTTOptions(
                learning_rate=config.learning_rate,
                batch_size=min(config.batch_size, config.num_trials),
                num_trials=config.num_trials,
                max_epochs=config.max_epochs,
                loss_threshold=LOSS_THRESHOLDS[name] * config.loss_threshold_scale,
                clip_norm=config.clip_norm,
            )
            result = train_bptt(models, task, key=data_key, options=options)
            scores = evaluate_members(
                result.models, task, key=eval_key, num_trials=config.eval_trials
            )
            before = np.asarray(models.recurrent_weights, dtype=np.float64)
            after = np.asarray(result.models.recurrent_weights, dtype=np.float64)
            summaries_before = [spectrum_summary(w) for w in before]
            summaries_after = [spectrum_summary(w) for w in after]
            labels = [spectral_label(w) == "oscillatory" for w in after]
            metrics[f"{name}.accuracy"] = float(scores["accuracy"].mean())
            metrics[f"{name}.distance"] = float(scores["distance"].mean())
            for init_index, init in enumerate(INITS):
                cell = slice(init_index * per_init, (init_index + 1) * per_init)
                prefix = f"{name}.{init}"
                converged = result.converged[cell]
                metrics[f"{prefix}.accuracy_mean"] = float(scores["accuracy"][cell].mean())
                metrics[f"{prefix}.distance_mean"] = float(scores["distance"][cell].mean())
                metrics[f"{prefix}.solved_fraction"] = float(scores["solved"][cell].mean())
                metrics[f"{prefix}.converged_fraction"] = float(converged.mean())
                metrics[f"{prefix}.spectral_radius_after_mean"] = _mean(
                    [s["spectral_radius"] for s in summaries_after[cell]]
                )
                metrics[f"{prefix}.henrici_before_mean"] = _mean(
                    [s["henrici"] for s in summaries_before[cell]]
                )
                metrics[f"{prefix}.henrici_after_mean"] = _mean(
                    [s["henrici"] for s in summaries_after[cell]]
                )
                metrics[f"{prefix}.oscillatory_fraction"] = float(np.mean(labels[cell]))
                epochs[init].extend(result.epochs_trained[cell][converged].tolist())
            labels_all.extend(labels)
            solved_all.extend(scores["solved"].tolist())
            arrays[f"{name}.eigenvalues_before"] = np.array([np.linalg.eigvals(w) for w in before])
            arrays[f"{name}.eigenvalues_after"] = np.array([np.linalg.eigvals(w) for w in after])
            arrays[f"{name}.losses"] = result.losses
            arrays[f"{name}.accuracy"] = scores["accuracy"]
            arrays[f"{name}.distance"] = scores["distance"]
            if name == "and":
                # prune the solved networks (all of them if none solved)
                keep = np.nonzero(scores["solved"])[0] if scores["solved"].any() else None
                and_models = (
                    result.models
                    if keep is None
                    else jax.tree.map(lambda x, keep=keep: x[keep], result.models)
                )
                and_task, and_eval_key = task, eval_key
                metrics["pruning.num_networks"] = int(len(keep) if keep is not None else 0)
            advance(1)

        solved = np.array(solved_all, dtype=bool)
        oscillatory = np.array(labels_all, dtype=bool)
        metrics["diversity.oscillatory_fraction"] = (
            float(oscillatory[solved].mean()) if solved.any() else None
        )
        for init in INITS:
            metrics[f"init.epochs_to_criterion.{init}"] = _mean(epochs[init])

        fractions = np.array(config.pruning_fractions)
        arrays["pruning.fractions"] = fractions
        metrics["pruning.tolerated_fraction"] = None
        metrics["pruning.break_fraction"] = None
        if and_models is not None:
            weights = and_models.recurrent_weights
            for sign in ("both", "positive", "negative"):
                distances, accuracies = [], []
                for p in fractions:
                    pruned = jax.vmap(lambda w, p=p, sign=sign: prune_weakest(w, p, sign=sign))(
                        weights
                    )
                    scores = evaluate_members(
                        _with_recurrent(and_models, pruned),
                        and_task,
                        key=and_eval_key,
                        num_trials=config.eval_trials,
                    )
                    distances.append(float(scores["distance"].mean()))
                    accuracies.append(float(scores["accuracy"].mean()))
                distances = np.array(distances)
                arrays[f"pruning.{sign}.distance"] = distances
                arrays[f"pruning.{sign}.accuracy"] = np.array(accuracies)
                for p, d in zip(fractions, distances, strict=True):
                    metrics[f"pruning.{sign}.distance={float(p)!r}"] = float(d)
            both = arrays["pruning.both.distance"]
            accurate = np.nonzero(arrays["pruning.both.accuracy"] >= 0.9)[0]
            metrics["pruning.tolerated_fraction"] = (
                float(fractions[accurate[-1]]) if accurate.size else None
            )
            far = np.nonzero(both >= 1.0)[0]
            metrics["pruning.break_fraction"] = float(fractions[far[0]]) if far.size else None
            # The spec's shape criteria, relative to the undamaged distance.
            broken = np.nonzero(both > 3 * both[0])[0]
            stop = broken[0] if broken.size else len(fractions)
            within = np.nonzero(both[:stop] <= 2 * both[0])[0]
            metrics["pruning.tolerated_fraction_relative"] = float(fractions[within[-1]])
            metrics["pruning.break_fraction_relative"] = (
                float(fractions[broken[0]]) if broken.size else None
            )
        advance(1)
    return Results(metrics=metrics, arrays=arrays)


def figures(results: Results, config: TemporalTasksConfig, folder: Path) -> list[Path]:
    """Eigenvalues before/after training per task; AND distance against pruned fraction."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    a = results.arrays
    paths = []

    def save(fig, name):
        path = Path(folder) / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    theta = np.linspace(0, 2 * np.pi, 400)
    for name in config.tasks:
        if f"{name}.eigenvalues_after" not in a:
            continue
        fig, ax = plt.subplots(figsize=(4.4, 4.4))
        before, after = a[f"{name}.eigenvalues_before"], a[f"{name}.eigenvalues_after"]
        ax.plot(before.real.ravel(), before.imag.ravel(), ".", ms=2, label="initial")
        ax.plot(after.real.ravel(), after.imag.ravel(), ".", ms=2, label="trained")
        ax.plot(np.cos(theta), np.sin(theta), "k-", lw=0.8)
        ax.set_aspect("equal")
        ax.set(xlabel="Re", ylabel="Im", title=f"{name}: eigenvalues of W")
        ax.legend(loc="upper right", fontsize=7)
        save(fig, f"spectrum_{name}")
    if "pruning.both.distance" in a:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        for sign in ("both", "positive", "negative"):
            ax.plot(100 * a["pruning.fractions"], a[f"pruning.{sign}.distance"], "o-", label=sign)
        for level in (1.0, 1.5):
            ax.axhline(level, ls="--", c="gray", lw=0.8)
        ax.set(xlabel="weakest weights removed (%)", ylabel="mean distance", title="AND pruning")
        ax.legend(fontsize=7)
        save(fig, "pruning_and")
    return paths


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
)
