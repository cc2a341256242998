"""Lyapunov spectrum: rnnlab against a plain NumPy reference on identical work.

Both sides run the QR (Benettin / H2) algorithm on the random rate network
``RateRNN(N, gain=g, key=...)``, dh/dt = -h + J tanh h, with forward Euler:

    h <- h + dt (-h + J tanh h)
    Q <- Q + dt (-Q + J (sech^2(h)[:, None] * Q))      (the exact tangent of that step)

and ``Q, R = qr(Q)`` every ``qr_every`` steps, accumulating ln|diag R|. Same J, same
initial state, same initial orthonormal frame (rnnlab's ``qr(normal(key, (N, k)))``,
reproduced from the same key), same dt, qr_every, burn-in, tangent burn-in and observation
steps. The exponents must agree to 1e-6.

* rnnlab: :func:`rnnlab.analysis.lyapunov_spectrum` with ``solver="euler"`` (one jitted
  XLA program; the tangent is ``jax.jvp`` of diffrax's Euler step, vmapped over the frame,
  which XLA lowers to a single N x N @ N x k matmul with the elementwise ops fused).
  Timed after a warm-up call with identical arguments (the step counts are static, so any
  other call would compile again); the compile time is reported separately.
* numpy: what a competent user writes today: a Python loop, vectorised NumPy, the tangent
  as ``J @ (phi'(h)[:, None] * Q)`` (a BLAS matmul), ``np.linalg.qr``.
* numpy (textbook): the same loop, but forming the dense Jacobian ``I + dt(-I + J diag
  phi'(h))`` each step and multiplying the frame by it. A secondary row, not in the ratio.

Threads and timing: by default each library is pinned to one thread
(``OPENBLAS_NUM_THREADS=1`` for NumPy's and SciPy's OpenBLAS, which JAX's LAPACK calls also
use, and ``--xla_cpu_multi_thread_eigen=false`` for XLA), so both sides get the same
resources, and each side is timed by its process CPU time (best of ``--repeats``): for a
single-threaded run that is the time it spent on its core, which other load on a shared
machine does not inflate. Wall-clock times are recorded as well. ``--threads all`` keeps
the libraries' defaults (all cores) and times by wall clock. float64 is enabled at the
start of ``main``, right after the thread settings, which must precede importing numpy/jax.

Usage: ``python bench/lyapunov.py [--threads 1|all] [--repeats 3] [--quick]``. The last
line printed is ``ratio=<numpy time / rnnlab time>``, the geometric mean over the two
headline cases; ``bench/results/lyapunov.json`` records every figure.
"""

import json
import math
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

from _common import parse_args, timed

RESULTS = Path(__file__).resolve().parent / "results" / "lyapunov.json"
TOLERANCE = 1e-6

# name, N, k (None = full spectrum), headline (part of the ratio)
CASES = [
    ("full spectrum, N=500", 500, None, True),
    ("top 20, N=2000", 2000, 20, True),
    ("full spectrum, N=20 (Python-overhead-bound; not in ratio)", 20, None, False),
]

GAIN = 2.0
DT = 0.05
QR_EVERY = 10
T_BURN = 10.0  # 200 steps
T_TANGENT_BURN = 2.5  # 5 QR intervals = 50 steps
T_OBS = 20.0  # 40 QR intervals = 400 steps


def step_counts(dt, qr_every, t_burn, t_tangent_burn, t_obs, num_segments):
    """The step counts lyapunov_spectrum derives from its options (same formulas)."""
    interval = dt * qr_every
    n_burn = round(t_burn / dt)
    n_tangent_burn = math.ceil(t_tangent_burn / interval)
    n_obs = max(num_segments, round(t_obs / interval))
    return n_burn, n_tangent_burn, n_obs


def numpy_lyapunov(J, h0, frame_normal, dt, qr_every, n_burn, n_tangent_burn, n_obs):
    """Plain NumPy QR method: vectorised, tangent by one BLAS matmul per step."""
    import numpy as np

    Q, _ = np.linalg.qr(frame_normal)
    h = h0.copy()
    for _ in range(n_burn):
        h = h + dt * (J @ np.tanh(h) - h)
    log_sum = np.zeros(Q.shape[1])
    for interval in range(n_tangent_burn + n_obs):
        for _ in range(qr_every):
            th = np.tanh(h)
            Q = Q + dt * (J @ ((1.0 - th * th)[:, None] * Q) - Q)
            h = h + dt * (J @ th - h)
        Q, R = np.linalg.qr(Q)
        if interval >= n_tangent_burn:
            log_sum += np.log(np.abs(np.diag(R)))
    return log_sum / (n_obs * qr_every * dt)


def numpy_lyapunov_textbook(J, h0, frame_normal, dt, qr_every, n_burn, n_tangent_burn, n_obs):
    """Textbook variant: form the dense N x N Jacobian of the step, then multiply."""
    import numpy as np

    N = J.shape[0]
    identity = np.eye(N)
    Q, _ = np.linalg.qr(frame_normal)
    h = h0.copy()
    for _ in range(n_burn):
        h = h + dt * (-h + J @ np.tanh(h))
    log_sum = np.zeros(Q.shape[1])
    for interval in range(n_tangent_burn + n_obs):
        for _ in range(qr_every):
            th = np.tanh(h)
            jacobian = identity + dt * (-identity + J * (1.0 - th * th)[None, :])
            Q = jacobian @ Q
            h = h + dt * (-h + J @ th)
        Q, R = np.linalg.qr(Q)
        if interval >= n_tangent_burn:
            log_sum += np.log(np.abs(np.diag(R)))
    return log_sum / (n_obs * qr_every * dt)


def check_euler_step(net, dt):
    """rnnlab's Euler step_map and its jvp are the update rules the NumPy side uses."""
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    from rnnlab.models import step_map

    step, _ = step_map(net, dt=dt, solver="euler")
    N = net.state_size
    h = jr.normal(jr.key(11), (N,), dtype=jnp.float64)
    V = jr.normal(jr.key(12), (N, 3), dtype=jnp.float64)
    t = jnp.asarray(1.25)
    new_h, new_V = jax.vmap(
        lambda v: jax.jvp(lambda y: step(t, y), (h,), (v,)), in_axes=1, out_axes=(None, 1)
    )(V)
    J, hn, Vn = np.asarray(net.recurrent_weights), np.asarray(h), np.asarray(V)
    th = np.tanh(hn)
    expect_h = hn + dt * (-hn + J @ th)
    expect_V = Vn + dt * (-Vn + J @ ((1.0 - th * th)[:, None] * Vn))
    assert np.max(np.abs(np.asarray(new_h) - expect_h)) < 1e-12
    assert np.max(np.abs(np.asarray(new_V) - expect_V)) < 1e-12


def run_case(name, N, k, headline, repeats, t_obs, metric):
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    from rnnlab.analysis import LyapunovOptions, lyapunov_spectrum
    from rnnlab.models import RateRNN

    net = RateRNN(N, gain=GAIN, key=jr.key(0))
    check_euler_step(net, DT)
    J = np.asarray(net.recurrent_weights)
    h0 = np.asarray(jr.normal(jr.key(1), (N,), dtype=jnp.float64))
    frame_key = jr.key(2)
    k_eff = N if k is None else k
    # rnnlab draws its frame as qr(normal(key, (N, k))); the NumPy side gets the same normals.
    frame_normal = np.asarray(jr.normal(frame_key, (N, k_eff), dtype=jnp.float64))
    options = LyapunovOptions(
        num_exponents=k,
        dt=DT,
        solver="euler",
        qr_every=QR_EVERY,
        t_burn=T_BURN,
        t_tangent_burn=T_TANGENT_BURN,
        t_obs=t_obs,
    )
    counts = step_counts(DT, QR_EVERY, T_BURN, T_TANGENT_BURN, t_obs, options.num_segments)
    n_burn, n_tangent_burn, n_obs = counts
    h0_jax = jnp.asarray(h0)

    def rnnlab_run():
        return lyapunov_spectrum(net, h0_jax, key=frame_key, options=options)

    def numpy_run():
        return numpy_lyapunov(J, h0, frame_normal, DT, QR_EVERY, *counts)

    def textbook_run():
        return numpy_lyapunov_textbook(J, h0, frame_normal, DT, QR_EVERY, *counts)

    result, first_wall, first_cpu = timed(rnnlab_run)  # compiles
    assert result.running.shape[0] == n_obs, "step counts differ from lyapunov_spectrum's"
    times = {"rnnlab": [], "numpy": [], "numpy_textbook": []}
    cpu = {"rnnlab": [], "numpy": [], "numpy_textbook": []}
    outputs = {}
    # rnnlab and numpy interleaved, so that load changes hit both alike; the (slow,
    # secondary) textbook variant once.
    schedule = [("rnnlab", rnnlab_run), ("numpy", numpy_run)] * repeats
    for side, fn in [*schedule, ("numpy_textbook", textbook_run)]:
        out, wall, cpu_time = timed(fn)
        times[side].append(wall)
        cpu[side].append(cpu_time)
        outputs[side] = out
    rnnlab_exponents = np.asarray(outputs["rnnlab"].exponents)
    agreement = float(np.max(np.abs(outputs["numpy"] - rnnlab_exponents)))
    agreement_textbook = float(np.max(np.abs(outputs["numpy_textbook"] - rnnlab_exponents)))
    assert agreement < TOLERANCE, f"{name}: rnnlab and numpy differ by {agreement:.3g}"
    assert agreement_textbook < TOLERANCE, f"{name}: textbook differs by {agreement_textbook:.3g}"
    wall = {side: min(v) for side, v in times.items()}
    cpu_best = {side: min(v) for side, v in cpu.items()}
    best, first = (cpu_best, first_cpu) if metric == "cpu" else (wall, first_wall)
    return {
        "name": name,
        "headline": headline,
        "N": N,
        "k": k_eff,
        "gain": GAIN,
        "dt": DT,
        "qr_every": QR_EVERY,
        "steps": {
            "burn": n_burn,
            "tangent_burn": n_tangent_burn * QR_EVERY,
            "observed": n_obs * QR_EVERY,
            "qr_factorisations": n_tangent_burn + n_obs,
        },
        "metric": metric,
        "time_s": best,
        "ratio": best["numpy"] / best["rnnlab"],
        "ratio_textbook": best["numpy_textbook"] / best["rnnlab"],
        "rnnlab_compile_s": max(first - best["rnnlab"], 0.0),
        "wall_s": wall,
        "cpu_s": cpu_best,
        "ratio_wall": wall["numpy"] / wall["rnnlab"],
        "ratio_cpu": cpu_best["numpy"] / cpu_best["rnnlab"],
        "rnnlab_first_call_wall_s": first_wall,
        "wall_s_all": times,
        "cpu_s_all": cpu,
        "max_abs_difference": agreement,
        "max_abs_difference_textbook": agreement_textbook,
        "lambda_max": float(rnnlab_exponents[0]),
    }


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], "short run (smoke test)", argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    t_obs = 5.0 if args.quick else T_OBS
    load_before = os.getloadavg()
    started = time.perf_counter()
    # One thread per side: process CPU time is the time the side spent on its core, not
    # counting the time the scheduler gave to other processes. With all threads, wall time.
    metric = "cpu" if args.threads == "1" else "wall"
    cases = [run_case(*case, args.repeats, t_obs, metric) for case in CASES]
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()

    headline = [c for c in cases if c["headline"]]
    ratio = math.exp(sum(math.log(c["ratio"]) for c in headline) / len(headline))

    width = max(len(c["name"]) for c in cases)
    header = (
        f"{'case':<{width}} {'k':>4} {'rnnlab s':>9} {'numpy s':>9} {'ratio':>6} "
        f"{'textbook s':>10} {'ratio':>6} {'compile s':>9} {'wall ratio':>10} {'max|diff|':>9}"
    )
    print(
        f"Lyapunov QR method, RateRNN g={GAIN}, Euler dt={DT}, qr_every={QR_EVERY}; "
        f"threads={args.threads}; times: {metric} seconds, best of {args.repeats} "
        "(textbook: 1 run)"
    )
    print(header)
    print("-" * len(header))
    for c in cases:
        t = c["time_s"]
        print(
            f"{c['name']:<{width}} {c['k']:>4} {t['rnnlab']:>9.4f} {t['numpy']:>9.4f} "
            f"{c['ratio']:>6.2f} {t['numpy_textbook']:>10.4f} {c['ratio_textbook']:>6.2f} "
            f"{c['rnnlab_compile_s']:>9.2f} {c['ratio_wall']:>10.2f} "
            f"{c['max_abs_difference']:>9.1e}"
        )
    steps = cases[0]["steps"]
    print(
        f"steps per case: burn {steps['burn']}, tangent burn {steps['tangent_burn']}, "
        f"observed {steps['observed']} ({steps['qr_factorisations']} QRs); "
        f"load average {load_before[0]:.1f} -> {load_after[0]:.1f}; total {elapsed:.0f} s"
    )
    print(
        f"ratio = geometric mean over the two headline cases of numpy / rnnlab {metric} time; "
        "textbook = numpy forming the dense Jacobian each step (secondary)"
    )

    if not args.no_save:
        record = {
            "benchmark": "lyapunov",
            "command": " ".join(
                ["python", "bench/lyapunov.py", *(sys.argv[1:] if argv is None else argv)]
            ),
            "date": date.today().isoformat(),
            "ratio": ratio,
            "ratio_definition": (
                f"geometric mean over the headline cases of numpy / rnnlab best {metric} time"
            ),
            "metric": metric,
            "tolerance": TOLERANCE,
            "threads": args.threads,
            "repeats": args.repeats,
            "quick": args.quick,
            "cases": cases,
            "machine": {
                "platform": platform.platform(),
                "processor": platform.processor() or platform.machine(),
                "cpu_count": os.cpu_count(),
                "python": sys.version.split()[0],
                "numpy": np.__version__,
                "jax": jax.__version__,
                "jax_devices": [str(d) for d in jax.devices()],
                "load_average_before": load_before,
                "load_average_after": load_after,
            },
            "total_s": elapsed,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
