r"""Backpropagation through time with optax, for many networks at once.

The loss of one network on a batch of trials is the masked mean squared error

$$L = \frac{\sum_{b,t,k} m_{btk} (z_{btk} - y_{btk})^2}{\sum_{b,t,k} m_{btk}},$$

minimised with Adam (optax) and, optionally, Keras' legacy learning-rate decay
$\eta_k = \eta / (1 + \delta k)$ ($k$ = updates so far) and clipping by global norm.

Members (seeds, initialisations) are stacked along a leading axis
(:func:`rnnlab.models.stack_models`) and trained by one ``vmap``-ed, jit-compiled scan
over the updates of an epoch. Every member sees the same trials (drawn once from the data
key) in its own order (reshuffled every epoch). A member stops when its mean training loss
over an epoch falls below ``loss_threshold`` (status ``converged``), or when that loss is
or its parameters after it are not finite (status ``diverged``; its parameters are those
before the failing epoch).
Stopped members are frozen by a mask, so shapes stay static; once at most half of the
members still run, an epoch computes only a stack of the running ones (padded to one of
about log2(members) widths), so early stopping also saves time.

After every epoch the whole training state is written with
:func:`equinox.tree_serialise_leaves` to a temporary file and renamed over the checkpoint
(atomic). A run restarted with the same arguments resumes from it and ends with exactly
the parameters of an uninterrupted run (same keys, same compiled computation).

References: Werbos, Proc. IEEE 78, 1550 (1990); Kingma & Ba, arXiv:1412.6980;
Jarne & Laje, arXiv:1906.01094 (training protocol).
"""

import dataclasses
import functools
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

from .._errors import DivergenceError, InvalidInputError
from .._types import Key
from ..tasks._base import AbstractTask, Trial, sample_batch, trial_distance

STATUSES = ("running", "converged", "max_epochs_reached", "diverged")
"""Per-member status codes, in the order of :attr:`TrainingResult.status_codes`."""

CHECKPOINT_NAME = "bptt_checkpoint.eqx"

LOG = logging.getLogger(__name__)
"""One INFO line per epoch (``rnnlab reproduce --verbose`` shows them)."""


@dataclass(frozen=True)
class BPTTOptions:
    """Options of :func:`train_bptt`.

    ``learning_rate`` $\\eta$ and ``learning_rate_decay`` $\\delta$ (Keras legacy decay
    per update; the paper: 1e-4 and 1e-4); Adam's ``b1``, ``b2``, ``eps``;
    ``batch_size``; ``num_trials`` drawn once from the data key (the last partial batch is
    dropped, so an epoch has ``num_trials // batch_size`` updates); ``max_epochs``;
    ``loss_threshold`` for early stopping (``None``: never); ``clip_norm`` for clipping
    by global norm (``None``: no clipping); ``restore_best``: each member ends with its
    parameters after the epoch of its lowest mean training loss rather than after its last
    epoch (Keras' ``EarlyStopping(restore_best_weights=True)`` on the training loss), so a
    network whose loss jumps up late in training (e.g. to a flat output) is not kept there.
    """

    learning_rate: float = 1e-3
    learning_rate_decay: float = 0.0
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    batch_size: int = 64
    num_trials: int = 2048
    max_epochs: int = 20
    loss_threshold: float | None = 1e-3
    clip_norm: float | None = None
    restore_best: bool = False

    def __post_init__(self):
        if not (np.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise InvalidInputError(
                f"learning_rate={self.learning_rate!r} must be finite and > 0; e.g. 1e-3"
            )
        if self.learning_rate_decay < 0:
            raise InvalidInputError(f"learning_rate_decay={self.learning_rate_decay!r} < 0")
        if self.batch_size <= 0 or self.num_trials < self.batch_size:
            raise InvalidInputError(
                f"batch_size={self.batch_size!r} must be > 0 and <= num_trials={self.num_trials!r}"
            )
        if self.max_epochs <= 0:
            raise InvalidInputError(f"max_epochs={self.max_epochs!r} must be > 0")
        if self.loss_threshold is not None and not self.loss_threshold > 0:
            raise InvalidInputError(f"loss_threshold={self.loss_threshold!r} must be > 0 or None")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise InvalidInputError(f"clip_norm={self.clip_norm!r} must be > 0 or None")

    @property
    def updates_per_epoch(self) -> int:
        """Updates in one epoch."""
        return self.num_trials // self.batch_size


def make_optimiser(options: BPTTOptions) -> optax.GradientTransformation:
    """Adam with the legacy decay schedule, after optional clipping by global norm."""
    eta, decay = options.learning_rate, options.learning_rate_decay

    def schedule(count):
        return eta / (1.0 + decay * count)

    adam = optax.adam(schedule if decay else eta, b1=options.b1, b2=options.b2, eps=options.eps)
    if options.clip_norm is None:
        return adam
    return optax.chain(optax.clip_by_global_norm(options.clip_norm), adam)


def batch_outputs(model, inputs: jax.Array) -> jax.Array:
    """Outputs of ``model`` for a batch of input sequences (batch, time, input): its
    ``batch_outputs`` where it has one (the fast paths of the Elman and Euler-stepped rate
    networks, reverse-mode differentiable only), else ``jax.vmap(model)``."""
    if hasattr(model, "batch_outputs"):
        return model.batch_outputs(inputs)
    return jax.vmap(model)(inputs)


def masked_mse(model, trials: Trial) -> jax.Array:
    """Masked mean squared error of ``model`` (with ``run``) on a batch of trials."""
    outputs = batch_outputs(model, trials.inputs)
    targets = trials.targets.astype(outputs.dtype)
    mask = trials.mask.astype(outputs.dtype)
    return jnp.sum(mask * (outputs - targets) ** 2) / jnp.sum(mask)


class TrainingState(NamedTuple):
    """Everything a checkpoint holds (leading axis = member where it applies)."""

    epoch: jax.Array
    params: eqx.Module
    opt_state: optax.OptState
    status: jax.Array
    epochs_trained: jax.Array
    losses: jax.Array
    fingerprint: jax.Array
    best_params: eqx.Module | None = None  # with restore_best: each member's best epoch's


class TrainingResult(NamedTuple):
    """Result of :func:`train_bptt`.

    ``models`` stacked trained members; ``status`` one of :data:`STATUSES` per member
    (never ``running``); ``losses`` (epochs run, members) mean training loss per epoch
    (NaN after a member stopped, and in the epoch it diverged); ``epochs_trained`` per
    member; ``resumed_from`` the epoch a checkpoint was loaded at (0 for a fresh run);
    ``kept_epochs`` per member, the epoch (from 1) whose parameters ``models`` holds (its
    best with ``BPTTOptions.restore_best``, else its last; 0: the initial ones).
    """

    models: eqx.Module
    status: list[str]
    losses: np.ndarray
    epochs_trained: np.ndarray
    resumed_from: int
    kept_epochs: np.ndarray | None = None

    @property
    def converged(self) -> np.ndarray:
        """Which members reached the loss threshold."""
        return np.array([s == "converged" for s in self.status])


FINGERPRINT_VERSION = 4
"""Bumped when the same (models, task, options, key) would train differently (2: stacks
under :data:`MIN_COMPACTED_STACK` are not compacted; 3: Elman networks train through
:func:`rnnlab.models.elman_outputs`, equal to rounding; 4: Euler-stepped rate networks
through :func:`rnnlab.models.euler_rate_outputs`, likewise), so an older checkpoint is refused
instead of resumed into a run that matches neither version."""


def _fingerprint(
    models, task, options, key, trials: Trial, shuffle_ids=None, rate_scales=None
) -> np.ndarray:
    """SHA-256 of everything that determines the run: the code version, ``options``,
    ``task``, ``key``, the initial weights, the members' batch-order ids and learning-rate
    scales where given and the training ``trials`` themselves (so a change in how trials
    are drawn also refuses an older checkpoint)."""
    digest = hashlib.sha256()
    digest.update(f"rnnlab-bptt-{FINGERPRINT_VERSION}".encode())
    if shuffle_ids is not None:
        digest.update(np.asarray(shuffle_ids, np.int64).tobytes())
    if rate_scales is not None:
        digest.update(b"rate_scales" + np.asarray(rate_scales, np.float64).tobytes())
    digest.update(repr(options).encode())
    digest.update(repr(task).encode())
    digest.update(np.asarray(jr.key_data(key)).tobytes())
    for leaf in jax.tree.leaves(eqx.filter(models, eqx.is_array)):
        digest.update(np.asarray(leaf).tobytes())
    for leaf in jax.tree.leaves(trials):
        digest.update(np.ascontiguousarray(np.asarray(leaf)).tobytes())
    return np.frombuffer(digest.digest(), dtype=np.uint8).copy()


def _save(path: Path, state: TrainingState) -> None:
    temporary = path.with_name(path.name + ".tmp")
    eqx.tree_serialise_leaves(temporary, state)
    os.replace(temporary, path)


@functools.lru_cache(maxsize=64)
def _epoch_program(static, options: BPTTOptions, scaled: bool = False):
    """The compiled epoch of a stack of members of structure ``static`` under ``options``;
    ``scaled``: each member's update is multiplied by its rate scale (else the scale is
    not read, so an unscaled run compiles exactly as it did before rate scales existed: a
    multiplication by 1 can change XLA's fusion and hence the rounding).

    Cached on (``static``, ``options``, ``scaled``), all hashable, so cells of a sweep with
    the same network and trial shapes share one compilation (about 2 s each on a CPU)."""
    optimiser = make_optimiser(options)
    updates, batch_size = options.updates_per_epoch, options.batch_size

    def member_epoch(params, opt_state, running, member, rate_scale, trials, epoch_key):
        order = jr.permutation(jr.fold_in(epoch_key, member), options.num_trials)
        batches = order[: updates * batch_size].reshape(updates, batch_size)

        def loss_fn(p, batch):
            return masked_mse(eqx.combine(p, static), batch)

        def body(carry, indices):
            params, opt_state, total = carry
            batch = jax.tree.map(lambda x: x[indices], trials)
            loss, grads = jax.value_and_grad(loss_fn)(params, batch)
            # optax's bias correction uses an int32 count, which strict promotion rejects.
            with jax.numpy_dtype_promotion("standard"):
                step, new_opt_state = optimiser.update(grads, opt_state, params)
                if scaled:  # Adam's update is proportional to the rate: Adam at rate x s
                    step = jax.tree.map(lambda u: u * rate_scale.astype(u.dtype), step)
                new_params = optax.apply_updates(params, step)
            keep = lambda new, old: jnp.where(running, new, old)  # noqa: E731
            params = jax.tree.map(keep, new_params, params)
            opt_state = jax.tree.map(keep, new_opt_state, opt_state)
            return (params, opt_state, total + loss), None

        zero = jnp.zeros((), jax.tree.leaves(params)[0].dtype)
        (params, opt_state, total), _ = jax.lax.scan(body, (params, opt_state, zero), batches)
        return params, opt_state, total / updates

    return eqx.filter_jit(jax.vmap(member_epoch, in_axes=(0, 0, 0, 0, 0, None, None)))


def _make_epoch(
    static, options: BPTTOptions, num_members: int, shuffle_ids=None, rate_scales=None
):
    # the epoch never reads the stopping rule: cells differing only there share a program
    options = dataclasses.replace(options, loss_threshold=None, max_epochs=1)
    try:
        vmapped = _epoch_program(static, options, rate_scales is not None)
    except TypeError:  # a model with an unhashable static field: compile for this call
        vmapped = _epoch_program.__wrapped__(static, options, rate_scales is not None)

    ids = np.arange(num_members) if shuffle_ids is None else shuffle_ids
    ids = np.asarray(ids, np.int32)  # jr.fold_in takes 32 bits
    scales = np.ones(num_members) if rate_scales is None else np.asarray(rate_scales, float)

    def epoch(params, opt_state, running, active, trials, epoch_key):
        """One epoch of the ``active`` members (indices into the stack, see
        :func:`_active_members`); the others are left as they are. Stopped members among
        the active ones are computed but masked, so early stopping saves time."""
        if active.size == num_members:
            return vmapped(
                params,
                opt_state,
                running,
                jnp.asarray(ids),
                jnp.asarray(scales),
                trials,
                epoch_key,
            )
        take = lambda leaf: leaf[active]  # noqa: E731
        new_params, new_opt_state, loss = vmapped(
            jax.tree.map(take, params),
            jax.tree.map(take, opt_state),
            running[active],
            jnp.asarray(ids[active]),
            jnp.asarray(scales[active]),
            trials,
            epoch_key,
        )
        put = lambda leaf, new: leaf.at[active].set(new)  # noqa: E731
        full_loss = jnp.full((num_members,), jnp.nan, loss.dtype).at[active].set(loss)
        return (
            jax.tree.map(put, params, new_params),
            jax.tree.map(put, opt_state, new_opt_state),
            full_loss,
        )

    return epoch


MIN_COMPACTED_STACK = 4
"""Stacks smaller than this are never compacted: each new width costs a compile (about
2 s on a CPU), which halving a stack of 2 or 3 small networks rarely wins back."""


def _active_members(running: np.ndarray) -> np.ndarray:
    """Members an epoch computes: the running ones, padded with stopped ones (lowest
    indices first) to the smallest of M, ceil(M/2), ceil(M/4), ... that holds them.

    A function of the statuses alone (so a resumed run computes what an uninterrupted one
    does), with at most ~log2(M) distinct widths to compile."""
    if running.size < MIN_COMPACTED_STACK:
        return np.arange(running.size)
    count, width = int(running.sum()), running.size
    while width > 1 and -(-width // 2) >= count:
        width = -(-width // 2)
    stopped = np.nonzero(~running)[0][: width - count]
    return np.sort(np.concatenate([np.nonzero(running)[0], stopped]))


def _log_epoch(path: Path | None, state: TrainingState, options: BPTTOptions) -> None:
    """``<cell>: epoch e/E, loss min/median/max over the members that ran, k running``."""
    epoch = int(state.epoch)
    losses = np.asarray(state.losses[epoch - 1])
    ran = losses[np.isfinite(losses)]
    status = np.asarray(state.status)
    LOG.info(
        "%s: epoch %d/%d, loss %s, %d running, %d converged, %d diverged",
        "train_bptt" if path is None else path.parent.name,
        epoch,
        options.max_epochs,
        (
            f"min {ran.min():.3g} median {np.median(ran):.3g} max {ran.max():.3g}"
            if ran.size
            else "not finite"
        ),
        int((status == 0).sum()),
        int((status == 1).sum()),
        int((status == 3).sum()),
    )


def _keep_old(diverged, new, old):
    """Per member: the old leaf where the member diverged, else the new one."""
    return jnp.where(diverged.reshape((-1,) + (1,) * (new.ndim - 1)), old, new)


def _finite_members(params) -> np.ndarray:
    """Per member: whether every parameter is finite (the epoch's mean loss, computed
    before each update, misses a last update that overflows). On the host, in NumPy: no
    program to compile."""
    leaves = [np.asarray(leaf) for leaf in jax.tree.leaves(params) if eqx.is_inexact_array(leaf)]
    finite = [np.isfinite(leaf.reshape(leaf.shape[0], -1)).all(axis=1) for leaf in leaves]
    return functools.reduce(np.logical_and, finite)


def _lowest(losses: jax.Array) -> jax.Array:
    """Each member's lowest epoch loss so far (inf before its first finite one)."""
    return jnp.min(jnp.where(jnp.isnan(losses), jnp.inf, losses), axis=0)


def train_bptt(
    models: eqx.Module,
    task: AbstractTask,
    *,
    key: Key,
    options: BPTTOptions = BPTTOptions(),
    checkpoint_dir: str | os.PathLike | None = None,
    throw: bool = False,
    on_epoch_end: Callable[[int, np.ndarray], None] | None = None,
    shuffle_ids: Sequence[int] | None = None,
    rate_scales: Sequence[float] | None = None,
) -> TrainingResult:
    """Train stacked ``models`` on ``task`` by BPTT; see the module docstring.

    ``models``: a stack of members (:func:`rnnlab.models.stack_models`), each callable on
    an input sequence (time, input) -> (time, output), e.g. :class:`ElmanRNN`. ``key``:
    the data key (trials and batch orders); members differ by their initial weights.
    ``checkpoint_dir``: where to write and resume ``bptt_checkpoint.eqx`` (``None``: no
    checkpoints). ``throw``: raise :class:`rnnlab.DivergenceError` if a member diverged
    (otherwise its status says so). ``on_epoch_end(epoch, losses)`` is called after each
    epoch's checkpoint is written (``epoch`` counts from 1). ``shuffle_ids``: each member's
    batch-order id (default: its index in the stack); members with equal ids see the same
    batches in the same order, so stacks trained side by side (e.g. the cells of a size
    sweep, padded to one size) can reproduce their separate runs. ``rate_scales``: each
    member's factor on the learning rate (default: 1), so members of one stack can train at
    different rates (e.g. a rate that shrinks with network size); Adam's update is
    proportional to the rate, so member i trains as it would at
    ``options.learning_rate * rate_scales[i]`` alone.

    Example:
        >>> from rnnlab.models import ElmanRNN, stack_models
        >>> from rnnlab.tasks import AndTask
        >>> task = AndTask(tail=30)
        >>> nets = stack_models([ElmanRNN(2, 32, 1, key=jr.key(i)) for i in range(4)])
        >>> options = BPTTOptions(learning_rate=3e-3, num_trials=1024, max_epochs=40,
        ...                       loss_threshold=2e-3, clip_norm=1.0)
        >>> result = train_bptt(nets, task, key=jr.key(0), options=options)
        >>> result.status  # one entry per member: converged / max_epochs_reached / diverged
    """
    params, static = eqx.partition(models, eqx.is_array)
    leaves = jax.tree.leaves(params)
    if not leaves or leaves[0].ndim < 1:
        raise InvalidInputError("models must be stacked along a leading member axis")
    num_members = leaves[0].shape[0]
    if any(leaf.shape[0] != num_members for leaf in leaves):
        raise InvalidInputError(
            "every array of models needs the same leading member axis; use stack_models"
        )
    if shuffle_ids is not None:
        shuffle_ids = np.asarray(shuffle_ids)
        if (
            shuffle_ids.shape != (num_members,)
            or not np.issubdtype(shuffle_ids.dtype, np.integer)
            or np.any(shuffle_ids < 0)
            or np.any(shuffle_ids >= 2**31)
        ):
            raise InvalidInputError(
                f"shuffle_ids must hold one integer in [0, 2**31) per member ({num_members}), "
                f"got shape {shuffle_ids.shape} of {shuffle_ids.dtype}"
            )
    if rate_scales is not None:
        rate_scales = np.asarray(rate_scales, dtype=float)
        if rate_scales.shape != (num_members,) or not np.all(
            np.isfinite(rate_scales) & (rate_scales > 0)
        ):
            raise InvalidInputError(
                f"rate_scales must hold one finite factor > 0 per member ({num_members}), "
                f"got {rate_scales.tolist() if rate_scales.size < 9 else rate_scales.shape}"
            )
        if np.all(rate_scales == 1.0):
            rate_scales = None  # the same run as without scales
    data_key, shuffle_key = jr.split(key)
    trials = sample_batch(data_key, task, options.num_trials)
    optimiser = make_optimiser(options)
    with jax.numpy_dtype_promotion("standard"):
        opt_state = jax.vmap(optimiser.init)(params)
    state = TrainingState(
        epoch=jnp.zeros((), jnp.int32),
        params=params,
        opt_state=opt_state,
        status=jnp.zeros((num_members,), jnp.int32),
        epochs_trained=jnp.zeros((num_members,), jnp.int32),
        losses=jnp.full((options.max_epochs, num_members), jnp.nan, leaves[0].dtype),
        fingerprint=jnp.asarray(
            _fingerprint(models, task, options, key, trials, shuffle_ids, rate_scales)
        ),
        best_params=params if options.restore_best else None,
    )
    path = None
    resumed_from = 0
    if checkpoint_dir is not None:
        path = Path(checkpoint_dir) / CHECKPOINT_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            try:
                loaded = eqx.tree_deserialise_leaves(path, state)
                ours = np.array_equal(
                    np.asarray(loaded.fingerprint), np.asarray(state.fingerprint)
                )
            except (RuntimeError, ValueError, OSError):  # other shapes or dtypes: not ours
                ours = False
            if not ours:
                raise InvalidInputError(
                    f"checkpoint {path} belongs to a different run (models, task, options or "
                    "key differ); delete it or use another checkpoint_dir"
                )
            state = loaded
            resumed_from = int(state.epoch)

    epoch_fn = _make_epoch(static, options, num_members, shuffle_ids, rate_scales)
    converged_code, max_code, diverged_code = 1, 2, 3
    while int(state.epoch) < options.max_epochs and np.any(np.asarray(state.status) == 0):
        epoch = int(state.epoch)
        running = state.status == 0
        active = _active_members(np.asarray(running))
        params, opt_state, loss = epoch_fn(
            state.params, state.opt_state, running, active, trials, jr.fold_in(shuffle_key, epoch)
        )
        finite = jnp.asarray(np.isfinite(np.asarray(loss)) & _finite_members(params))
        diverged = running & ~finite
        params = jax.tree.map(partial(_keep_old, diverged), params, state.params)
        opt_state = jax.tree.map(partial(_keep_old, diverged), opt_state, state.opt_state)
        status = jnp.where(diverged, diverged_code, state.status)
        if options.loss_threshold is not None:
            done = running & finite & (loss < options.loss_threshold)
            status = jnp.where(done, converged_code, status)
        if epoch + 1 == options.max_epochs:
            status = jnp.where(status == 0, max_code, status)
        best_params = None
        if options.restore_best:
            improved = running & finite & (loss < _lowest(state.losses))
            best_params = jax.tree.map(partial(_keep_old, ~improved), params, state.best_params)
        state = TrainingState(
            epoch=jnp.asarray(epoch + 1, jnp.int32),
            params=params,
            opt_state=opt_state,
            status=status.astype(jnp.int32),
            epochs_trained=jnp.where(running & finite, epoch + 1, state.epochs_trained).astype(
                jnp.int32
            ),
            # a diverged epoch's loss is NaN: restore_best must not pick its (lost) weights
            losses=state.losses.at[epoch].set(jnp.where(running & finite, loss, jnp.nan)),
            fingerprint=state.fingerprint,
            best_params=best_params,
        )
        if path is not None:
            _save(path, state)
        if LOG.isEnabledFor(logging.INFO):
            _log_epoch(path, state, options)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, np.asarray(loss))

    status_names = [STATUSES[int(code)] for code in np.asarray(state.status)]
    if throw and "diverged" in status_names:
        bad = [i for i, s in enumerate(status_names) if s == "diverged"]
        raise DivergenceError(
            f"BPTT diverged (non-finite loss) for members {bad}; lower learning_rate="
            f"{options.learning_rate!r} or set clip_norm"
        )
    losses = np.asarray(state.losses)[: int(state.epoch)]
    if options.restore_best:
        finite = np.where(np.isfinite(losses), losses, np.inf)
        kept = np.where(np.isfinite(finite).any(0), finite.argmin(0) + 1, 0) if losses.size else 0
        kept_params = state.best_params
    else:
        kept, kept_params = np.asarray(state.epochs_trained), state.params
    return TrainingResult(
        models=eqx.combine(kept_params, static),
        status=status_names,
        losses=losses,
        epochs_trained=np.asarray(state.epochs_trained),
        resumed_from=resumed_from,
        kept_epochs=np.broadcast_to(np.asarray(kept), (num_members,)).copy(),
    )


@eqx.filter_jit
def _evaluate(models, task, trials):
    params, static = eqx.partition(models, eqx.is_array)

    clean = jax.vmap(lambda c, j: task.clean_trial(c, j).targets)(
        trials.condition, trials.response_shift
    )

    def one(p):
        model = eqx.combine(p, static)
        outputs = batch_outputs(model, trials.inputs)
        distance = jax.vmap(trial_distance)(outputs, trials.targets.astype(outputs.dtype))
        distance_clean = jax.vmap(trial_distance)(outputs, clean.astype(outputs.dtype))
        accuracy = jax.vmap(task.score)(outputs, trials)
        return jnp.mean(distance), jnp.mean(distance_clean), jnp.mean(accuracy)

    return jax.vmap(one)(params)


def evaluate_members(
    models: eqx.Module, task: AbstractTask, *, key: Key, num_trials: int = 200
) -> dict[str, np.ndarray]:
    r"""Mean ``distance`` and ``accuracy`` of every stacked member on fresh trials.

    ``distance`` is against the training target (noise included, the paper's measure),
    ``distance_clean`` against the noise-free one (a noisy target adds a floor of about
    $\sigma\sqrt{T}$). Also ``solved``: accuracy >= 0.95 (the spec's criterion). Each
    member sees the same ``num_trials`` trials drawn from ``key``.
    """
    trials = sample_batch(key, task, num_trials)
    distance, distance_clean, accuracy = _evaluate(models, task, trials)
    accuracy = np.asarray(accuracy)
    return {
        "distance": np.asarray(distance),
        "distance_clean": np.asarray(distance_clean),
        "accuracy": accuracy,
        "solved": accuracy >= 0.95,
    }
