r"""``chaotic-memories``: a reservoir learns to modify a chaotic attractor from examples.

Reproduces Kim, Lu, Nozari, Pappas & Bassett (2020/2021). A random continuous-time tanh
reservoir $\dot r = \gamma(-r + \tanh(A r + B x + C c + d))$ is driven by copies of the
Lorenz system, each paired with a constant control $c$; a linear readout $\hat x = W r$
is fitted by streaming min-norm least squares (TSQR) and fed back, so that the network
runs on its own with $c$ as its only input. Sub-experiments (spec
``papers/chaotic-memories.md`` §3):

* ``translate``: examples shifted by $c = 0..3$ along $x_1$; the closed loop is scored on
  $c \in [-40, 40]$ (extrapolation 13x the training span), and the same for several
  singular-value cutoffs ``rcond`` of the readout solve;
* ``transform``: $x_1$ scaled by $1 - 0.012c$ (and, in full mode, stretch, shear and
  squeeze variants, each with its own readout on the same reservoir);
* ``bifurcate``: trained on transients at $\rho = 23, 24$ decaying to stable fixed
  points; at $c = 5$ ($\rho = 28$) the network must be chaotic;
* ``mechanism``: the closed loop's own fixed point tracked in $c$, its Jacobian
  eigenvalues, and the $c$ where a complex pair crosses the imaginary axis, against the
  Lorenz Hopf point $\rho_H = 470/19$, i.e. $c_H = 1.737$;
* ``two_controls``: two control inputs translating along $x_1$ and $x_3$;
* ``forecast``: plain Lorenz forecasting at $c = 0$ (valid time in Lyapunov times).

Scoring (spec §4): every grid value is reached by a linear ramp from the $c = 0$
training state, then held; the first ``drop_time`` of the hold is discarded and the rest
is sampled every 0.01. A value *passes* when the output is finite and bounded
($\max\|\hat x\| < 10 D$), the centroid error is at most 0.05, the median forward
distance at most 0.01, the 95th percentile of the coverage distance at most 0.05 (all
relative to the diameter $D$), and the chaos flag $\lambda_1 > 0.1$ equals the truth's.
A closed loop that escapes (non-finite or unbounded output) is recorded as a *failed*
value (its distances are ``inf``, written as ``null``); ``run`` does not raise for it.
"""

import math
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pydantic
from jaxtyping import Array
from scipy.spatial import ConvexHull, cKDTree

from .._blas import single_blas_thread
from .._errors import InvalidInputError
from .._memory import PeakMemory
from ..analysis import (
    FixedPointOptions,
    LyapunovOptions,
    find_fixed_points,
    jacobian_eigenvalues,
    lyapunov_spectrum,
)
from ..learning import ReadoutOptions, fit_readout
from ..models import (
    AbstractContinuousModel,
    ControlledReservoir,
    DrivenReservoir,
    ReservoirInit,
    check_step_size,
    simulate,
    step_map,
)
from ..systems import (
    GROUND_TRUTH,
    Lorenz,
    ParameterShifted,
    Transformed,
    Translated,
    lorenz_hopf_examples,
    lorenz_outer_fixed_point,
    make_examples,
)
from ._base import Experiment, ExperimentConfig, Results, derived_key, metric_key
from ._figures import FigureSaver, pyplot

CITATION = """@article{kim2021teaching,
  title = {Teaching recurrent neural networks to infer global temporal structure from local
           examples},
  author = {Kim, Jason Z. and Lu, Zhixin and Nozari, Erfan and Pappas, George J. and
            Bassett, Danielle S.},
  journal = {Nature Machine Intelligence}, volume = {3}, pages = {316--323}, year = {2021},
  doi = {10.1038/s42256-021-00321-2}, eprint = {2005.01186}
}
@article{demmel2012tsqr,
  title = {Communication-optimal Parallel and Sequential {QR} and {LU} Factorizations},
  author = {Demmel, James and Grigori, Laura and Hoemmen, Mark and Langou, Julien},
  journal = {SIAM Journal on Scientific Computing}, volume = {34}, pages = {A206--A239},
  year = {2012}, doi = {10.1137/080731992}
}
@article{benettin1980lyapunov,
  title = {Lyapunov characteristic exponents for smooth dynamical systems and for
           Hamiltonian systems},
  author = {Benettin, G. and Galgani, L. and Giorgilli, A. and Strelcyn, J.-M.},
  journal = {Meccanica}, volume = {15}, pages = {9--20}, year = {1980},
  doi = {10.1007/BF02128236}
}"""

SUBEXPERIMENTS = ("translate", "transform", "bifurcate", "mechanism", "two_controls", "forecast")
TRANSFORM_VARIANTS = {
    # name: generator T of x -> (I + c T) x (spec §3.2)
    "scale_x1": ((-0.012, 0, 0), (0, 0, 0), (0, 0, 0)),
    "stretch_x3": ((0, 0, 0), (0, 0, 0), (0, 0, 0.012)),
    "shear": ((0, 0, 0), (0.012, 0, 0), (0, 0, 0)),
    "squeeze": ((0.012, 0, 0), (0, -0.012, 0), (0, 0, 0)),
}
GRID = [-40.0, -30.0, -20.0, -10.0, -5.0, 0.0, 1.5, 3.0, 5.0, 10.0, 20.0, 30.0, 40.0]
TWO_CONTROL_EXAMPLES = [
    [0.0, 0.0],
    [1.0, 0.0],
    [2.0, 0.0],
    [3.0, 0.0],
    [0.0, 1.0],
    [0.0, 2.0],
    [0.0, 3.0],
    [1.0, 1.0],
    [2.0, 2.0],
    [3.0, 3.0],
]
LORENZ_LAMBDA = 0.9056  # largest Lyapunov exponent of Lorenz at (10, 28, 8/3)
CHAOS_THRESHOLD = 0.1
THRESHOLDS = {"centroid": 0.05, "distance_median": 0.01, "coverage_p95": 0.05, "bound": 10.0}


class ChaoticMemoriesConfig(ExperimentConfig):
    """Config of ``chaotic-memories``. Times are in Lorenz time units."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    subexperiments: list[str] = pydantic.Field(
        list(SUBEXPERIMENTS), min_length=1, description=f"which of {SUBEXPERIMENTS} to run"
    )
    hidden_size: int = pydantic.Field(450, gt=0, description="N, reservoir units")
    rate: float = pydantic.Field(100.0, gt=0, description="gamma = 1/time constant")
    connectivity: float = pydantic.Field(0.1, gt=0, le=1, description="density of A")
    max_real_eigenvalue: float = pydantic.Field(0.95, description="max Re eig(A)")
    input_scaling: float = pydantic.Field(0.008, ge=0, description="sigma_B")
    control_scaling: float = pydantic.Field(0.004, ge=0, description="sigma_C")
    dt: float = pydantic.Field(0.001, gt=0, description="RK4 step of the training drive")
    closed_loop_dt: float = pydantic.Field(0.001, gt=0, description="RK4 step, closed loop")
    washout: float = pydantic.Field(20.0, ge=0, description="discarded per example")
    train_time: float = pydantic.Field(200.0, gt=0, description="kept per example")
    sample_every: int = pydantic.Field(1, ge=1, description="keep every k-th training state")
    chunk_steps: int = pydantic.Field(5000, ge=1, description="drive steps per QR update")
    source_burn_in: float = pydantic.Field(
        20.0, ge=0, description="Lorenz-only burn-in of x(0) ~ U[0,10]^3 before the drive"
    )
    rcond: float = pydantic.Field(1e-10, gt=0, lt=1, description="singular-value cutoff")
    rcond_sweep: list[float] = pydantic.Field(
        [1e-6, 1e-8, 1e-9, 1e-10, 1e-12, 1e-14], description="cutoffs of the translate sweep"
    )
    rcond_sweep_controls: list[float] = pydantic.Field(
        GRID, min_length=1, description="grid of the cutoff sweep"
    )
    control_values: list[float] = pydantic.Field(
        [0.0, 1.0, 2.0, 3.0], min_length=2, description="training controls (translate/transform)"
    )
    test_controls: list[float] = pydantic.Field(GRID, min_length=1, description="scored grid")
    transform_variants: list[str] = pydantic.Field(
        list(TRANSFORM_VARIANTS), min_length=1, description="linear maps; first one is scored"
    )
    bifurcate_controls: list[float] = pydantic.Field(
        [0.5 * i for i in range(11)], min_length=2, description="rho = 23 + c grid"
    )
    two_control_examples: list[list[float]] = pydantic.Field(
        TWO_CONTROL_EXAMPLES, min_length=3, description="(c1, c2) of the training examples"
    )
    two_control_grid: int = pydantic.Field(9, ge=2, description="g x g grid in [-40,40]x[-30,30]")
    ramp_time: float = pydantic.Field(40.0, gt=0, description="ramp from c = 0 to the value")
    hold_time: float = pydantic.Field(110.0, gt=0, description="hold at the value")
    drop_time: float = pydantic.Field(10.0, ge=0, description="start of the hold not scored")
    reference_time: float = pydantic.Field(1000.0, gt=0, description="length of Ref(c)")
    mechanism_points: int = pydantic.Field(61, ge=3, description="c values in [0, 3]")
    mechanism_bisections: int = pydantic.Field(6, ge=0, description="refinements of c_H")
    forecast_starts: int = pydantic.Field(20, ge=1)
    forecast_warmup: float = pydantic.Field(20.0, gt=0, description="drive before closing")
    forecast_time: float = pydantic.Field(25.0, gt=0, description="closed-loop forecast span")
    lorenz_lyapunov_time: float = pydantic.Field(
        300.0, gt=0, description="t_obs of the true Lorenz lambda_1 per bifurcate value"
    )
    fixed_c_transient: float = pydantic.Field(
        50.0, ge=0, description="transient before the fixed-c lambda_1 (spec §4)"
    )
    fixed_c_time: float = pydantic.Field(
        500.0, gt=0, description="averaging time of the fixed-c lambda_1 (spec §4)"
    )

    @pydantic.field_validator("subexperiments")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in SUBEXPERIMENTS:
                raise ValueError(f"unknown sub-experiment {name!r}; choose from {SUBEXPERIMENTS}")
        return names

    @pydantic.field_validator("transform_variants")
    @classmethod
    def _variants(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in TRANSFORM_VARIANTS:
                raise ValueError(
                    f"unknown variant {name!r}; choose from {list(TRANSFORM_VARIANTS)}"
                )
        return names

    @pydantic.field_validator("two_control_examples")
    @classmethod
    def _pairs(cls, pairs: list[list[float]]) -> list[list[float]]:
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"two_control_examples entry {pair} must be a pair (c1, c2)")
        return pairs

    @pydantic.field_validator("rcond_sweep")
    @classmethod
    def _cutoffs(cls, values: list[float]) -> list[float]:
        for value in values:
            if not 0 < value < 1:
                raise ValueError(f"cutoff {value} must be in (0, 1), e.g. 1e-10")
        return sorted(set(values), reverse=True)

    @pydantic.model_validator(mode="after")
    def _consistent(self):
        if len(set(self.control_values)) != len(self.control_values):
            raise ValueError(f"control_values {self.control_values} must be distinct")
        if self.drop_time >= self.hold_time:
            raise ValueError(f"drop_time={self.drop_time} must be < hold_time={self.hold_time}")
        if self.reference_time < 50.0:
            raise ValueError(
                f"reference_time={self.reference_time} must be >= 50 (the coverage distance "
                "subsamples 5000 reference points, sampled every 0.01)"
            )
        check_step_size(self.rate, self.dt, "rk4")
        check_step_size(self.rate, self.closed_loop_dt, "rk4")
        for name in ("hold_time", "drop_time", "ramp_time"):
            steps = getattr(self, name) / self.closed_loop_dt
            if abs(steps - round(steps)) > 1e-6:
                raise ValueError(f"{name} must be a multiple of closed_loop_dt")
        return self


QUICK = {
    "train_time": 20.0,
    "washout": 2.0,
    "sample_every": 10,
    "closed_loop_dt": 0.005,
    "rcond_sweep": [1e-6, 1e-10, 1e-14],
    "rcond_sweep_controls": [-40.0, -10.0, 10.0, 40.0],
    "transform_variants": ["scale_x1"],
    "bifurcate_controls": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
    "two_control_grid": 3,
    "ramp_time": 10.0,
    "hold_time": 50.0,
    "drop_time": 10.0,
    "reference_time": 200.0,
    "mechanism_points": 16,
    "mechanism_bisections": 4,
    "forecast_starts": 8,
    "forecast_warmup": 5.0,
    "forecast_time": 30.0,
    "lorenz_lyapunov_time": 100.0,
    "fixed_c_transient": 10.0,
    "fixed_c_time": 100.0,
}

_SCORE_DOC = (
    "fraction of the grid that passes (finite, bounded, centroid <= 0.05 D, median forward "
    "distance <= 0.01 D, p95 coverage <= 0.05 D, chaos flag as the truth's); an escaping "
    "closed loop counts as failed"
)
METRICS = {
    "<sub>.success_fraction": _SCORE_DOC + "; <sub> = translate, transform, two_controls",
    "<sub>.centroid_error_max": "max over the grid of |mid-range(x^) - mid-range(Ref)| / D "
    "(null if a value escaped)",
    "<sub>.distance_median_max": "max over the grid of the median forward distance / D",
    "<sub>.coverage_p95_max": "max over the grid of the p95 coverage distance / D",
    "<sub>.lyapunov_min": "min over the grid of the closed-loop lambda_1 (Benettin, hold)",
    "<sub>.<quantity>.c=<value>": "per grid value: centroid_error, distance_median, "
    "coverage_p95, lyapunov, passed, shift (translate: signed shift of the centre along x1)",
    "transform.<variant>.success_fraction": "full mode: the same for each linear map",
    "readout_cutoff.success_fraction.rcond=<r>": "translate pass fraction on "
    "rcond_sweep_controls with the readout solved at cutoff r (same TSQR factor)",
    "readout_cutoff.rank.rcond=<r>": "rank kept at cutoff r",
    "bifurcate.lyapunov_max_c0": "closed-loop lambda_1 at fixed c = 0 (rho 23: stable point), "
    "Benettin over fixed_c_time after fixed_c_transient from the up-ramp's end state",
    "bifurcate.lyapunov_max_c5": "closed-loop lambda_1 at fixed c = 5 (rho 28: Lorenz 0.906), "
    "likewise",
    "bifurcate.lyapunov_max_<c0|c5>_stderr": "its standard error (segments)",
    "bifurcate.lyapunov_max_<c0|c5>_hold": "lambda_1 over the up-ramp's scored hold window",
    "bifurcate.lyapunov_max.c=<c>": "closed-loop lambda_1 on the grid (up-ramp from c = 0)",
    "bifurcate.lyapunov_max_down.c=<c>": "closed-loop lambda_1 on the grid, ramping down "
    "from the state held at the largest c (hysteresis)",
    "bifurcate.lyapunov_max_c0_return": "lambda_1 back at c = 0 after the down-ramp (a "
    "stable point again: < 0)",
    "bifurcate.lyapunov_lorenz_down.c=<c>": "lambda_1 of the true Lorenz under the same "
    "down-ramp schedule (rho = 23 + c(t)), from its attractor at the largest c",
    "bifurcate.chaos_flag_agreement_down": "fraction of the down-ramp grid where the "
    "network's chaos flag (lambda_1 > 0.1) equals the true Lorenz's under that schedule",
    "transform.covariance_error_max": "max over the grid of ||Cov(x^) - M Cov0 M^T||_F / "
    "||M Cov0 M^T||_F, M = I + cT (spec §3.2; inf/null if a value escaped)",
    "transform.covariance_error.c=<c>": "that error per grid value",
    "bifurcate.lyapunov_lorenz.c=<c>": "true Lorenz lambda_1 at rho = 23 + c: leading Re "
    "eigenvalue of the stable point C+ for c <= c_H, QR estimate on the attractor above",
    "bifurcate.c5_passed": "c = 5 passes the attractor test against the rho = 28 reference",
    "bifurcate.c5_distance_median": "median forward distance / D at c = 5",
    "mechanism.hopf_c_predicted": "c where the leading complex pair of the closed loop's "
    "fixed point crosses Re = 0 (continuation from the rho = 23 training state); null if none",
    "mechanism.hopf_c_true": "Lorenz Hopf point rho_H - 23 = 470/19 - 23",
    "mechanism.hopf_c_gap": "hopf_c_predicted - hopf_c_true",
    "mechanism.branch_error_max": "max_c |W r_fp(c) - C+(23 + c)| over c < c_H (true)",
    "forecast.valid_time_lyapunov": "median valid prediction time (e > 0.4) in Lyapunov "
    "times, translate readout at c = 0, censored at forecast_time",
    "forecast.valid_time": "the same in time units",
    "train.peak_memory_mb": "peak resident memory of the process during training (MiB; "
    "the kernel's high-water mark, reset when training starts; rnnlab._memory)",
    "train.memory_increase_mb": "that peak minus the resident memory when training started",
    "train.rank.<readout>": "effective rank of the readout solve",
    "train.rms_error.<readout>": "root-mean-square training error of W r",
    "reference.<quantity>_truth": "truth vs truth control: a second Lorenz reference scored "
    "against the first (centroid_error, distance_median, coverage_p95)",
    "reference.diameter": "D of the rho = 28 reference",
}


# --------------------------------------------------------------------------------------
# Training


def _reservoir(config, key, control_size=1, input_scaling=None, control_scaling=None):
    init = ReservoirInit(
        connectivity=config.connectivity,
        max_real_eigenvalue=config.max_real_eigenvalue,
        input_scaling=config.input_scaling if input_scaling is None else input_scaling,
        control_scaling=config.control_scaling if control_scaling is None else control_scaling,
    )
    return ControlledReservoir.random(
        key=key,
        hidden_size=config.hidden_size,
        control_size=control_size,
        rate=config.rate,
        init=init,
    )


def _lorenz_start(config, key) -> Array:
    """x(0) ~ U[0, 10]^3 (the authors' draw), then ``source_burn_in`` of Lorenz alone."""
    x0 = jr.uniform(key, (3,), jnp.float64, 0.0, 10.0)
    if config.source_burn_in <= 0:
        return x0
    ts = jnp.array([0.0, config.source_burn_in])
    return simulate(Lorenz(), x0, ts, options=GROUND_TRUTH).states[-1]


def _fit(config, reservoir, source, examples, rconds, advance):
    """Drive the examples back to back (:func:`rnnlab.learning.fit_readout`) and solve the
    one TSQR factor at every cutoff in ``rconds``: the factor does not depend on the
    cutoff. Returns (solutions in the order of ``rconds``, final reservoir states)."""
    options = ReadoutOptions(
        dt=config.dt,
        solver="rk4",
        washout=config.washout,
        train_time=config.train_time,
        chunk_steps=config.chunk_steps,
        sample_every=config.sample_every,
        rcond=rconds[0],
    )
    fit = fit_readout(reservoir, source, examples, options=options, progress=advance)
    solutions = [fit.solution, *(fit.resolve(rcond=rc) for rc in rconds[1:])]
    return solutions, fit.final_states


# --------------------------------------------------------------------------------------
# Closed loop on a batch of control values


class _Ramp(eqx.Module):
    """c(t) = start + (target - start) clip(t / duration, 0, 1): a ramp, then a hold."""

    start: Array
    target: Array
    duration: Array

    def __call__(self, t):
        return self.start + (self.target - self.start) * jnp.clip(t / self.duration, 0.0, 1.0)


@eqx.filter_jit
def _closed_loop(
    loop, r0, start, targets, frames, dt, ramp_steps, drop_steps, align_steps, blocks, save_every
):
    """Ramp from ``start`` to each target, drop, then record outputs every ``save_every``
    steps for ``blocks`` blocks while pushing one tangent vector (Benettin lambda_1 over
    the record). Returns outputs, lambda_1 and the final state per target."""

    def one(target, frame):
        schedule = _Ramp(start, target, jnp.asarray(ramp_steps * dt, jnp.float64))
        step, _ = step_map(loop, dt=dt, solver="rk4", args=schedule)

        def plain(carry, _):
            t, r = carry
            return (t + dt, step(t, r)), None

        def tangent(carry, _):
            t, r, v, logs = carry
            r, v = jax.jvp(lambda y: step(t, y), (r,), (v,))
            norm = jnp.linalg.norm(v)
            return (t + dt, r, v / norm, logs + jnp.log(norm)), None

        def block(carry, _):
            carry, _ = jax.lax.scan(tangent, carry, None, length=save_every)
            return carry, loop.output(carry[1])

        zero = jnp.zeros((), jnp.float64)
        (t, r), _ = jax.lax.scan(plain, (zero, r0), None, length=ramp_steps + drop_steps)
        # align the tangent vector for one time unit before recording (inside the drop)
        (t, r, v, _), _ = jax.lax.scan(tangent, (t, r, frame, zero), None, length=align_steps)
        (t, r, v, logs), outputs = jax.lax.scan(block, (t, r, v, zero), None, length=blocks)
        return outputs, logs / (blocks * save_every * dt), r

    return jax.vmap(one)(targets, frames)


class _Scheduled(AbstractContinuousModel):
    """A controlled system whose control follows ``args(t)`` (a :class:`_Ramp`): the true
    system under the closed loop's schedule, run through the same :func:`_closed_loop`."""

    source: ParameterShifted

    @property
    def state_size(self) -> int:
        return self.source.state_size

    def vector_field(self, t, state, args):
        return self.source.vector_field(t, state, args(t))

    def output(self, state):
        return state


def _evaluate(config, loop, r0, targets, key, *, start=None, final_states=False):
    """Outputs (B, samples, 3) in the scored window and lambda_1 (B,) per target, the
    control ramping from ``start`` (default 0) to each target; with ``final_states`` also
    the closed loop's state at the end of each hold (B, N)."""
    dt = config.closed_loop_dt
    save_every = max(1, round(0.01 / dt))
    blocks = round((config.hold_time - config.drop_time) / (save_every * dt))
    targets = jnp.asarray(targets, jnp.float64).reshape(len(targets), -1)
    start = jnp.zeros(targets.shape[1]) if start is None else jnp.asarray(start, jnp.float64)
    frames = jr.normal(key, (targets.shape[0], loop.state_size), jnp.float64)
    align = min(round(1.0 / dt), round(config.drop_time / dt))
    outputs, lyapunov, finals = _closed_loop(
        loop,
        r0,
        start.reshape(targets.shape[1]),
        targets,
        frames,
        dt,
        round(config.ramp_time / dt),
        round(config.drop_time / dt) - align,
        align,
        blocks,
        save_every,
    )
    if final_states:
        return np.asarray(outputs), np.asarray(lyapunov), finals
    return np.asarray(outputs), np.asarray(lyapunov)


# --------------------------------------------------------------------------------------
# References and scores (spec §4)


def _reference(config, key) -> np.ndarray:
    """Lorenz (rho = 28) for ``reference_time`` after a 50-unit transient, every 0.01."""
    x0 = jr.uniform(key, (3,), jnp.float64, 0.0, 10.0) + jnp.array([0.0, 0.0, 10.0])
    ts = 50.0 + jnp.arange(round(config.reference_time / 0.01) + 1, dtype=jnp.float64) * 0.01
    x50 = simulate(Lorenz(), x0, jnp.array([0.0, 50.0]), options=GROUND_TRUTH).states[-1]
    trajectory = simulate(Lorenz(), x50, ts, options=GROUND_TRUTH)
    return np.asarray(trajectory.raise_if_diverged("Lorenz reference").states)


def _midrange(points: np.ndarray) -> np.ndarray:
    return 0.5 * (np.percentile(points, 1, axis=0) + np.percentile(points, 99, axis=0))


def _diameter(points: np.ndarray) -> float:
    hull = points[ConvexHull(points, qhull_options="QJ").vertices]  # joggled: flat sets too
    differences = hull[:, None, :] - hull[None, :, :]
    return float(np.sqrt(np.max(np.sum(differences**2, axis=-1))))


class _Target:
    """Ref(c) with its k-d tree, coverage subsample, centre and diameter."""

    def __init__(self, points: np.ndarray, subsample: np.ndarray):
        self.points = points
        self.tree = cKDTree(points)
        self.subsample = points[subsample]
        self.centre = _midrange(points)
        self.diameter = _diameter(self.subsample)


#: log10 bins of the forward-distance histograms (spec §4: "the log10 histogram").
HISTOGRAM_BINS = np.linspace(-5.0, 0.0, 51)


def _spacing_histogram(reference: np.ndarray, diameter: float) -> np.ndarray:
    """log10 histogram of consecutive-sample spacing of Ref (every 0.01) over D: the
    authors' baseline for forward distances (spec §4)."""
    spacing = np.linalg.norm(np.diff(reference, axis=0), axis=1) / diameter
    return np.histogram(np.log10(np.maximum(spacing, 1e-12)), HISTOGRAM_BINS)[0]


def _covariance_error(prediction: np.ndarray, matrix: np.ndarray, cov0: np.ndarray) -> float:
    """||Cov(x^) - M Cov0 M^T||_F / ||M Cov0 M^T||_F (spec §3.2); inf if not finite."""
    if not np.all(np.isfinite(prediction)):
        return math.inf
    expected = matrix @ cov0 @ matrix.T
    return float(np.linalg.norm(np.cov(prediction.T) - expected) / np.linalg.norm(expected))


def _score(prediction: np.ndarray, target: _Target, lyapunov: float, chaotic) -> dict:
    """Spec §4 metrics of one hold; ``chaotic`` None accepts either chaos flag."""
    d = target.diameter
    bounded = bool(np.all(np.isfinite(prediction))) and bool(
        np.max(np.linalg.norm(prediction, axis=-1)) < THRESHOLDS["bound"] * d
    )
    if not bounded:
        inf = math.inf
        return dict(
            centroid_error=inf,
            distance_median=inf,
            distance_p95=inf,
            coverage_p95=inf,
            lyapunov=lyapunov,
            centre=np.full(3, np.nan),
            passed=False,
            bounded=False,
            forward_histogram=np.zeros(len(HISTOGRAM_BINS) - 1, int),
        )
    centre = _midrange(prediction)
    forward = target.tree.query(prediction)[0] / d
    histogram = np.histogram(np.log10(np.maximum(forward, 1e-12)), HISTOGRAM_BINS)[0]
    coverage = cKDTree(prediction).query(target.subsample)[0] / d
    result = dict(
        centroid_error=float(np.linalg.norm(centre - target.centre) / d),
        distance_median=float(np.median(forward)),
        distance_p95=float(np.percentile(forward, 95)),
        coverage_p95=float(np.percentile(coverage, 95)),
        lyapunov=float(lyapunov),
        centre=centre,
        bounded=True,
        forward_histogram=histogram,
    )
    chaos_ok = chaotic is None or (bool(lyapunov > CHAOS_THRESHOLD) == bool(chaotic))
    result["passed"] = bool(
        result["centroid_error"] <= THRESHOLDS["centroid"]
        and result["distance_median"] <= THRESHOLDS["distance_median"]
        and result["coverage_p95"] <= THRESHOLDS["coverage_p95"]
        and chaos_ok
    )
    return result


def _summarise(metrics, prefix, controls, scores, shift_axis=None, origin=None):
    """Per-value and grid-level metrics of one scored grid."""
    for c, s in zip(controls, scores, strict=True):
        label = ",".join(f"{float(v)!r}" for v in np.atleast_1d(c))
        for name in ("centroid_error", "distance_median", "coverage_p95", "lyapunov", "passed"):
            metrics[f"{prefix}.{name}.c={label}"] = s[name]
        if shift_axis is not None:
            metrics[f"{prefix}.shift.c={label}"] = float(s["centre"][shift_axis] - origin)
    metrics[f"{prefix}.success_fraction"] = float(np.mean([s["passed"] for s in scores]))
    for name, key in (
        ("centroid_error_max", "centroid_error"),
        ("distance_median_max", "distance_median"),
        ("coverage_p95_max", "coverage_p95"),
    ):
        metrics[f"{prefix}.{name}"] = float(max(s[key] for s in scores))
    metrics[f"{prefix}.lyapunov_min"] = float(min(s["lyapunov"] for s in scores))


# --------------------------------------------------------------------------------------
# run


def run(config: ChaoticMemoriesConfig, *, key, progress) -> Results:
    """Train every requested sub-experiment, close the loops and score them.

    LAPACK runs on one OpenBLAS thread throughout (QR, SVD, eig; see rnnlab._blas).
    """
    if not jax.config.read("jax_enable_x64"):
        raise InvalidInputError(
            "chaotic-memories runs in float64: call "
            'jax.config.update("jax_enable_x64", True) first (the rnnlab CLI does)'
        )
    with single_blas_thread():
        return _run(config, key=key, progress=progress)


def _run(config: ChaoticMemoriesConfig, *, key, progress) -> Results:
    metrics: dict = {}
    arrays: dict[str, np.ndarray] = {}
    subs = set(config.subexperiments)
    if "mechanism" in subs:
        subs.add("bifurcate")
    if "forecast" in subs:
        subs.add("translate")
    e1, e3 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
    lorenz_start = _lorenz_start(config, derived_key(key, 1))
    reference = _reference(config, derived_key(key, 2))
    subsample = np.asarray(
        jr.choice(derived_key(key, 3), reference.shape[0], (5000,), replace=False)
    )
    base = _Target(reference, subsample)
    origin = base.centre[0]
    metrics["reference.diameter"] = base.diameter
    control = _reference(config, derived_key(key, 4))
    truth = _score(control, base, LORENZ_LAMBDA, None)
    for name in ("centroid_error", "distance_median", "coverage_p95"):
        metrics[f"reference.{name}_truth"] = truth[name]
    arrays["reference"] = reference[::10]
    translate_reservoir = _reservoir(config, derived_key(key, 10))
    readouts: dict = {}

    # ---- training --------------------------------------------------------------------
    per_example = round((config.washout + config.train_time) / config.dt)
    plan = []
    if subs & {"translate", "transform"}:
        plan += [("translate", 1)] if "translate" in subs else []
        plan += [(f"transform.{v}", 1) for v in config.transform_variants if "transform" in subs]
    total = per_example * (
        len(config.control_values) * len(plan)
        + (4 if "bifurcate" in subs else 0)
        + (len(config.two_control_examples) if "two_controls" in subs else 0)
    )
    with PeakMemory() as memory, progress.task("chaotic-memories: train", total) as advance:
        if "translate" in subs:
            source = Translated(Lorenz(), e1)
            examples = make_examples(source, lorenz_start, jnp.array(config.control_values))
            rconds = sorted({config.rcond, *config.rcond_sweep}, reverse=True)
            solutions, finals = _fit(
                config, translate_reservoir, source, examples, rconds, advance
            )
            by_rcond = dict(zip(rconds, solutions, strict=True))
            readouts["translate"] = (translate_reservoir, by_rcond[config.rcond], finals)
            readouts["translate.sweep"] = by_rcond
        if "transform" in subs:
            for variant in config.transform_variants:
                source = Transformed(Lorenz(), jnp.array(TRANSFORM_VARIANTS[variant]))
                examples = make_examples(source, lorenz_start, jnp.array(config.control_values))
                (solution,), finals = _fit(
                    config, translate_reservoir, source, examples, [config.rcond], advance
                )
                readouts[f"transform.{variant}"] = (translate_reservoir, solution, finals)
        if "bifurcate" in subs:
            source = ParameterShifted(Lorenz(rho=23.0), ("rho",), [[1.0]])
            examples = lorenz_hopf_examples(source)
            (solution,), finals = _fit(
                config, translate_reservoir, source, examples, [config.rcond], advance
            )
            readouts["bifurcate"] = (translate_reservoir, solution, finals)
        if "two_controls" in subs:
            reservoir = _reservoir(
                config,
                derived_key(key, 11),
                control_size=2,
                input_scaling=config.input_scaling / 2,
                control_scaling=config.control_scaling / 2,
            )
            source = Translated(Lorenz(), np.stack([e1, e3], axis=1))
            examples = make_examples(source, lorenz_start, jnp.array(config.two_control_examples))
            (solution,), finals = _fit(
                config, reservoir, source, examples, [config.rcond], advance
            )
            readouts["two_controls"] = (reservoir, solution, finals)
    metrics["train.peak_memory_mb"] = memory.peak_mb
    metrics["train.memory_increase_mb"] = memory.increase_mb
    for name, value in readouts.items():
        if name != "translate.sweep":
            metrics[f"train.rank.{name}"] = int(value[1].rank)
            samples = max(int(value[1].num_samples), 1)
            metrics[f"train.rms_error.{name}"] = float(value[1].residual_norm) / math.sqrt(
                3 * samples
            )

    # ---- closed loops --------------------------------------------------------------------
    jobs = (
        sum(name in subs for name in ("translate", "transform", "bifurcate", "two_controls"))
        + ("mechanism" in subs)
        + ("forecast" in subs)
        + ("translate" in subs)
    )
    with progress.task("chaotic-memories: closed loop", jobs) as advance:
        if "translate" in subs:
            reservoir, solution, finals = readouts["translate"]
            loop = reservoir.close_loop(solution.weights)
            outputs, lyap = _evaluate(
                config, loop, finals[0], config.test_controls, derived_key(key, 20)
            )
            scores = []
            for c, out, lam in zip(config.test_controls, outputs, lyap, strict=True):
                scores.append(_score(out - c * e1, base, lam, True))
                if scores[-1]["bounded"]:
                    scores[-1]["centre"] = scores[-1]["centre"] + c * e1
            _summarise(metrics, "translate", config.test_controls, scores, 0, origin)
            arrays["translate.controls"] = np.array(config.test_controls)
            arrays["translate.outputs"] = outputs[:, ::5]
            arrays["translate.shift"] = np.array(
                [s["centre"][0] - origin for s in scores], dtype=float
            )
            arrays["translate.passed"] = np.array([s["passed"] for s in scores])
            arrays["translate.forward_histogram"] = np.array(
                [s["forward_histogram"] for s in scores]
            )
            arrays["reference.spacing_histogram"] = _spacing_histogram(reference, base.diameter)
            arrays["histogram_bins"] = HISTOGRAM_BINS
            advance(1)
            # cutoff sweep: same factor, other cutoffs
            fractions, ranks, errors = [], [], []
            for rc, sol in readouts["translate.sweep"].items():
                if rc not in config.rcond_sweep:
                    continue
                main = dict(zip(config.test_controls, scores, strict=True))
                if rc == config.rcond and set(config.rcond_sweep_controls) <= set(main):
                    sweep = [main[c] for c in config.rcond_sweep_controls]  # already run
                else:
                    outs, lams = _evaluate(
                        config,
                        reservoir.close_loop(sol.weights),
                        finals[0],
                        config.rcond_sweep_controls,
                        derived_key(key, 21),
                    )
                    sweep = [
                        _score(o - c * e1, base, lam, True)
                        for c, o, lam in zip(config.rcond_sweep_controls, outs, lams, strict=True)
                    ]
                fractions.append(np.mean([s["passed"] for s in sweep]))
                ranks.append(int(sol.rank))
                errors.append(max(s["centroid_error"] for s in sweep))
                metrics[metric_key("readout_cutoff.success_fraction.rcond", rc)] = fractions[-1]
                metrics[metric_key("readout_cutoff.rank.rcond", rc)] = ranks[-1]
                metrics[metric_key("readout_cutoff.centroid_error_max.rcond", rc)] = errors[-1]
            arrays["readout_cutoff.rcond"] = np.array(
                [rc for rc in readouts["translate.sweep"] if rc in config.rcond_sweep]
            )
            arrays["readout_cutoff.success_fraction"] = np.array(fractions)
            arrays["readout_cutoff.rank"] = np.array(ranks)
            arrays["readout_cutoff.centroid_error_max"] = np.array(errors)
            arrays["translate.singular_values"] = np.asarray(solution.singular_values)
            advance(1)
        if "transform" in subs:
            cov0 = np.cov(reference.T)
            for index, variant in enumerate(config.transform_variants):
                reservoir, solution, finals = readouts[f"transform.{variant}"]
                loop = reservoir.close_loop(solution.weights)
                outputs, lyap = _evaluate(
                    config, loop, finals[0], config.test_controls, derived_key(key, 30, index)
                )
                generator = np.array(TRANSFORM_VARIANTS[variant])
                scores, widths, covariance = [], [], []
                for c, out, lam in zip(config.test_controls, outputs, lyap, strict=True):
                    matrix = np.eye(3) + c * generator
                    target = _Target(reference @ matrix.T, subsample)
                    scores.append(_score(out, target, lam, True))
                    covariance.append(
                        _covariance_error(out, matrix, cov0) if scores[-1]["bounded"] else math.inf
                    )
                    spread = np.percentile(out, 99, axis=0) - np.percentile(out, 1, axis=0)
                    truth_spread = np.percentile(reference, 99, 0) - np.percentile(reference, 1, 0)
                    widths.append(spread / truth_spread)
                prefix = "transform" if index == 0 else f"transform.{variant}"
                _summarise(metrics, prefix, config.test_controls, scores)
                for c, error in zip(config.test_controls, covariance, strict=True):
                    metrics[metric_key(f"{prefix}.covariance_error.c", c)] = error
                metrics[f"{prefix}.covariance_error_max"] = float(max(covariance))
                arrays[f"transform.{variant}.covariance_error"] = np.array(covariance)
                arrays[f"transform.{variant}.widths"] = np.array(widths)
                arrays[f"transform.{variant}.passed"] = np.array([s["passed"] for s in scores])
                arrays[f"transform.{variant}.outputs"] = outputs[:, ::5]
            arrays["transform.controls"] = np.array(config.test_controls)
            advance(1)
        if "bifurcate" in subs:
            _bifurcate(config, readouts["bifurcate"], base, key, metrics, arrays)
            advance(1)
        if "mechanism" in subs:
            _mechanism(config, readouts["bifurcate"], metrics, arrays)
            advance(1)
        if "two_controls" in subs:
            reservoir, solution, finals = readouts["two_controls"]
            loop = reservoir.close_loop(solution.weights)
            c1 = np.linspace(-40.0, 40.0, config.two_control_grid)
            c2 = np.linspace(-30.0, 30.0, config.two_control_grid)
            grid = np.array([[a, b] for a in c1 for b in c2])
            outputs, lyap = _evaluate(config, loop, finals[0], grid, derived_key(key, 50))
            scores = []
            for (a, b), out, lam in zip(grid, outputs, lyap, strict=True):
                scores.append(_score(out - a * e1 - b * e3, base, lam, True))
            _summarise(metrics, "two_controls", [tuple(g) for g in grid], scores)
            arrays["two_controls.grid"] = grid
            arrays["two_controls.passed"] = np.array([s["passed"] for s in scores])
            arrays["two_controls.centres"] = np.array(
                [s["centre"] + (a * e1 + b * e3) for (a, b), s in zip(grid, scores, strict=True)]
            )
            advance(1)
        if "forecast" in subs:
            _forecast(config, readouts["translate"], reference, key, metrics, arrays)
            advance(1)
    return Results(metrics, arrays)


def _bifurcate(config, readout, base, key, metrics, arrays):
    reservoir, solution, finals = readout
    loop = reservoir.close_loop(solution.weights)
    controls = list(config.bifurcate_controls)
    outputs, lyap, ends = _evaluate(
        config, loop, finals[0], controls, derived_key(key, 40), final_states=True
    )
    # Down-ramp (hysteresis, spec §3.3): from the state held at the largest c, ramp down
    # to each value; the Lorenz Hopf is subcritical, so chaos may persist down to c = 1.06.
    # The truth is the Lorenz under the same schedule (rho = 23 + c(t)) from its own
    # attractor at the largest c: its chaos can outlive the ramp as transient chaos.
    top = int(np.argmax(controls))
    _, lyap_down = _evaluate(
        config, loop, ends[top], controls, derived_key(key, 42), start=[controls[top]]
    )
    lorenz_top = simulate(
        Lorenz(rho=23.0 + controls[top]),
        jnp.array([1.0, 1.0, 20.0]),
        jnp.array([0.0, 50.0]),
        options=GROUND_TRUTH,
    ).states[-1]
    _, truth_down = _evaluate(
        config,
        _Scheduled(ParameterShifted(Lorenz(rho=23.0), ("rho",), [[1.0]])),
        lorenz_top,
        controls,
        derived_key(key, 43),
        start=[controls[top]],
    )
    hopf = Lorenz().hopf_rho() - 23.0
    truth = []
    for i, c in enumerate(controls):
        if c <= hopf:  # stable fixed points (what training showed): leading Re of eig
            lorenz = Lorenz(rho=23.0 + c)
            point = jnp.asarray(lorenz_outer_fixed_point(10.0, 23.0 + c, 8.0 / 3.0, 1.0))
            eig = jacobian_eigenvalues(lorenz, point)
            truth.append(float(np.max(eig.real)))
        else:  # chaotic attractor (transient chaos below rho_H can last hundreds of units)
            result = lyapunov_spectrum(
                Lorenz(rho=23.0 + c),
                jnp.array([1.0, 1.0, 20.0]),
                key=derived_key(key, 41, i),
                options=LyapunovOptions(
                    num_exponents=1, dt=0.01, t_burn=50.0, t_obs=config.lorenz_lyapunov_time
                ),
            )
            truth.append(float(result.exponents[0]))
        metrics[metric_key("bifurcate.lyapunov_max.c", c)] = float(lyap[i])
        metrics[metric_key("bifurcate.lyapunov_max_down.c", c)] = float(lyap_down[i])
        metrics[metric_key("bifurcate.lyapunov_lorenz_down.c", c)] = float(truth_down[i])
        metrics[metric_key("bifurcate.lyapunov_lorenz.c", c)] = truth[-1]
    index0 = int(np.argmin(np.abs(np.array(controls) - 0.0)))
    index5 = int(np.argmin(np.abs(np.array(controls) - 5.0)))
    # The headline exponents at c = 0 and 5 follow spec §4: Benettin at fixed c from the
    # state at the end of the up-ramp's hold, ``fixed_c_transient`` then ``fixed_c_time``
    # (the hold-window values above include the slow escape from the unstable focus after
    # the subcritical Hopf, the "delayed bifurcation" of a ramp).
    for name, index, value in (("c0", index0, 0.0), ("c5", index5, 5.0)):
        if abs(controls[index] - value) > 1e-9:
            metrics[f"bifurcate.lyapunov_max_{name}"] = None
            continue
        fixed = lyapunov_spectrum(
            loop,
            ends[index],
            key=derived_key(key, 44, index),
            args=jnp.array([value]),
            options=LyapunovOptions(
                num_exponents=1,
                dt=config.closed_loop_dt,
                t_burn=config.fixed_c_transient,
                t_tangent_burn=min(10.0, config.fixed_c_transient),
                t_obs=config.fixed_c_time,
            ),
        )
        metrics[f"bifurcate.lyapunov_max_{name}"] = float(fixed.exponents[0])
        metrics[f"bifurcate.lyapunov_max_{name}_stderr"] = float(fixed.standard_error[0])
        metrics[f"bifurcate.lyapunov_max_{name}_hold"] = float(lyap[index])
    metrics["bifurcate.lyapunov_max_c0_return"] = (
        float(lyap_down[index0]) if abs(controls[index0]) < 1e-9 else None
    )
    if abs(controls[index5] - 5.0) < 1e-9:
        score = _score(outputs[index5], base, lyap[index5], True)
        metrics["bifurcate.c5_passed"] = score["passed"]
        metrics["bifurcate.c5_distance_median"] = score["distance_median"]
        metrics["bifurcate.c5_centroid_error"] = score["centroid_error"]
    flags = [
        None if 1.06 <= c <= hopf else (c > hopf) for c in controls
    ]  # bistable window: either answer
    agree = [f is None or (lam > CHAOS_THRESHOLD) == f for f, lam in zip(flags, lyap, strict=True)]
    metrics["bifurcate.chaos_flag_agreement"] = float(np.mean(agree))
    agree_down = (lyap_down > CHAOS_THRESHOLD) == (truth_down > CHAOS_THRESHOLD)
    metrics["bifurcate.chaos_flag_agreement_down"] = float(np.mean(agree_down))
    arrays["bifurcate.lyapunov_down"] = np.asarray(lyap_down)
    arrays["bifurcate.lyapunov_lorenz_down"] = np.asarray(truth_down)
    arrays["bifurcate.controls"] = np.array(controls)
    arrays["bifurcate.lyapunov"] = np.asarray(lyap)
    arrays["bifurcate.lyapunov_lorenz"] = np.array(truth)
    arrays["bifurcate.outputs"] = outputs[:, ::5]


def _mechanism(config, readout, metrics, arrays):
    """Continuation of the closed loop's fixed point in c; leading eigenvalues; c_H."""
    reservoir, solution, finals = readout
    loop = reservoir.close_loop(solution.weights)
    hopf_true = Lorenz().hopf_rho() - 23.0
    first = FixedPointOptions(adam_steps=0, newton_steps=50)  # start is near the point
    follow = FixedPointOptions(adam_steps=0, newton_steps=10)

    def solve(c, start, options):
        found = find_fixed_points(loop, start[None], options=options, args=jnp.array([c]))
        if not found.converged[0]:
            return None, None
        point = found.candidates[0]
        eig = found.eigenvalues[0] if len(found.eigenvalues) else None
        return point, eig

    def leading(eig):
        """Largest real part among complex eigenvalues (Im > 1e-6), and its pair."""
        complex_ = eig[np.abs(eig.imag) > 1e-6]
        return complex_[np.argmax(complex_.real)] if complex_.size else np.nan

    controls = np.linspace(0.0, 3.0, config.mechanism_points)
    start = np.asarray(finals[0])
    points, leads, branch = [], [], []
    for i, c in enumerate(controls):
        point, eig = solve(float(c), jnp.asarray(start), first if i == 0 else follow)
        if point is None:  # P7: restart from the last converged point with more effort
            point, eig = solve(float(c), jnp.asarray(start), first)
        if point is None:
            break
        start = point
        points.append(point)
        leads.append(leading(eig / reservoir.rate))
        output = np.asarray(loop.output(jnp.asarray(point)))
        branch.append(np.linalg.norm(output - lorenz_outer_fixed_point(10, 23 + c, 8 / 3, 1)))
    controls = controls[: len(leads)]
    leads = np.array(leads, dtype=complex)
    crossing = None
    above = np.nonzero(leads.real > 0)[0]
    if above.size and above[0] > 0:
        lo, hi = controls[above[0] - 1], controls[above[0]]
        start_lo = points[above[0] - 1]
        for _ in range(config.mechanism_bisections):
            mid = 0.5 * (lo + hi)
            point, eig = solve(float(mid), jnp.asarray(start_lo), follow)
            if point is None:
                break
            if leading(eig / reservoir.rate).real > 0:
                hi = mid
            else:
                lo, start_lo = mid, point
        # linear interpolation of Re(lambda) inside the last bracket
        crossing = float(0.5 * (lo + hi))
    metrics["mechanism.hopf_c_predicted"] = crossing
    metrics["mechanism.hopf_c_true"] = float(hopf_true)
    metrics["mechanism.hopf_c_gap"] = None if crossing is None else crossing - hopf_true
    below = controls < hopf_true
    metrics["mechanism.branch_error_max"] = (
        float(np.max(np.array(branch)[below])) if below.any() else None
    )
    metrics["mechanism.branch_points"] = len(leads)
    arrays["mechanism.controls"] = controls
    arrays["mechanism.leading_eigenvalue"] = leads
    arrays["mechanism.branch_error"] = np.array(branch)
    if points:
        eig = np.linalg.eigvals(
            np.asarray(
                jax.jacfwd(lambda r: loop.vector_field(0.0, r, jnp.array([3.0])))(
                    jnp.asarray(points[-1])
                )
            )
        )
        arrays["mechanism.eigenvalues_last"] = eig / reservoir.rate


def _forecast(config, readout, reference, key, metrics, arrays):
    """Drive with the true Lorenz for ``forecast_warmup``, close the loop at c = 0 and
    measure the valid prediction time against the true continuation."""
    reservoir, solution, finals = readout
    loop = reservoir.close_loop(solution.weights)
    source = Translated(Lorenz(), jnp.array([1.0, 0.0, 0.0]))
    driven = DrivenReservoir(reservoir, source)
    dt = config.closed_loop_dt
    save_every = max(1, round(0.01 / dt))
    picks = np.asarray(
        jr.choice(derived_key(key, 60), reference.shape[0], (config.forecast_starts,), False)
    )
    starts = jnp.asarray(reference[picks])
    scale = float(np.sqrt(np.mean(np.sum((reference - reference.mean(0)) ** 2, axis=1))))
    errors = (
        np.asarray(
            _forecast_errors(
                driven,
                loop,
                starts,
                finals[0],
                dt,
                round(config.forecast_warmup / config.dt),
                config.dt,
                round(config.forecast_time / (save_every * dt)),
                save_every,
            )
        )
        / scale
    )
    times = (np.arange(errors.shape[1]) + 1) * save_every * dt
    valid = []
    for e in errors:
        bad = np.nonzero(~(e <= 0.4))[0]
        valid.append(times[bad[0]] if bad.size else times[-1])
    metrics["forecast.valid_time"] = float(np.median(valid))
    metrics["forecast.valid_time_lyapunov"] = float(np.median(valid) * LORENZ_LAMBDA)
    metrics["forecast.censored_fraction"] = float(np.mean([e.max() <= 0.4 for e in errors]))
    arrays["forecast.times"] = times
    arrays["forecast.errors"] = errors


@eqx.filter_jit
def _forecast_errors(driven, loop, starts, r0, dt, warmup_steps, drive_dt, blocks, save_every):
    drive, _ = step_map(driven, dt=drive_dt, solver="rk4", args=jnp.zeros(1))
    lorenz, _ = step_map(Lorenz(), dt=dt, solver="rk4")
    closed, _ = step_map(loop, dt=dt, solver="rk4", args=jnp.zeros(1))

    def one(z0):
        state = jnp.concatenate([z0, r0])
        state = jax.lax.fori_loop(0, warmup_steps, lambda i, s: drive(0.0, s), state)
        z, r = driven.split(state)

        def block(carry, _):
            z, r = carry

            def inner(carry, _):
                z, r = carry
                return (lorenz(0.0, z), closed(0.0, r)), None

            (z, r), _ = jax.lax.scan(inner, (z, r), None, length=save_every)
            return (z, r), jnp.linalg.norm(loop.output(r) - z)

        _, errors = jax.lax.scan(block, (z, r), None, length=blocks)
        return errors

    return jax.vmap(one)(starts)


# --------------------------------------------------------------------------------------
# Figures


def figures(results: Results, config: ChaoticMemoriesConfig, folder: Path) -> list[Path]:
    """One PNG per panel, named after what it shows."""
    plt = pyplot()

    a, m = results.arrays, results.metrics
    ref = a["reference"]

    save = FigureSaver(folder, dpi=100)

    def attractors(controls, outputs, passed, title, name, shift=None):
        fig, ax = plt.subplots(figsize=(9, 3.8))
        shown = np.unique(np.linspace(0, len(controls) - 1, 5).round().astype(int))
        for c, out, ok in zip(controls[shown], outputs[shown], passed[shown], strict=True):
            ax.plot(out[:, 0], out[:, 2], lw=0.3, color="C0" if ok else "C3")
            if shift is not None:
                ax.plot(ref[:, 0] + shift * c, ref[:, 2], lw=0.2, color="0.6", zorder=0)
        ax.set(xlabel="$x_1$", ylabel="$x_3$", title=title + ", blue pass, red fail")
        save(fig, name)

    if "translate.outputs" in a:
        c = a["translate.controls"]
        attractors(
            c,
            a["translate.outputs"],
            a["translate.passed"],
            "translate: closed-loop attractors, grey = truth",
            "translate_attractors",
            1.0,
        )
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.axvspan(
            min(config.control_values),
            max(config.control_values),
            color="0.9",
            label="training range",
        )
        ax.plot(c, c, "k-", lw=0.8, label="truth")
        ax.plot(c, a["translate.shift"], "o", label="network")
        ax.set(
            xlabel="control c",
            ylabel="shift of the centre along $x_1$",
            title=f"translate: success {m['translate.success_fraction']:.2f}",
        )
        ax.legend()
        save(fig, "translate_centroid_shift")
        if "translate.forward_histogram" in a:
            fig, ax = plt.subplots(figsize=(5, 3.6))
            bins = a["histogram_bins"]
            centres = 0.5 * (bins[1:] + bins[:-1])
            spacing = a["reference.spacing_histogram"]
            ax.plot(centres, spacing / max(spacing.sum(), 1), "k--", label="Ref spacing")
            for i in np.unique(np.linspace(0, len(c) - 1, 4).round().astype(int)):
                counts = a["translate.forward_histogram"][i]
                if counts.sum():
                    ax.plot(centres, counts / counts.sum(), label=f"c = {c[i]:g}")
            ax.set(
                xlabel=r"$\log_{10}$ forward distance / D",
                ylabel="fraction of points",
                title="translate: distance to the true attractor",
            )
            ax.legend(fontsize=7)
            save(fig, "translate_distance_histograms")
    if "readout_cutoff.rcond" in a and len(a["readout_cutoff.rcond"]):
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.semilogx(a["readout_cutoff.rcond"], a["readout_cutoff.success_fraction"], "o-")
        ax.set(
            xlabel="singular-value cutoff rcond",
            ylabel="pass fraction",
            ylim=(-0.05, 1.05),
            title="translate extrapolation vs readout cutoff",
        )
        twin = ax.twinx()
        twin.semilogx(a["readout_cutoff.rcond"], a["readout_cutoff.rank"], "s--", color="C1")
        twin.set_ylabel("rank kept", color="C1")
        ax.invert_xaxis()
        save(fig, "readout_cutoff_sweep")
        fig, ax = plt.subplots(figsize=(5, 3.6))
        sv = a["translate.singular_values"]
        ax.semilogy(sv / sv[0], ".")
        for rc in a["readout_cutoff.rcond"]:
            ax.axhline(rc, lw=0.6, color="0.5", ls="--")
        ax.set(xlabel="index", ylabel=r"$\sigma_k/\sigma_1$", title="state-matrix spectrum")
        save(fig, "translate_singular_values")
    for variant in config.transform_variants:
        if f"transform.{variant}.outputs" not in a:
            continue
        c = a["transform.controls"]
        attractors(
            c,
            a[f"transform.{variant}.outputs"],
            a[f"transform.{variant}.passed"],
            f"transform ({variant})",
            f"transform_{variant}_attractors",
        )
        fig, ax = plt.subplots(figsize=(5, 3.6))
        generator = np.array(TRANSFORM_VARIANTS[variant])
        widths = a[f"transform.{variant}.widths"]
        for axis in range(3):
            ax.plot(c, widths[:, axis], "o", color=f"C{axis}", label=f"$x_{axis + 1}$ network")
            ax.plot(c, 1 + c * generator[axis, axis], "-", color=f"C{axis}", lw=0.8)
        ax.set(
            xlabel="control c",
            ylabel="width / width at c = 0 (lines: truth)",
            title=f"transform ({variant})",
        )
        ax.legend(fontsize=7)
        save(fig, f"transform_{variant}_widths")
    if "bifurcate.controls" in a:
        c = a["bifurcate.controls"]
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.plot(c, a["bifurcate.lyapunov_lorenz"], "k.-", label=r"Lorenz, $\rho = 23 + c$")
        ax.plot(c, a["bifurcate.lyapunov"], "o", label="network, up-ramp from c = 0")
        if "bifurcate.lyapunov_down" in a:
            ax.plot(c, a["bifurcate.lyapunov_down"], "v", mfc="none", label="network, down-ramp")
            ax.plot(
                c, a["bifurcate.lyapunov_lorenz_down"], "k^", mfc="none", label="Lorenz, down-ramp"
            )
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(Lorenz().hopf_rho() - 23.0, color="C3", ls="--", lw=0.8, label="Hopf")
        ax.axvspan(0, 1, color="0.9", label="training range")
        ax.set(xlabel="control c", ylabel=r"$\lambda_1$", title="bifurcate: largest exponent")
        ax.legend(fontsize=7)
        save(fig, "bifurcate_lyapunov")
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
        axes[0].plot(a["bifurcate.outputs"][0][:, 0], a["bifurcate.outputs"][0][:, 2], ".", ms=2)
        axes[0].set(title=f"network at c = {c[0]:g}", xlabel="$x_1$", ylabel="$x_3$")
        axes[1].plot(ref[:, 0], ref[:, 2], lw=0.2, color="0.6")
        axes[1].plot(a["bifurcate.outputs"][-1][:, 0], a["bifurcate.outputs"][-1][:, 2], lw=0.3)
        axes[1].set(title=f"network at c = {c[-1]:g} (grey: Lorenz rho = 28)", xlabel="$x_1$")
        save(fig, "bifurcate_attractors")
    if "mechanism.controls" in a:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        lead = a["mechanism.leading_eigenvalue"]
        ax.plot(a["mechanism.controls"], lead.real, "o-", ms=3, label="network fixed point")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(m["mechanism.hopf_c_true"], color="C3", ls="--", label="Lorenz $c_H$")
        if m.get("mechanism.hopf_c_predicted") is not None:
            ax.axvline(m["mechanism.hopf_c_predicted"], color="C0", ls=":", label="network $c_H$")
        ax.set(
            xlabel="control c",
            ylabel=r"Re $\lambda$ of the leading complex pair ($1/\gamma$)",
            title="mechanism: Hopf crossing",
        )
        ax.legend(fontsize=7)
        save(fig, "mechanism_hopf_crossing")
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.plot(a["mechanism.controls"], a["mechanism.branch_error"], "o-", ms=3)
        ax.set(
            xlabel="control c",
            ylabel=r"$|W r_{fp}(c) - C_+(23 + c)|$",
            title="mechanism: fixed-point branch vs Lorenz",
        )
        save(fig, "mechanism_branch")
    if "two_controls.grid" in a:
        grid, ok = a["two_controls.grid"], a["two_controls.passed"]
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.scatter(grid[ok, 0], grid[ok, 1], marker="o", color="C0", label="pass")
        ax.scatter(grid[~ok, 0], grid[~ok, 1], marker="x", color="C3", label="fail")
        centres = a["two_controls.centres"] - _midrange(ref)
        ax.plot(centres[:, 0], centres[:, 2], "k.", ms=3, label="network centre shift")
        ax.set(
            xlabel="$c_1$ (shift along $x_1$)",
            ylabel="$c_2$ (shift along $x_3$)",
            title=f"two controls: success {m['two_controls.success_fraction']:.2f}",
        )
        ax.legend(fontsize=7)
        save(fig, "two_controls_grid")
    if "forecast.errors" in a:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        for e in a["forecast.errors"]:
            ax.plot(a["forecast.times"] * LORENZ_LAMBDA, e, lw=0.7)
        ax.axhline(0.4, color="k", ls="--", lw=0.8)
        ax.set(
            xlabel="Lyapunov times",
            ylabel="normalised error",
            yscale="log",
            title=f"forecast: median VPT {m['forecast.valid_time_lyapunov']:.2f}",
        )
        save(fig, "forecast_error")
    return save.paths


EXPERIMENT = Experiment(
    id="chaotic-memories",
    title="chaotic-memories: reservoirs modify chaotic attractors by example (Kim et al. 2021)",
    summary=(
        "Controlled tanh reservoir (N = 450) driven by shifted, scaled or parameter-shifted "
        "Lorenz examples; streaming min-norm readout; the closed loop extrapolates "
        "translations to +-40, scalings, and a Hopf bifurcation into chaos."
    ),
    config_type=ChaoticMemoriesConfig,
    run=run,
    figures=figures,
    citation=CITATION,
    quick=QUICK,
    metric_docs=METRICS,
)
