r"""Reservoir: rnnlab against reservoirpy 0.4.2 on identical work.

The work (issue 3, item 6): the reservoir of Kim et al. (2020),
:class:`rnnlab.models.ControlledReservoir` (``random(key=..., hidden_size=N)``: the
authors' A, B, C and bias d), discretised by forward Euler,

    r_{k+1} = r_k + gamma dt (-r_k + tanh(A r_k + B x_k + C c_k + d)),    r_0 = 0,

leak gamma dt = 100 x 0.001 = 0.1, driven for T = 200 000 steps by the same input: a
Lorenz trajectory x_k = x(k dt) (rnnlab's ground truth, computed once) and a control c_k
held at 0, 1, 2, 3 for a quarter of the run each. Then the same least-squares readout
W (3 x N), x_{k+1} ~ W r_{k+1} over the states after a washout of 1 000 steps, ridge
lambda = 1e-3 (lambda I added to the Gram matrix R R^T), no bias. Float64 throughout.

* rnnlab: ``jax.lax.scan`` over :func:`rnnlab.models.step_map` (``solver="euler"``,
  ``args=ReservoirInputs(x_k, c_k)``), i.e. diffrax's Euler step of the model's own vector
  field, jit-compiled as one program (compile time excluded, reported apart); then
  :func:`rnnlab.learning.streaming_least_squares` (TSQR, float64), built and compiled
  once and fed 4096-row chunks exactly as :func:`rnnlab.learning.least_squares` does.
  One call of ``least_squares`` itself, which builds and compiles its solver on every
  call, is timed apart.
* reservoirpy: ``reservoirpy.nodes.Reservoir(W=A, Win=[B C], bias=d, lr=0.1,
  activation="tanh")``, ``.run(U)`` with U_k = [x_k, c_k]; then
  ``reservoirpy.nodes.Ridge(ridge=lambda, fit_bias=False).fit(states[1000:], targets)``
  (normal equations, ``scipy.linalg.solve(X^T X + lambda I, X^T Y)``).
  Its update is x[t+1] = (1 - lr) x[t] + lr tanh(W x[t] + Win u[t+1] + bias) and ``run``
  returns the state after each input, so its states[k] is rnnlab's r_{k+1} for the same
  input rows: no shift. A fresh node per run (state 0).
* floor: T back-to-back N x N matrix-vector products s <- M s in a jit-compiled
  ``lax.scan`` (float64), nothing else (no tanh, no input, states not stored).
  M = A / rho(A): the same matrix scaled to spectral radius 1 so that 200 000 products
  neither overflow nor underflow (rho(A) = 1.03 for the paper's A); values do not change
  the cost of a dense product.
* reservoirpy.jax (secondary, drive only, one run after a warm-up): the experimental JAX
  backend shipped in reservoirpy 0.4.2, same weights.

Agreement (asserted): states max |rnnlab - reservoirpy| < 1e-8 over all T x N entries;
readout ||W_rnnlab - W_reservoirpy||_F / ||W_rnnlab||_F < 1e-4 (the normal equations lose
about cond(R R^T + lambda I) x eps ~ 1e-6 here). Recorded, not asserted: the min-norm
readout at lambda = 0, where reservoirpy's normal equations are singular.

Threads and timing: by default each library is pinned to one thread
(``OPENBLAS_NUM_THREADS=1`` etc. for NumPy's and SciPy's OpenBLAS, which JAX's LAPACK
calls also use, and ``--xla_cpu_multi_thread_eigen=false`` for XLA), set before numpy or
jax is imported, and each stage is timed by process CPU time (median of ``--repeats``,
the sides interleaved); wall-clock times are recorded alongside. ``--threads all`` keeps
the libraries' defaults and times by wall clock.

Ratios: ``ratio`` = reservoirpy / rnnlab time for drive + readout (the issue's identical
work; goal >= 3); ``ratio_drive`` the same for the drive alone; ``floor_ratio`` = rnnlab
drive / floor (goal <= 1.5). A second case, N = 100, shows the regime where reservoirpy's
per-step Python overhead dominates (not in the ratios).

Usage: ``python bench/reservoir.py [--threads 1|all] [--repeats 3] [--quick]`` (install
the peer with ``pip install reservoirpy==0.4.2``, the ``bench`` extra). ``--quick``: 5 000
steps, a smoke test of about 15 s, nothing written. The last line printed is
``ratio=<reservoirpy time / rnnlab time>``; ``bench/results/reservoir.json`` records every
figure.

References: J. Z. Kim, Z. Lu, E. Nozari, G. J. Pappas, D. S. Bassett, arXiv:2005.01186;
N. Trouvain et al., "ReservoirPy", ICANN 2020, DOI 10.1007/978-3-030-61616-8_40.
"""

import functools
import json
import os
import platform
import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path

# bench/ is on sys.path when this script runs
from _common import parse_args, timed

RESULTS = Path(__file__).resolve().parent / "results" / "reservoir.json"
STATE_TOLERANCE = 1e-8
READOUT_TOLERANCE = 1e-4  # relative Frobenius difference of W

# name, N, headline (part of the ratios)
CASES = [
    ("paper reservoir, N=450", 450, True),
    ("N=100 (Python-overhead-bound; not in ratio)", 100, False),
]
RATE = 100.0
DT = 1e-3
STEPS = 200_000
WASHOUT = 1_000
RIDGE = 1e-3
LORENZ_BURN = 5_000  # samples dropped so that the input starts on the attractor
QUICK_STEPS = 5_000
QUICK_WASHOUT = 500


@functools.cache
def drive_input(steps):
    """Lorenz samples x_0 .. x_T (T + 1 rows, dt apart) and the control c_0 .. c_{T-1}."""
    import jax.numpy as jnp
    import numpy as np

    from rnnlab.systems import Lorenz, ground_truth

    ts = DT * jnp.arange(LORENZ_BURN + steps + 1, dtype=jnp.float64)
    lorenz = ground_truth(Lorenz(), jnp.array([1.0, 1.0, 1.0]), ts).raise_if_diverged("Lorenz")
    inputs = np.asarray(lorenz.states)[LORENZ_BURN:]
    controls = np.floor(4.0 * np.arange(steps) / steps)[:, None]  # 0, 1, 2, 3
    return inputs, controls


def make_rnnlab_drive():
    """rnnlab's Euler drive: a scan over the model's own ``step_map``, one compiled program."""
    import equinox as eqx
    import jax

    from rnnlab.models import ReservoirInputs, step_map

    @eqx.filter_jit
    def drive(reservoir, state0, inputs, controls, dt):
        def body(state, sample):
            step, _ = step_map(reservoir, dt=dt, solver="euler", args=ReservoirInputs(*sample))
            new = step(0.0, state)
            return new, new

        return jax.lax.scan(body, state0, (inputs, controls))[1]

    return drive


def make_floor(steps):
    """``steps`` back-to-back products s <- M s in one compiled scan; returns the last s."""
    import jax

    @jax.jit
    def floor(matrix, state0):
        return jax.lax.scan(lambda s, _: (matrix @ s, None), state0, None, length=steps)[0]

    return floor


def make_rnnlab_readout(num_features, num_targets, ridge, chunk=4096):
    """:func:`rnnlab.learning.streaming_least_squares` built once (so that its jitted update
    and solve compile once), fed in chunks of ``chunk`` rows as ``least_squares`` does."""
    import numpy as np

    from rnnlab.learning import streaming_least_squares

    solver = streaming_least_squares(num_features, num_targets, ridge=ridge)

    def fit(states, targets):
        state = solver.init()
        for start in range(0, states.shape[0], chunk):
            end = start + chunk
            state = solver.update(state, states[start:end], targets[start:end])
        return np.asarray(solver.finalise(state).weights)

    return fit


def _max_abs_difference(a, b, chunk=10_000):
    """max |a - b| without a full-size temporary."""
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    return max(
        float(np.max(np.abs(a[i : i + chunk] - b[i : i + chunk])))
        for i in range(0, a.shape[0], chunk)
    )


def _rms(states, targets, weights):
    import numpy as np

    return float(np.sqrt(np.mean((states @ weights.T - targets) ** 2)))


def run_case(name, N, headline, steps, washout, repeats, metric, extras):
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np
    from reservoirpy.nodes import Reservoir, Ridge

    from rnnlab.learning import least_squares
    from rnnlab.models import ControlledReservoir, check_step_size

    check_step_size(RATE, DT, "euler")
    leak = RATE * DT
    net = ControlledReservoir.random(key=jr.key(0), hidden_size=N, rate=RATE)
    A = np.asarray(net.recurrent_weights)
    input_weights = np.concatenate(
        [np.asarray(net.input_weights), np.asarray(net.control_weights)], axis=1
    )
    bias = np.asarray(net.bias)
    lorenz, controls = drive_input(steps)
    inputs = lorenz[:steps]  # x_0 .. x_{T-1} drive r_1 .. r_T
    targets = lorenz[washout + 1 : steps + 1]  # x_{k+1} pairs with r_{k+1}, after washout
    peer_inputs = np.concatenate([inputs, controls], axis=1)  # U_k = [x_k, c_k]
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    floor_matrix = jnp.asarray(A / rho)

    drive = make_rnnlab_drive()
    readout = make_rnnlab_readout(N, targets.shape[1], RIDGE)
    floor = make_floor(steps)
    state0 = jnp.zeros(N, jnp.float64)
    inputs_j, controls_j = jnp.asarray(inputs), jnp.asarray(controls)
    floor_state0 = jnp.asarray(net.rest_state)

    def rnnlab_drive():
        return drive(net, state0, inputs_j, controls_j, DT).block_until_ready()

    def rnnlab_readout(states):
        return readout(np.asarray(states)[washout:], targets)

    def peer_drive():
        node = Reservoir(W=A, Win=input_weights, bias=bias, lr=leak, activation="tanh")
        return node.run(peer_inputs)

    def peer_readout(states, ridge=RIDGE):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            node = Ridge(ridge=ridge, fit_bias=False)
            node.fit(states[washout:], targets)
        return np.asarray(node.Wout).T, [str(w.message)[:200] for w in caught]

    def floor_run():
        return floor(floor_matrix, floor_state0).block_until_ready()

    # compile outside the timing (same shapes and static arguments as the timed calls)
    warm, compile_wall, compile_cpu = timed(rnnlab_drive)
    _, floor_compile_wall, floor_compile_cpu = timed(floor_run)
    rows = min(4096, targets.shape[0]) + targets.shape[0] % 4096  # both chunk shapes
    readout(np.asarray(warm)[washout : washout + rows], targets[:rows])
    del warm

    stages = ("rnnlab_drive", "rnnlab_readout", "reservoirpy_drive", "reservoirpy_readout")
    wall = {stage: [] for stage in (*stages, "floor")}
    cpu = {stage: [] for stage in (*stages, "floor")}

    def record(stage, timing):
        out, wall_s, cpu_s = timing
        wall[stage].append(wall_s)
        cpu[stage].append(cpu_s)
        return out

    # the sides interleaved, so that load changes hit both alike
    for repeat in range(repeats):
        ours = record("rnnlab_drive", timed(rnnlab_drive))
        w_ours = record("rnnlab_readout", timed(functools.partial(rnnlab_readout, ours)))
        theirs = record("reservoirpy_drive", timed(peer_drive))
        w_theirs, peer_warnings = record(
            "reservoirpy_readout",
            timed(functools.partial(peer_readout, theirs)),
        )
        final = record("floor", timed(floor_run))
        if repeat == 0:
            state_difference = _max_abs_difference(ours, theirs)
            assert state_difference < STATE_TOLERANCE, (
                f"{name}: rnnlab and reservoirpy states differ by {state_difference:.3g}"
            )
            readout_difference = float(np.linalg.norm(w_ours - w_theirs) / np.linalg.norm(w_ours))
            assert readout_difference < READOUT_TOLERANCE, (
                f"{name}: readouts differ by {readout_difference:.3g} (relative)"
            )
            drift = float(jnp.linalg.norm(final) / jnp.linalg.norm(floor_state0))
            assert 1e-6 < drift < 1e6, f"floor state drifted (norm ratio {drift:.3g})"
        if repeat < repeats - 1:
            ours = theirs = None  # free the states (N x T each) before the next run

    fitted = np.asarray(ours)[washout:]
    extra = {}
    if extras:
        # rnnlab's one-call least_squares, as a user calls it: it builds (and compiles) its
        # solver on every call, so this includes compilation
        def one_call():
            return np.asarray(least_squares(fitted, targets, ridge=RIDGE).weights)

        _, wall_s, cpu_s = timed(one_call)
        extra["rnnlab_least_squares_call_s"] = {"cpu": cpu_s, "wall": wall_s}
        # min-norm readout (lambda = 0), untimed: rnnlab's TSQR vs reservoirpy's solve
        w_zero = np.asarray(least_squares(fitted, targets).weights)
        w_peer_zero, zero_warnings = peer_readout(theirs, ridge=0.0)
        extra["min_norm_readout"] = {
            "rms_rnnlab": _rms(fitted, targets, w_zero),
            "rms_reservoirpy": _rms(fitted, targets, w_peer_zero),
            "norm_w_rnnlab": float(np.linalg.norm(w_zero)),
            "norm_w_reservoirpy": float(np.linalg.norm(w_peer_zero)),
            "relative_w_difference": float(
                np.linalg.norm(w_zero - w_peer_zero) / np.linalg.norm(w_zero)
            ),
            "reservoirpy_warnings": zero_warnings,
        }
        theirs = None
        extra["reservoirpy_jax"] = _run_jax_peer(A, input_weights, bias, leak, peer_inputs, ours)
    rms = {
        "rnnlab": _rms(fitted, targets, w_ours),
        "reservoirpy": _rms(fitted, targets, w_theirs),
    }

    times = cpu if metric == "cpu" else wall
    median = {stage: statistics.median(v) for stage, v in times.items()}
    median_wall = {stage: statistics.median(v) for stage, v in wall.items()}
    totals = {
        side: statistics.median(
            d + r for d, r in zip(times[f"{side}_drive"], times[f"{side}_readout"], strict=True)
        )
        for side in ("rnnlab", "reservoirpy")
    }
    return {
        "name": name,
        "headline": headline,
        "N": N,
        "steps": steps,
        "washout": washout,
        "ridge": RIDGE,
        "leak": leak,
        "metric": metric,
        "time_s": median,
        "total_s": totals,
        "ratio": totals["reservoirpy"] / totals["rnnlab"],
        "ratio_drive": median["reservoirpy_drive"] / median["rnnlab_drive"],
        "ratio_readout": median["reservoirpy_readout"] / median["rnnlab_readout"],
        "floor_ratio": median["rnnlab_drive"] / median["floor"],
        "reservoirpy_drive_over_floor": median["reservoirpy_drive"] / median["floor"],
        "microseconds_per_step": {
            stage: 1e6 * median[stage] / steps
            for stage in ("rnnlab_drive", "reservoirpy_drive", "floor")
        },
        "wall_s": median_wall,
        "ratio_wall": (median_wall["reservoirpy_drive"] + median_wall["reservoirpy_readout"])
        / (median_wall["rnnlab_drive"] + median_wall["rnnlab_readout"]),
        "rnnlab_first_call_s": {"cpu": compile_cpu, "wall": compile_wall},
        "floor_first_call_s": {"cpu": floor_compile_cpu, "wall": floor_compile_wall},
        "wall_s_all": wall,
        "cpu_s_all": cpu,
        "max_abs_state_difference": state_difference,
        "readout_relative_difference": readout_difference,
        "readout_rms_error": rms,
        "reservoirpy_warnings": peer_warnings,
        "spectral_radius_of_A": rho,
        **extra,
    }


def _run_jax_peer(A, input_weights, bias, leak, peer_inputs, ours):
    """reservoirpy's experimental JAX backend: drive only, timed after one warm-up run."""
    import jax.numpy as jnp
    from reservoirpy.jax.nodes import Reservoir

    def run():
        node = Reservoir(
            W=jnp.asarray(A),
            Win=jnp.asarray(input_weights),
            bias=jnp.asarray(bias),
            lr=leak,
            activation="tanh",
        )
        return node.run(jnp.asarray(peer_inputs)).block_until_ready()

    _, first_wall, first_cpu = timed(run)
    states, wall_s, cpu_s = timed(run)
    difference = _max_abs_difference(states, ours)
    assert difference < STATE_TOLERANCE, f"reservoirpy.jax states differ by {difference:.3g}"
    return {
        "drive_cpu_s": cpu_s,
        "drive_wall_s": wall_s,
        "first_call_cpu_s": first_cpu,
        "first_call_wall_s": first_wall,
        "max_abs_state_difference": difference,
    }


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], "5 000 steps (smoke test)", argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import reservoirpy
    import scipy
    import threadpoolctl

    import rnnlab

    quick = args.quick
    steps, washout = (QUICK_STEPS, QUICK_WASHOUT) if quick else (STEPS, WASHOUT)
    metric = "cpu" if args.threads == "1" else "wall"
    load_before = os.getloadavg()
    started = time.perf_counter()
    cases = [
        run_case(name, N, headline, steps, washout, args.repeats, metric, headline and not quick)
        for name, N, headline in CASES
    ]
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()
    head = next(c for c in cases if c["headline"])

    print(
        f"Euler reservoir, leak {head['leak']:g}, {steps} steps, then ridge readout "
        f"(lambda {RIDGE:g}, washout {washout}); threads={args.threads}; "
        f"{metric} seconds, median of {args.repeats}"
    )
    header = (
        f"{'case':<44} {'rnnlab drive':>12} {'+readout':>9} {'rpy drive':>10} {'+readout':>9} "
        f"{'floor':>7} {'ratio':>6} {'drive':>6} {'/floor':>6} {'states':>8} {'W rel':>8}"
    )
    print(header)
    print("-" * len(header))
    for c in cases:
        t = c["time_s"]
        print(
            f"{c['name']:<44} {t['rnnlab_drive']:>12.3f} {t['rnnlab_readout']:>9.3f} "
            f"{t['reservoirpy_drive']:>10.3f} {t['reservoirpy_readout']:>9.3f} "
            f"{t['floor']:>7.3f} {c['ratio']:>6.2f} {c['ratio_drive']:>6.2f} "
            f"{c['floor_ratio']:>6.2f} {c['max_abs_state_difference']:>8.1e} "
            f"{c['readout_relative_difference']:>8.1e}"
        )
    if "reservoirpy_jax" in head:
        jax_peer, zero = head["reservoirpy_jax"], head["min_norm_readout"]
        call = head["rnnlab_least_squares_call_s"][metric]
        print(
            f"{head['name']}: reservoirpy.jax drive {jax_peer['drive_' + metric + '_s']:.3f} s "
            f"(states differ by {jax_peer['max_abs_state_difference']:.1e}); one "
            f"least_squares call (compiles each call) {call:.3f} s"
        )
        print(
            f"min-norm readout (lambda 0): training rms rnnlab {zero['rms_rnnlab']:.2e}, "
            f"reservoirpy {zero['rms_reservoirpy']:.2e}"
        )
    print(
        f"goals ({head['name']}): >= 3x reservoirpy: {head['ratio']:.2f}x end to end, "
        f"{head['ratio_drive']:.2f}x drive; rnnlab drive / floor <= 1.5: "
        f"{head['floor_ratio']:.2f}; load average {load_before[0]:.2f} -> "
        f"{load_after[0]:.2f}; total {elapsed:.0f} s"
    )

    if not (args.quick or args.no_save):
        record = {
            "benchmark": "reservoir",
            "command": " ".join(
                ["python", "bench/reservoir.py", *(sys.argv[1:] if argv is None else argv)]
            ),
            "date": date.today().isoformat(),
            "ratio": head["ratio"],
            "ratio_definition": (
                f"reservoirpy / rnnlab median {metric} time of drive + readout, headline case"
            ),
            "ratio_drive": head["ratio_drive"],
            "floor_ratio": head["floor_ratio"],
            "goals": {"ratio": ">= 3", "floor_ratio": "<= 1.5"},
            "metric": metric,
            "threads": args.threads,
            "repeats": args.repeats,
            "state_tolerance": STATE_TOLERANCE,
            "readout_tolerance": READOUT_TOLERANCE,
            "work": {
                "rate": RATE,
                "dt": DT,
                "steps": steps,
                "washout": washout,
                "ridge": RIDGE,
                "input": "Lorenz (10, 28, 8/3) ground truth from (1, 1, 1), "
                f"{LORENZ_BURN} samples dropped; control 0, 1, 2, 3 in quarters",
            },
            "cases": cases,
            "machine": {
                "platform": platform.platform(),
                "processor": platform.processor() or platform.machine(),
                "cpu_count": os.cpu_count(),
                "python": sys.version.split()[0],
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "jax": jax.__version__,
                "reservoirpy": reservoirpy.__version__,
                "rnnlab": rnnlab.__version__,
                "jax_devices": [str(d) for d in jax.devices()],
                "blas_threads": [
                    f"{info['internal_api']} {info['num_threads']}"
                    for info in threadpoolctl.threadpool_info()
                ],
                "load_average_before": load_before,
                "load_average_after": load_after,
            },
            "total_s": elapsed,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"ratio={head['ratio']:.2f}")


if __name__ == "__main__":
    main()
