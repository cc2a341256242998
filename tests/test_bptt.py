"""BPTT: masked MSE by hand; AND and flip-flop solved; exact resume; divergence status."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rnnlab
from rnnlab.learning import BPTTOptions, evaluate_members, masked_mse, train_bptt
from rnnlab.models import ElmanRNN, stack_models
from rnnlab.tasks import AndTask, FlipFlopTask, sample_batch


def test_masked_mse_by_hand(key):
    net = ElmanRNN(2, 5, 1, key=key, dtype=jnp.float64)
    trials = sample_batch(key, AndTask(tail=10, settling=0), 3)
    mask = np.ones((3, 80, 1))
    mask[:, :40] = 0.0
    trials = trials._replace(mask=jnp.asarray(mask, jnp.float32))
    outputs = np.array([np.asarray(net(x)) for x in trials.inputs])
    expected = np.sum(mask * (outputs - np.asarray(trials.targets)) ** 2) / mask.sum()
    assert float(masked_mse(net, trials)) == pytest.approx(expected, rel=1e-6)


def small_members(task, count, hidden=32, init="orthogonal"):
    return stack_models(
        [
            ElmanRNN(task.num_inputs, hidden, 1, key=jr.key(i), recurrent_init=init)
            for i in range(count)
        ]
    )


def test_trained_network_solves_and():
    task = AndTask(tail=30)  # T = 100
    options = BPTTOptions(
        learning_rate=3e-3,
        num_trials=1024,
        batch_size=64,
        max_epochs=40,
        loss_threshold=2e-3,
        clip_norm=1.0,
    )
    result = train_bptt(small_members(task, 1), task, key=jr.key(0), options=options)
    assert result.status == ["converged"]
    scores = evaluate_members(result.models, task, key=jr.key(1), num_trials=200)
    assert scores["solved"].all(), scores
    assert scores["distance"][0] < 1.0


def test_trained_network_solves_flipflop():
    task = FlipFlopTask(num_pulses=3, pulse_interval=60, stimulus_onset=20, tail=40)  # T = 220
    options = BPTTOptions(
        learning_rate=3e-3,
        num_trials=1024,
        batch_size=64,
        max_epochs=40,
        loss_threshold=0.03,
        clip_norm=1.0,
    )
    result = train_bptt(small_members(task, 1), task, key=jr.key(0), options=options)
    scores = evaluate_members(result.models, task, key=jr.key(1), num_trials=200)
    assert scores["solved"].all(), (result.status, result.losses[-1], scores)


class Killed(Exception):
    pass


def test_checkpoint_resume_is_exact(tmp_path):
    task = AndTask(tail=10, settling=0)
    members = small_members(task, 2, hidden=6, init="normal")
    options = BPTTOptions(num_trials=96, batch_size=32, max_epochs=4, loss_threshold=None)
    reference = train_bptt(members, task, key=jr.key(3), options=options)

    def kill_after_two(epoch, losses):
        if epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        train_bptt(
            members,
            task,
            key=jr.key(3),
            options=options,
            checkpoint_dir=tmp_path,
            on_epoch_end=kill_after_two,
        )
    assert not (tmp_path / "bptt_checkpoint.eqx.tmp").exists()
    resumed = train_bptt(members, task, key=jr.key(3), options=options, checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 2
    assert resumed.status == reference.status == ["max_epochs_reached"] * 2
    for a, b in zip(
        jax.tree.leaves(reference.models), jax.tree.leaves(resumed.models), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(resumed.losses, reference.losses)
    # the same directory with another key is refused, not silently resumed
    with pytest.raises(rnnlab.InvalidInputError, match="different run"):
        train_bptt(members, task, key=jr.key(4), options=options, checkpoint_dir=tmp_path)
    # ... and so are networks of another size, whose leaves do not even deserialise
    larger = small_members(task, 2, hidden=members.recurrent_weights.shape[-1] + 1)
    with pytest.raises(rnnlab.InvalidInputError, match="different run"):
        train_bptt(larger, task, key=jr.key(0), options=options, checkpoint_dir=tmp_path)


@pytest.mark.parametrize("shuffle_ids", [None, [5, 0, 5, 1, 0, 2]])
def test_stopped_members_leave_the_stack_without_changing_the_others(monkeypatch, shuffle_ids):
    """Once half the members have stopped, an epoch computes only the running ones; every
    member must end exactly where training with the whole (masked) stack leaves it (also
    with batch-order ids of its own, which the smaller stack must carry along)."""
    from rnnlab.learning import _bptt

    task = AndTask(tail=10, settling=0)
    members = stack_models([ElmanRNN(2, 6, 1, key=jr.key(i), dtype=jnp.float64) for i in range(6)])
    free = BPTTOptions(num_trials=96, batch_size=32, max_epochs=6, loss_threshold=None)
    losses = train_bptt(members, task, key=jr.key(3), options=free, shuffle_ids=shuffle_ids).losses
    # a threshold that stops members at different epochs (some never)
    threshold = float(np.quantile(losses[1:4], 0.5))
    options = BPTTOptions(num_trials=96, batch_size=32, max_epochs=6, loss_threshold=threshold)
    widths = []
    active = _bptt._active_members
    monkeypatch.setattr(
        _bptt,
        "_active_members",
        lambda running: widths.append(active(running).size) or active(running),
    )
    compacted = train_bptt(members, task, key=jr.key(3), options=options, shuffle_ids=shuffle_ids)
    monkeypatch.setattr(_bptt, "_active_members", lambda running: np.arange(running.size))
    masked = train_bptt(members, task, key=jr.key(3), options=options, shuffle_ids=shuffle_ids)
    assert min(widths) < 6, widths  # the stack did shrink
    assert compacted.status == masked.status
    assert "converged" in masked.status and "max_epochs_reached" in masked.status
    np.testing.assert_array_equal(compacted.epochs_trained, masked.epochs_trained)
    for a, b in zip(
        jax.tree.leaves(compacted.models), jax.tree.leaves(masked.models), strict=True
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(compacted.losses, masked.losses, rtol=1e-12)


def test_divergence_is_a_status_or_an_error():
    task = AndTask(tail=10, settling=0)
    members = small_members(task, 2, hidden=6)
    options = BPTTOptions(learning_rate=1e30, num_trials=64, batch_size=32, max_epochs=3)
    result = train_bptt(members, task, key=jr.key(0), options=options)
    assert result.status == ["diverged", "diverged"]
    assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(result.models))
    with pytest.raises(rnnlab.DivergenceError, match="lower learning_rate"):
        train_bptt(members, task, key=jr.key(0), options=options, throw=True)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("restore_best", [False, True])
def test_an_overflowing_last_update_is_divergence_not_a_result(restore_best):
    """One update per epoch: the epoch's loss is computed before the update and is finite,
    but a float32 learning rate of 1e39 (inf) makes the updated weights non-finite. The
    member is ``diverged`` and keeps its weights of before the epoch, exactly (epoch 0,
    also where ``restore_best`` picks the lowest recorded loss)."""
    task = AndTask(tail=10, settling=0)
    members = small_members(task, 2, hidden=6)
    options = BPTTOptions(
        learning_rate=1e39, num_trials=32, batch_size=32, max_epochs=1, restore_best=restore_best
    )
    seen = []
    result = train_bptt(
        members,
        task,
        key=jr.key(0),
        options=options,
        on_epoch_end=lambda e, loss: seen.append(loss),
    )
    assert np.all(np.isfinite(seen[0]))  # the loss alone would not have told
    assert result.status == ["diverged", "diverged"]
    assert np.all(np.isnan(result.losses)) and result.kept_epochs.tolist() == [0, 0]
    for trained, initial in zip(
        jax.tree.leaves(result.models), jax.tree.leaves(members), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(trained), np.asarray(initial))


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"learning_rate": -1.0}, "learning_rate=-1.0"),
        ({"learning_rate": float("inf")}, "learning_rate=inf"),
        ({"batch_size": 100, "num_trials": 10}, "batch_size=100"),
        ({"clip_norm": 0.0}, "clip_norm=0.0"),
    ],
)
def test_bad_options(fields, fragment):
    with pytest.raises(rnnlab.InvalidInputError, match=fragment):
        BPTTOptions(**fields)


def test_unstacked_models_are_refused(key):
    with pytest.raises(rnnlab.InvalidInputError, match="stack"):
        train_bptt(ElmanRNN(2, 4, 1, key=key), AndTask(), key=key)


def test_distances_against_noisy_and_clean_targets_by_hand(key):
    """A silent network (zero read-out) is at distance ||y|| from every target: the noisy
    training target for ``distance``, the noise-free one for ``distance_clean``."""
    import equinox as eqx

    from rnnlab.tasks import IntervalTask

    task = IntervalTask(response_delay=40, trial_length=160)  # noise 0.03 on the targets
    net = ElmanRNN(1, 4, 1, key=key, dtype=jnp.float64)
    net = eqx.tree_at(lambda m: m.readout_weights, net, jnp.zeros((1, 4), jnp.float64))
    scores = evaluate_members(stack_models([net]), task, key=key, num_trials=16)
    trials = sample_batch(key, task, 16)
    noisy = np.linalg.norm(np.asarray(trials.targets, np.float64)[..., 0], axis=1).mean()
    clean = np.mean(
        [
            np.linalg.norm(np.asarray(task.clean_trial(c, j).targets, np.float64))
            for c, j in zip(trials.condition, trials.response_shift, strict=True)
        ]
    )
    assert scores["distance"][0] == pytest.approx(noisy, rel=1e-5)
    assert scores["distance_clean"][0] == pytest.approx(clean, rel=1e-5)
    assert abs(noisy - clean) > 1e-3  # the noise moved it


def test_cells_of_one_shape_share_a_compiled_epoch():
    """Stacks of the same structure and options (other weights, other data, another
    stopping rule) reuse one compiled epoch; another learning rate builds its own. A stack
    with a recurrent bias has the same static part (its arrays are the parameters), so it
    shares the jitted wrapper, which traces a program for its own parameter tree. Each
    shared program trains exactly as a freshly compiled one."""
    from rnnlab.learning import _bptt

    task = AndTask(tail=10, settling=0)
    options = BPTTOptions(num_trials=64, batch_size=32, max_epochs=2, loss_threshold=None)
    first = small_members(task, 2, hidden=6)
    second = stack_models([ElmanRNN(2, 6, 1, key=jr.key(10 + i)) for i in range(2)])
    biased = stack_models([ElmanRNN(2, 6, 1, key=jr.key(i), use_bias=True) for i in range(2)])
    faster = BPTTOptions(
        learning_rate=2e-3, num_trials=64, batch_size=32, max_epochs=2, loss_threshold=None
    )
    stopping = BPTTOptions(num_trials=64, batch_size=32, max_epochs=3, loss_threshold=1e-9)
    _bptt._epoch_program.cache_clear()
    train_bptt(first, task, key=jr.key(0), options=stopping)
    shared = [
        train_bptt(second, task, key=jr.key(1), options=options),
        train_bptt(biased, task, key=jr.key(1), options=options),
    ]
    train_bptt(second, task, key=jr.key(1), options=faster)
    info = _bptt._epoch_program.cache_info()
    assert (info.misses, info.hits) == (2, 2)
    for models, result in zip((second, biased), shared, strict=True):
        _bptt._epoch_program.cache_clear()
        fresh = train_bptt(models, task, key=jr.key(1), options=options)
        leaves = zip(jax.tree.leaves(result.models), jax.tree.leaves(fresh.models), strict=True)
        for a, b in leaves:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        np.testing.assert_array_equal(result.losses, fresh.losses)


def test_padded_networks_of_several_sizes_train_as_their_separate_runs():
    """Networks of 5 and 8 units, padded with silent units to 9 and stacked with their
    batch-order ids (``shuffle_ids``), end where each one's own run ends: the silent units'
    gradients vanish exactly, so they stay silent; and a stack that lets the ids default
    (the member index) trains the second network on other batches."""
    from rnnlab.models import pad_units, trim_units, unstack_model

    task = AndTask(tail=10, settling=0)
    options = BPTTOptions(num_trials=96, batch_size=32, max_epochs=3, loss_threshold=None)
    small = ElmanRNN(2, 5, 1, key=jr.key(1), dtype=jnp.float64)
    large = ElmanRNN(2, 8, 1, key=jr.key(2), dtype=jnp.float64)
    alone = [
        unstack_model(
            train_bptt(stack_models([net]), task, key=jr.key(3), options=options).models, 0
        )
        for net in (small, large)
    ]
    padded_small, padded_large = pad_units(small, 9), pad_units(large, 9)
    stacked = train_bptt(
        stack_models([padded_small, padded_large]),
        task,
        key=jr.key(3),
        options=options,
        shuffle_ids=[0, 0],
    )
    for index, (net, ref) in enumerate(zip((small, large), alone, strict=True)):
        trained = unstack_model(stacked.models, index)
        size = net.state_size
        # the silent units stayed silent: every weight touching them is still exactly 0
        assert np.all(np.asarray(trained.recurrent_weights)[size:, :] == 0)
        assert np.all(np.asarray(trained.recurrent_weights)[:, size:] == 0)
        assert np.all(np.asarray(trained.input_weights)[size:] == 0)
        assert np.all(np.asarray(trained.readout_weights)[:, size:] == 0)
        for ours, theirs in zip(
            jax.tree.leaves(trim_units(trained, size)), jax.tree.leaves(ref), strict=True
        ):
            np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-9, atol=1e-12)
    default_ids = train_bptt(
        stack_models([padded_small, padded_large]), task, key=jr.key(3), options=options
    )
    other = trim_units(unstack_model(default_ids.models, 1), 8)
    assert np.max(np.abs(np.asarray(other.recurrent_weights - alone[1].recurrent_weights))) > 1e-6
    with pytest.raises(rnnlab.InvalidInputError, match="shuffle_ids must hold one integer"):
        train_bptt(
            stack_models([padded_small]), task, key=jr.key(3), options=options, shuffle_ids=[0, 1]
        )


def test_rate_scales_train_each_member_as_its_own_rate_alone(tmp_path):
    """A stack with ``rate_scales`` = (1, 0.25) ends where two separate runs at the rates
    eta and eta/4 (optax's own learning rate) end; unit scales are the unscaled run, and a
    checkpoint of a scaled run is refused by an unscaled one."""
    from rnnlab.models import unstack_model

    task = AndTask(tail=10, settling=0)
    nets = [ElmanRNN(2, 6, 1, key=jr.key(i), dtype=jnp.float64) for i in range(2)]
    options = BPTTOptions(
        learning_rate=4e-3, num_trials=96, batch_size=32, max_epochs=3, loss_threshold=None
    )
    scaled = train_bptt(
        stack_models(nets),
        task,
        key=jr.key(3),
        options=options,
        rate_scales=[1.0, 0.25],
        checkpoint_dir=tmp_path,
    )
    for index, rate in enumerate((4e-3, 1e-3)):
        alone = train_bptt(
            stack_models([nets[index]]),
            task,
            key=jr.key(3),
            options=BPTTOptions(
                learning_rate=rate,
                num_trials=96,
                batch_size=32,
                max_epochs=3,
                loss_threshold=None,
            ),
            shuffle_ids=[index],
        )
        leaves = zip(
            jax.tree.leaves(unstack_model(scaled.models, index)),
            jax.tree.leaves(unstack_model(alone.models, 0)),
            strict=True,
        )
        for a, b in leaves:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(scaled.losses[:, index], alone.losses[:, 0], rtol=1e-9)
    plain = train_bptt(stack_models(nets), task, key=jr.key(3), options=options)
    ones = train_bptt(stack_models(nets), task, key=jr.key(3), options=options, rate_scales=[1, 1])
    np.testing.assert_array_equal(plain.losses, ones.losses)
    assert not np.allclose(plain.losses[:, 1], scaled.losses[:, 1])
    with pytest.raises(rnnlab.InvalidInputError, match="different run"):
        train_bptt(
            stack_models(nets), task, key=jr.key(3), options=options, checkpoint_dir=tmp_path
        )


@pytest.mark.parametrize("scales", [[1.0], [1.0, 0.0], [1.0, float("nan")]])
def test_bad_rate_scales(scales):
    task = AndTask(tail=10, settling=0)
    with pytest.raises(rnnlab.InvalidInputError, match="rate_scales"):
        train_bptt(small_members(task, 2, hidden=4), task, key=jr.key(0), rate_scales=scales)


def test_restore_best_keeps_each_members_lowest_loss_epoch(tmp_path):
    """restore_best: each member ends with the parameters after its epoch of lowest mean
    training loss (kept_epochs), exactly those of a run stopped after that epoch; a
    checkpointed run killed mid-way resumes to the same result."""
    from rnnlab.models import unstack_model

    task = AndTask(tail=10, settling=0)
    nets = stack_models([ElmanRNN(2, 6, 1, key=jr.key(i), dtype=jnp.float64) for i in range(3)])
    fields = dict(learning_rate=0.1, num_trials=96, batch_size=32, loss_threshold=None)
    best = train_bptt(
        nets, task, key=jr.key(3), options=BPTTOptions(max_epochs=6, restore_best=True, **fields)
    )
    last = train_bptt(nets, task, key=jr.key(3), options=BPTTOptions(max_epochs=6, **fields))
    np.testing.assert_array_equal(best.losses, last.losses)
    np.testing.assert_array_equal(best.kept_epochs, np.argmin(best.losses, axis=0) + 1)
    np.testing.assert_array_equal(last.kept_epochs, [6, 6, 6])
    assert best.kept_epochs.min() < 6, best.losses  # some member's loss went back up
    for index, epoch in enumerate(best.kept_epochs):
        stopped = train_bptt(
            nets, task, key=jr.key(3), options=BPTTOptions(max_epochs=int(epoch), **fields)
        )
        leaves = zip(
            jax.tree.leaves(unstack_model(best.models, index)),
            jax.tree.leaves(unstack_model(stopped.models, index)),
            strict=True,
        )
        for a, b in leaves:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    def kill_after_two(epoch, losses):
        if epoch == 2:
            raise Killed

    options = BPTTOptions(max_epochs=6, restore_best=True, **fields)
    with pytest.raises(Killed):
        train_bptt(
            nets,
            task,
            key=jr.key(3),
            options=options,
            checkpoint_dir=tmp_path,
            on_epoch_end=kill_after_two,
        )
    resumed = train_bptt(nets, task, key=jr.key(3), options=options, checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 2
    np.testing.assert_array_equal(resumed.kept_epochs, best.kept_epochs)
    for a, b in zip(jax.tree.leaves(resumed.models), jax.tree.leaves(best.models), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("clip_norm", [None, 1.0])
def test_optimiser_is_clipped_adam_with_legacy_decay_by_hand(clip_norm):
    """:func:`make_optimiser` against Adam written out in NumPy (Kingma & Ba 2015, Alg. 1)
    with the Keras legacy step size eta / (1 + delta k) and clipping by global norm,
    g <- g min(1, c / ||g||): gradients whose norms swing from 30 to 0.03 make Adam's
    steps depend on the clipping (Adam alone is invariant only to one common scale)."""
    from rnnlab.learning import make_optimiser

    rng = np.random.default_rng(0)
    grads = [
        {"w": scale * rng.standard_normal((3, 2)), "b": scale * rng.standard_normal(2)}
        for scale in (30.0, 0.03, 5.0, 0.3)
    ]
    grads = [{k: g.astype(np.float32) for k, g in step.items()} for step in grads]

    def optimised(clip):
        options = BPTTOptions(learning_rate=1e-2, learning_rate_decay=0.5, clip_norm=clip)
        optimiser = make_optimiser(options)
        params = {k: jnp.zeros_like(g) for k, g in grads[0].items()}
        state = optimiser.init(params)
        for g in grads:
            with jax.numpy_dtype_promotion("standard"):  # optax's int32 step count
                updates, state = optimiser.update(jax.tree.map(jnp.asarray, g), state, params)
            params = jax.tree.map(lambda p, u: p + u, params, updates)
        return {k: np.asarray(p, dtype=float) for k, p in params.items()}

    m = {k: np.zeros(g.shape) for k, g in grads[0].items()}
    v = {k: np.zeros(g.shape) for k, g in grads[0].items()}
    expected = {k: np.zeros(g.shape) for k, g in grads[0].items()}
    for k, g in enumerate(grads):
        norm = np.sqrt(sum(np.sum(x.astype(float) ** 2) for x in g.values()))
        factor = 1.0 if clip_norm is None else min(1.0, clip_norm / norm)
        step = 1e-2 / (1.0 + 0.5 * k)
        for name in g:
            gk = factor * g[name].astype(float)
            m[name] = 0.9 * m[name] + 0.1 * gk
            v[name] = 0.999 * v[name] + 0.001 * gk**2
            m_hat, v_hat = m[name] / (1 - 0.9 ** (k + 1)), v[name] / (1 - 0.999 ** (k + 1))
            expected[name] -= step * m_hat / (np.sqrt(v_hat) + 1e-8)
    params = optimised(clip_norm)
    for name in expected:
        np.testing.assert_allclose(params[name], expected[name], rtol=1e-4, atol=1e-8)
    if clip_norm is not None:  # the clipping changed the path, by far more than rounding
        assert np.max(np.abs(optimised(None)["w"] - expected["w"])) > 1e-3
