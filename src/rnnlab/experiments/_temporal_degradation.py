r"""Degradation curves of ``temporal-tasks`` and the authors' published curves beside them.

Jarne & Laje (arXiv:1906.01094) report three graceful degradations (spec §5.4):

* **pruning** the weakest recurrent weights of trained AND networks: tolerated up to
  about 10 %, breaking at 12-14 %;
* a **delay sweep** of the delayed-pulse task at N = 50: the distance rises from about
  1.0 at 25 ms to a plateau of about 1.8 from 95 ms on;
* a **size sweep** at a 150 ms delay: the distance falls with N, to about 0.62 of the
  N = 50 value over 250 <= N <= 450.

The authors' numbers (``PAPER_*``, read from their data files ``files_damage`` and
``files_scale``, katejarne/RNN_study_with_keras) go through the same summary functions as
ours, so "ours beside theirs" compares like with like. Absolute distances differ (the
spec's §7: their undamaged distances could not be reproduced even from their stored
networks); compare the shapes, i.e. the ratios.
"""

import dataclasses

import jax
import jax.random as jr
import numpy as np
import scipy.stats

from ..analysis import prune_random, prune_weakest
from ..learning import evaluate_members

#: Pruned fractions of the authors' damage table and its mean distance over the four AND
#: conditions (00, 11, 10, 01 of ``files_damage/01_pos_y_neg/aug_20_.txt``).
PAPER_PRUNING_FRACTIONS = np.array([0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.2, 0.28, 0.36])
PAPER_PRUNING_DISTANCE = np.mean(
    [
        [0.22, 0.22, 0.24, 0.27, 0.38, 0.42, 0.37, 1.40, 1.62, 2.56, 4.38],
        [0.26, 0.26, 0.24, 0.28, 0.38, 0.39, 1.29, 1.44, 2.30, 3.95, 6.90],
        [0.22, 0.21, 0.22, 0.25, 0.36, 0.40, 0.36, 1.00, 2.46, 3.34, 4.34],
        [0.23, 0.22, 0.25, 0.28, 0.38, 0.42, 0.42, 1.38, 3.36, 3.54, 4.32],
    ],
    axis=0,
)
#: Delay sweep (``files_scale/time_delay.txt``): delay in ms and mean distance.
PAPER_DELAYS = np.array(
    [25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100, 105, 110, 120, 130, 140]
    + [150, 160, 170],
    dtype=float,
)
PAPER_DELAY_DISTANCE = np.array(
    [0.99, 1.06, 1.07, 1.09, 1.25, 1.27, 1.41, 1.40, 1.56, 1.45, 1.54, 1.55, 1.55, 1.67]
    + [1.76, 1.74, 1.75, 1.82, 1.83, 1.78, 1.75, 1.71, 1.82, 1.86]
)
#: Size sweep at a 150 ms delay (``files_scale/size_at_150_ms.txt``).
PAPER_SIZES = np.array(
    [50, 55, 60, 65, 70, 75, 80, 90, 100, 125, 130, 150, 160, 170, 180, 200, 250, 300, 350]
    + [400, 450, 500]
)
PAPER_SIZE_DISTANCE = np.array(
    [1.71, 1.81, 1.58, 1.72, 1.49, 1.43, 1.42, 1.31, 1.23, 1.26, 1.25, 1.33, 1.31, 1.18]
    + [1.10, 1.10, 1.05, 1.08, 1.05, 1.08, 1.04, 1.20]
)

DELAY_PLATEAU_FROM = 95.0  # ms: the authors' curve is flat from here on
SIZE_PLATEAU = (250, 450)  # units: "no clear gain beyond N ~ 250"
SIZE_GAIN_SPLIT = 350  # units: gain_beyond_250 compares 250-350 with the larger sizes


def pruning_shape(fractions, distances) -> dict[str, float | None]:
    """Shape of a pruning curve (spec §5.4 acceptance), relative to the undamaged distance.

    ``knee_fraction``: the first pruned fraction whose distance exceeds 3x the undamaged
    one (None if none); ``tolerated_fraction``: the largest fraction up to which (at it
    and every smaller fraction) the distance stays within 2x; ``ratio_at_20``: distance
    at the fraction nearest 20 % over the undamaged one. ``fractions`` must start at 0.
    """
    fractions, distances = np.asarray(fractions, float), np.asarray(distances, float)
    if fractions[0] != 0.0:
        raise ValueError(f"pruning fractions must start at 0, got {fractions[0]}")
    undamaged = distances[0]
    broken = np.nonzero(distances > 3 * undamaged)[0]
    beyond = np.nonzero(~(distances <= 2 * undamaged))[0]  # NaN counts as beyond
    stop = beyond[0] if beyond.size else len(fractions)
    near_20 = int(np.argmin(np.abs(fractions - 0.2)))
    return {
        "knee_fraction": float(fractions[broken[0]]) if broken.size else None,
        "tolerated_fraction": float(fractions[stop - 1]) if stop else None,
        "ratio_at_20": float(distances[near_20] / undamaged),
    }


def delay_shape(delays, distances) -> dict[str, float | None]:
    """``ratio_plateau_to_25``: mean distance over delays >= 95 ms divided by the distance
    at the shortest delay (None without such delays); ``spearman``: rank correlation of
    distance with delay over every delay given, ``spearman_25_110`` over 25-110 ms (the
    spec's acceptance range); None with fewer than 3 delays."""
    delays, distances = np.asarray(delays, float), np.asarray(distances, float)
    order = np.argsort(delays)
    delays, distances = delays[order], distances[order]
    plateau = distances[delays >= DELAY_PLATEAU_FROM]
    early = plateau.size and delays[0] < DELAY_PLATEAU_FROM
    ratio = float(plateau.mean() / distances[0]) if early else None
    inside = (delays >= 25) & (delays <= 110)
    return {
        "ratio_plateau_to_25": ratio,
        "spearman": _spearman(delays, distances),
        "spearman_25_110": _spearman(delays[inside], distances[inside]),
    }


def size_shape(sizes, distances) -> dict[str, float | None]:
    """``ratio_plateau_to_50``: mean distance over 250 <= N <= 450 divided by the distance
    at the smallest N (None without such sizes); ``ratio_largest_to_smallest``;
    ``spearman`` of distance with N (negative when larger networks do better);
    ``gain_beyond_250``: 1 - (mean distance over N > 350) / (mean over 250 <= N <= 350),
    the relative fall of the distance past the plateau's start (the spec's "no clear gain
    beyond N ~ 250"; the authors' curve gives -0.04; None without sizes on both sides)."""
    sizes, distances = np.asarray(sizes, float), np.asarray(distances, float)
    order = np.argsort(sizes)
    sizes, distances = sizes[order], distances[order]
    inside = (sizes >= SIZE_PLATEAU[0]) & (sizes <= SIZE_PLATEAU[1])
    plateau = distances[inside]
    start = distances[(sizes >= SIZE_PLATEAU[0]) & (sizes <= SIZE_GAIN_SPLIT)]
    beyond = distances[sizes > SIZE_GAIN_SPLIT]
    return {
        "ratio_plateau_to_50": float(plateau.mean() / distances[0]) if plateau.size else None,
        "ratio_largest_to_smallest": float(distances[-1] / distances[0]),
        "spearman": _spearman(sizes, distances),
        "gain_beyond_250": (
            float(1.0 - beyond.mean() / start.mean()) if start.size and beyond.size else None
        ),
    }


def _spearman(x, y) -> float | None:
    if len(x) < 3:
        return None
    return float(scipy.stats.spearmanr(x, y).statistic)


def pruning_curves(models, task, *, fractions, key, eval_key, num_trials: int) -> dict:
    """Mean distance and accuracy of stacked ``models`` on ``task`` with the weakest
    fraction of recurrent weights removed (both signs, positive only, negative only) and,
    as the control, a random fraction. Returns ``{sign: (distances, accuracies,
    strict_accuracies)}``, the last with ``strict_accuracy`` (every step of a window on
    the right side of the threshold, not just its mean)."""
    weights = models.recurrent_weights
    members = weights.shape[0]
    strict_task = dataclasses.replace(task, strict_accuracy=True)
    curves = {}
    for sign in ("both", "positive", "negative", "random"):
        distances, accuracies, strict = [], [], []
        for index, p in enumerate(fractions):
            if sign == "random":
                keys = jr.split(jr.fold_in(key, index), members)
                pruned = jax.vmap(lambda w, k, p=p: prune_random(w, p, key=k))(weights, keys)
            else:
                pruned = jax.vmap(lambda w, p=p, sign=sign: prune_weakest(w, p, sign=sign))(
                    weights
                )
            damaged = models.with_recurrent_weights(pruned)
            scores = evaluate_members(damaged, task, key=eval_key, num_trials=num_trials)
            distances.append(float(scores["distance"].mean()))
            accuracies.append(float(scores["accuracy"].mean()))
            strict_scores = evaluate_members(
                damaged, strict_task, key=eval_key, num_trials=num_trials
            )
            strict.append(float(strict_scores["accuracy"].mean()))
        curves[sign] = (np.array(distances), np.array(accuracies), np.array(strict))
    return curves
