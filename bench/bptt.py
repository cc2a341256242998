"""BPTT training: rnnlab's ``train_bptt`` against PyTorch on identical work.

Both sides train the same discrete-time tanh network on the Flip-Flop task of Jarne & Laje
(``rnnlab.tasks.FlipFlopTask``; the spec's 8 pulses, T = 1010 steps by default):

    h_t = tanh(W h_{t-1} + U x_t),   z_t = V h_t + c,   h_{-1} = 0,

N = 50 units, mean squared error over every step, Adam (learning rate 1e-3, betas
(0.9, 0.999), eps 1e-8) after clipping by global norm 1, batch 64 (the ``temporal-tasks``
experiment's optimiser at its ``--quick`` learning rate). Not 3e-3: there Flip-Flop
training is chaotic within a few epochs (torch against itself: a relative change of 1e-13
in the initial recurrent weights moved the third epoch's loss by 1e-3, with the trials
of ``sample_batch(key(0))``), so no two implementations can agree to 1e-4; at 1e-3 the same
change moves the fourth epoch by 1e-8. Same initial weights (rnnlab's ``ElmanRNN`` copied into
``torch.nn.RNN(nonlinearity="tanh", bias=False)`` + ``torch.nn.Linear``), same trials
(rnnlab's ``sample_batch`` from the data key) and the same batches in the same order
(``train_bptt``'s per-epoch, per-member permutation, rebuilt here from the same keys).
The headline runs both sides in float64, where the per-epoch mean training losses must
agree to 1e-4 (asserted; training amplifies rounding, so they differ by 1e-11 to 1e-8 after a
few epochs, not 1e-16); float32, the paper's dtype, is timed too and its difference recorded.

* rnnlab: :func:`rnnlab.learning.train_bptt` (one jit-compiled ``lax.scan`` over the
  updates of an epoch; several members are ``vmap``-ed). An epoch's time is the interval
  between consecutive ``on_epoch_end`` callbacks, so it includes the driver's per-epoch
  Python work; the first epoch (which compiles) is not timed and its cost is reported
  apart.
* torch: what a competent user writes: ``nn.RNN`` + ``nn.Linear``, ``torch.optim.Adam``,
  a Python loop over batches, clipping by global norm exactly as optax does
  (see :func:`clip_by_global_norm`). The first epoch is not timed either.
  20 seeds = 20 sequential runs.

Threads and timing: the whole process runs on one CPU core (``os.sched_setaffinity``,
where the OS has it), and each library is told to use one thread
(``torch.set_num_threads(1)``; ``--xla_cpu_multi_thread_eigen=false`` and one-thread BLAS
for XLA, set before jax is imported): without the pinning XLA:CPU still ran helper
threads, and its process CPU time came out 1.4x its wall time. Each side is timed by its
process CPU time, which other load on a shared machine does not inflate. Wall-clock
times and ratios are recorded alongside.

On an accelerator (JAX's backend not the CPU) rnnlab runs there and torch stays on one
CPU thread, and the headline ratios are wall-clock: the device's work does not show in
the process CPU time (``bench/device.sh`` runs it so; ``bench/results/bptt_gpu.json``).

Usage: ``python bench/bptt.py [--quick] [--seeds N] [--out FILE]``. The last line printed is
``ratio=<torch time / rnnlab time>`` per epoch of one network;
``bench/results/bptt.json`` records every figure.
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
).strip()

RESULTS = Path(__file__).resolve().parent / "results" / "bptt.json"
TOLERANCE = 1e-4
HIDDEN = 50
BATCH = 64
LEARNING_RATE = 1e-3
CLIP_NORM = 1.0


def _clock():
    return time.process_time(), time.perf_counter()


def batch_orders(key, num_trials, batch_size, epochs, member):
    """The batches ``train_bptt`` uses: its shuffle key, folded by epoch then member."""
    import jax.random as jr
    import numpy as np

    _, shuffle_key = jr.split(key)
    updates = num_trials // batch_size
    orders = []
    for epoch in range(epochs):
        order = jr.permutation(jr.fold_in(jr.fold_in(shuffle_key, epoch), member), num_trials)
        orders.append(np.array(order)[: updates * batch_size].reshape(updates, batch_size))
    return orders


def rnnlab_train(models, task, key, options):
    """Train with rnnlab; per-epoch (cpu, wall) times from the epoch callbacks."""
    from rnnlab.learning import train_bptt

    stamps = [_clock()]

    def on_epoch_end(epoch, losses):
        stamps.append(_clock())

    result = train_bptt(models, task, key=key, options=options, on_epoch_end=on_epoch_end)
    cpu = [b[0] - a[0] for a, b in zip(stamps, stamps[1:], strict=False)]
    wall = [b[1] - a[1] for a, b in zip(stamps, stamps[1:], strict=False)]
    return result, cpu, wall


def torch_train(net, inputs, targets, orders, dtype):
    """Train one network with PyTorch; per-epoch mean losses and (cpu, wall) times."""
    import torch

    rnn, readout = _torch_modules(net, dtype)
    params = list(rnn.parameters()) + list(readout.parameters())
    optimiser = torch.optim.Adam(params, lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-8)
    losses, cpu, wall = [], [], []
    for order in orders:
        start = _clock()
        total = 0.0
        for indices in order:
            index = torch.from_numpy(indices)
            x, y = inputs[index], targets[index]
            optimiser.zero_grad(set_to_none=True)
            states, _ = rnn(x)
            loss = torch.mean((readout(states) - y) ** 2)
            loss.backward()
            clip_by_global_norm(params, CLIP_NORM)
            optimiser.step()
            total += loss.item()
        losses.append(total / len(order))
        stop = _clock()
        cpu.append(stop[0] - start[0])
        wall.append(stop[1] - start[1])
    return losses, cpu, wall, (rnn, readout)


def clip_by_global_norm(params, max_norm):
    """optax's ``clip_by_global_norm``: g <- g max_norm / ||g|| when ||g|| > max_norm.

    (``torch.nn.utils.clip_grad_norm_`` divides by ``||g|| + 1e-6`` instead; that
    relative difference of ~1e-6, amplified by training, breaks the 1e-4 agreement.)
    """
    import torch

    grads = [p.grad for p in params]
    norm = torch.sqrt(sum(torch.sum(g * g) for g in grads))
    if norm > max_norm:
        for g in grads:
            g.mul_(max_norm / norm)


def _torch_modules(net, dtype):
    """``torch.nn.RNN`` + ``Linear`` holding the weights of rnnlab's ``ElmanRNN`` ``net``."""
    import numpy as np
    import torch

    rnn = torch.nn.RNN(
        net.input_size, net.state_size, nonlinearity="tanh", bias=False, batch_first=True
    ).to(getattr(torch, dtype))
    readout = torch.nn.Linear(net.state_size, 1).to(getattr(torch, dtype))
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(np.array(net.input_weights)))
        rnn.weight_hh_l0.copy_(torch.from_numpy(np.array(net.recurrent_weights)))
        readout.weight.copy_(torch.from_numpy(np.array(net.readout_weights)))
        readout.bias.copy_(torch.from_numpy(np.array(net.readout_bias)))
    return rnn, readout


def run_case(num_members, num_trials, epochs, task, data_key, dtype):
    """Train ``num_members`` networks in one vmapped rnnlab call and one by one in torch."""
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np
    import torch

    from rnnlab.learning import BPTTOptions
    from rnnlab.models import ElmanRNN, stack_models, unstack_model
    from rnnlab.tasks import sample_batch

    nets = [
        ElmanRNN(task.num_inputs, HIDDEN, 1, key=jr.key(100 + m), dtype=getattr(jnp, dtype))
        for m in range(num_members)
    ]
    options = BPTTOptions(
        learning_rate=LEARNING_RATE,
        batch_size=BATCH,
        num_trials=num_trials,
        max_epochs=epochs,
        loss_threshold=None,
        clip_norm=CLIP_NORM,
    )
    result, rl_cpu, rl_wall = rnnlab_train(stack_models(nets), task, data_key, options)

    # the same trials, as train_bptt draws them
    trials = sample_batch(jr.split(data_key)[0], task, num_trials)
    inputs = torch.from_numpy(np.asarray(trials.inputs, dtype=dtype))
    targets = torch.from_numpy(np.asarray(trials.targets, dtype=dtype))
    th_losses, th_cpu, th_wall, weight_diff = [], [], [], 0.0
    for m, net in enumerate(nets):
        orders = batch_orders(data_key, num_trials, BATCH, epochs, m)
        losses, cpu, wall, (rnn, readout) = torch_train(net, inputs, targets, orders, dtype)
        th_losses.append(losses)
        th_cpu.append(cpu)
        th_wall.append(wall)
        trained = unstack_model(result.models, m)
        for ours, theirs in (
            (trained.recurrent_weights, rnn.weight_hh_l0),
            (trained.input_weights, rnn.weight_ih_l0),
            (trained.readout_weights, readout.weight),
        ):
            diff = np.max(np.abs(np.asarray(ours) - theirs.detach().numpy()))
            weight_diff = max(weight_diff, float(diff))
    rl_losses = np.asarray(result.losses).T  # (members, epochs)
    th_losses = np.asarray(th_losses)
    loss_diff = float(np.max(np.abs(rl_losses - th_losses)))
    if dtype == "float64":
        assert loss_diff < TOLERANCE, f"losses differ by {loss_diff:.3g} (> {TOLERANCE})"
    # timed = epochs 2.. (epoch 1 compiles in rnnlab and warms up torch)
    th_cpu, th_wall = np.asarray(th_cpu), np.asarray(th_wall)
    return {
        "dtype": dtype,
        "members": num_members,
        "num_trials": num_trials,
        "updates_per_epoch": options.updates_per_epoch,
        "epochs": epochs,
        "timed_epochs": epochs - 1,
        "rnnlab_cpu_s_per_epoch": float(np.mean(rl_cpu[1:])),
        "rnnlab_wall_s_per_epoch": float(np.mean(rl_wall[1:])),
        "rnnlab_first_epoch_cpu_s": rl_cpu[0],
        "rnnlab_first_epoch_wall_s": rl_wall[0],
        # all members, one after another: sum over members of the mean timed epoch
        "torch_cpu_s_per_epoch": float(np.sum(np.mean(th_cpu[:, 1:], axis=1))),
        "torch_wall_s_per_epoch": float(np.sum(np.mean(th_wall[:, 1:], axis=1))),
        "torch_first_epoch_cpu_s": float(np.sum(th_cpu[:, 0])),
        "rnnlab_epoch_cpu_s": rl_cpu,
        "torch_epoch_cpu_s": th_cpu.tolist(),
        "final_loss_rnnlab": float(rl_losses[0, -1]),
        "final_loss_torch": float(th_losses[0, -1]),
        "max_loss_diff": loss_diff,
        "max_weight_diff": weight_diff,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="short flip-flop (T = 220) and fewer trials"
    )
    parser.add_argument("--seeds", type=int, default=20, help="members of the vmapped case")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"results file (default {RESULTS}, bptt_gpu.json beside it on an accelerator; "
        "--quick: none)",
    )
    args = parser.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.random as jr
    import numpy as np
    import torch

    import rnnlab
    from rnnlab.tasks import FlipFlopTask

    # on an accelerator the process CPU time says nothing about the device's work: the
    # headline ratios are then wall-clock (torch still on one CPU thread, its usual home)
    backend = jax.default_backend()
    clock = "cpu" if backend == "cpu" else "wall"

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    if args.quick:
        task = FlipFlopTask(num_pulses=3, pulse_interval=60, stimulus_onset=20, tail=40)
        single, multi = (8 * BATCH, 3), (2 * BATCH, 3)
    else:
        task = FlipFlopTask()  # the spec's layout: 8 pulses, T = 1010
        single, multi = (8 * BATCH, 4), (4 * BATCH, 3)
    data_key = jr.key(0)
    load_before = os.getloadavg()
    seeds = f"{args.seeds} seeds"
    cases = {}
    for dtype in ("float64", "float32"):
        cases[f"1 network, {dtype}"] = run_case(1, *single, task, data_key, dtype)
        cases[f"{seeds}, {dtype}"] = run_case(args.seeds, *multi, task, data_key, dtype)
    load_after = os.getloadavg()

    print(f"BPTT, flip-flop T = {task.num_steps}, N = {HIDDEN}, batch {BATCH}, Adam + clip")
    print(
        f"rnnlab on {backend} ({jax.devices()[0].device_kind}), torch on one CPU thread; "
        f"{clock} seconds per epoch, epoch 1 excluded; loss diff ="
    )
    print("max |rnnlab - torch| of the per-epoch mean training losses (asserted < 1e-4 in f64)")
    print(
        f"{'case':<20} {'updates':>7} {'rnnlab s':>9} {'torch s':>9} {'ratio':>6} "
        f"{'cpu ratio':>9} {'wall ratio':>10} {'rnnlab 1st':>10} {'loss diff':>9}"
    )
    for name, c in cases.items():
        c["ratio_cpu"] = c["torch_cpu_s_per_epoch"] / c["rnnlab_cpu_s_per_epoch"]
        c["ratio_wall"] = c["torch_wall_s_per_epoch"] / c["rnnlab_wall_s_per_epoch"]
        c["ratio"] = c[f"ratio_{clock}"]
        print(
            f"{name:<20} {c['updates_per_epoch']:>7d} {c[f'rnnlab_{clock}_s_per_epoch']:>9.3f} "
            f"{c[f'torch_{clock}_s_per_epoch']:>9.3f} {c['ratio']:>6.2f} {c['ratio_cpu']:>9.2f} "
            f"{c['ratio_wall']:>10.2f} {c[f'rnnlab_first_epoch_{clock}_s']:>10.2f} "
            f"{c['max_loss_diff']:>9.1e}"
        )
    ratio = cases["1 network, float64"]["ratio"]
    seeds_ratio = cases[f"{seeds}, float64"]["ratio"]
    print(
        f"goals (float64): per epoch >= 2x: {ratio:.2f}x; "
        f"{seeds} vmapped >= 5x: {seeds_ratio:.2f}x"
    )
    record = {
        "date": date.today().isoformat(),
        "command": " ".join(
            ["python bench/bptt.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "jax": jax.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "rnnlab": getattr(rnnlab, "__version__", "unknown"),
            "jax_backend": backend,
            "jax_device": jax.devices()[0].device_kind,
        },
        "load_average_before": load_before,
        "load_average_after": load_after,
        "threads": "1 core for the process (sched_setaffinity); 1 thread per library "
        "(torch.set_num_threads(1); XLA eigen single-threaded)",
        "timing": (
            "process CPU time per epoch, epochs 2.. averaged; wall alongside"
            if clock == "cpu"
            else f"wall-clock time per epoch (rnnlab on {backend}), epochs 2.. averaged"
        ),
        "task": {"name": "flipflop", "num_steps": task.num_steps, "repr": repr(task)},
        "hidden_size": HIDDEN,
        "batch_size": BATCH,
        "optimiser": f"Adam lr {LEARNING_RATE}, betas (0.9, 0.999), eps 1e-8, clip {CLIP_NORM}",
        "dtype": "float64 (headline, agreement asserted) and float32 (the paper's dtype)",
        "tolerance": TOLERANCE,
        "cases": cases,
        "ratio": ratio,
        "ratio_seeds": seeds_ratio,
    }
    default = RESULTS if backend == "cpu" else RESULTS.with_name("bptt_gpu.json")
    out = args.out or (None if args.quick else default)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
