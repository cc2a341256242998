"""EulerRateRNN: the batch-major BPTT path against the per-trial vmap, in one process.

Value and gradient of an MSE over a batch of 64 trials of 300 steps at N = 50 (float64),
through ``EulerRateRNN.batch_outputs`` (``rnnlab.models.euler_rate_outputs``, one loop
with a hand-written backward pass) and through ``jax.vmap(model)`` with autodiff; CPU
seconds per call, the median of interleaved repeats, and their ratio.

Usage: taskset -c 0 python bench/rate_batch.py [--hidden 50] [--repeats 5]
"""

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

jax.config.update("jax_enable_x64", True)

from rnnlab.models import EulerRateRNN  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    net = EulerRateRNN.for_task(2, args.hidden, 1, key=jr.key(0), tau=5.0, dtype=jnp.float64)
    inputs = jr.normal(jr.key(1), (64, 300, 2), jnp.float32)
    targets = jr.normal(jr.key(2), (64, 300, 1))

    def program(forward):
        loss = lambda m: jnp.mean((forward(m, inputs) - targets) ** 2)  # noqa: E731
        return eqx.filter_jit(eqx.filter_value_and_grad(loss))

    paths = {
        "batch_outputs": program(lambda m, x: m.batch_outputs(x)),
        "vmap": program(lambda m, x: jax.vmap(m)(x)),
    }
    values = {name: jax.block_until_ready(f(net)) for name, f in paths.items()}
    gap = max(
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(
            jax.tree.leaves(values["batch_outputs"]), jax.tree.leaves(values["vmap"]), strict=True
        )
    )
    seconds = {name: [] for name in paths}
    for _ in range(args.repeats):
        for name, f in paths.items():
            start = time.process_time()
            jax.block_until_ready(f(net))
            seconds[name].append(time.process_time() - start)
    fast, slow = (float(np.median(seconds[name])) for name in paths)
    print(
        f"EulerRateRNN N={args.hidden}, batch 64, T = 300, float64, CPU time per value and "
        f"gradient: batch_outputs {fast * 1e3:.1f} ms, vmap {slow * 1e3:.1f} ms, "
        f"{slow / fast:.2f}x; largest difference of loss and gradients {gap:.1e}"
    )


if __name__ == "__main__":
    main()
