r"""``chaos-onset``: the transition to chaos of the random rate network.

Reproduces Sompolinsky, Crisanti & Sommers (1988) with the tools every later experiment
uses: the largest Lyapunov exponent against the gain $g$ from simulation (QR method) and
from DMFT on one plot; top-$k$ Lyapunov spectra at several $g$; Kaplan-Yorke and
participation-ratio dimensions; the autocorrelation time, growing toward $g = 1$; and the
eigenvalues of $J$ against the circle of radius $g$.
"""

from pathlib import Path

import jax.random as jr
import numpy as np
import pydantic

from ..analysis import (
    LyapunovOptions,
    autocorrelation,
    circular_law_radius,
    entropy_rate,
    kaplan_yorke_dimension,
    lyapunov_spectrum,
    participation_ratio,
)
from ..models import RateRNN, SimulationOptions, simulate
from ..theory import DMFTOptions, GaussHermite, scs_dmft
from ._base import Experiment, ExperimentConfig, Results, derived_key, metric_key
from ._figures import FigureSaver, pyplot

CITATION = """@article{sompolinsky1988chaos,
  title = {Chaos in Random Neural Networks},
  author = {Sompolinsky, H. and Crisanti, A. and Sommers, H. J.},
  journal = {Physical Review Letters}, volume = {61}, pages = {259--262}, year = {1988},
  doi = {10.1103/PhysRevLett.61.259}
}
@article{engelken2023lyapunov,
  title = {Lyapunov spectra of chaotic recurrent neural networks},
  author = {Engelken, Rainer and Wolf, Fred and Abbott, L. F.},
  journal = {Physical Review Research}, volume = {5}, pages = {043044}, year = {2023},
  doi = {10.1103/PhysRevResearch.5.043044}, eprint = {2006.02427}
}
@article{geist1990comparison,
  title = {Comparison of Different Methods for Computing Lyapunov Exponents},
  author = {Geist, K. and Parlitz, U. and Lauterborn, W.},
  journal = {Progress of Theoretical Physics}, volume = {83}, pages = {875--893}, year = {1990},
  doi = {10.1143/PTP.83.875}
}"""


class ChaosOnsetConfig(ExperimentConfig):
    """Config of ``chaos-onset``. Times are in units of ``tau``."""

    hidden_size: int = pydantic.Field(1000, gt=0, description="N, number of units")
    gains: list[float] = pydantic.Field(
        [0.5, 0.8, 1.2, 1.5, 2.0, 2.5, 3.0], min_length=1, description="g values simulated"
    )
    tau: float = pydantic.Field(1.0, gt=0)
    num_networks: int = pydantic.Field(3, gt=0, description="independent J per gain")
    dt: float = pydantic.Field(0.1, gt=0, le=0.5, description="RK4 step")
    qr_every: int = pydantic.Field(5, gt=0)
    t_burn: float = pydantic.Field(200.0, ge=0)
    t_obs: float = pydantic.Field(2000.0, gt=0, description="observation time for lambda_max")
    num_exponents: int = pydantic.Field(100, gt=0, description="k of the top-k spectra")
    t_obs_spectrum: float = pydantic.Field(300.0, gt=0)
    t_autocorrelation: float = pydantic.Field(1000.0, gt=0)
    theory_gains: int = pydantic.Field(26, ge=2, description="points of the DMFT curve")
    finite_size_extrapolation: bool = pydantic.Field(
        True,
        description="also simulate N/2 and extrapolate lambda_max linearly in 1/N",
    )

    @pydantic.field_validator("gains")
    @classmethod
    def _positive_gains(cls, gains: list[float]) -> list[float]:
        for g in gains:
            if not g > 0:
                raise ValueError(f"gain {g} must be > 0 (the onset of chaos is g = 1)")
        return sorted(set(gains))

    @pydantic.model_validator(mode="after")
    def _k_fits(self):
        if self.num_exponents > self.hidden_size:
            raise ValueError(
                f"num_exponents={self.num_exponents} exceeds hidden_size={self.hidden_size}"
            )
        return self


QUICK = {
    "hidden_size": 400,
    "gains": [0.5, 1.5, 2.0, 2.5, 3.0],
    "num_networks": 3,
    "t_burn": 100.0,
    "t_obs": 500.0,
    "num_exponents": 40,
    "t_obs_spectrum": 200.0,
    "t_autocorrelation": 300.0,
    "theory_gains": 11,
}

METRICS = {
    "lyapunov_max_sim": "largest Lyapunov exponent, simulation, mean over networks (1/tau)",
    "lyapunov_max_sim_stderr": "standard error of lyapunov_max_sim over networks and time",
    "lyapunov_max_dmft": "largest Lyapunov exponent predicted by DMFT (1/tau)",
    "max_rel_error_sim_vs_dmft": (
        "max over g in [1.5, 3] of |sim - dmft| / dmft; sim is the 1/N-extrapolated estimate "
        "when finite_size_extrapolation is on, else the estimate at N"
    ),
    "max_rel_error_sim_vs_dmft_at_n": "the same with the raw estimate at N (no extrapolation)",
    "lyapunov_max_sim_half_size": "lambda_max simulated at N/2",
    "lyapunov_max_sim_extrapolated": "2 lambda(N) - lambda(N/2): linear extrapolation in 1/N",
    "lyapunov_max_sim_extrapolated_stderr": "standard error of the extrapolated estimate",
    "circular_law_radius_rel_error": "max over g of |max|eig J| / g - 1|",
    "circular_law_radius": "max |eigenvalue of J| / g",
    "kaplan_yorke_dimension_per_unit": "D_KY / N from the top-k spectrum (null if k too small)",
    "entropy_rate_per_unit": "sum of positive exponents / N",
    "participation_ratio": "participation-ratio dimension of h",
    "participation_ratio_rate": "participation-ratio dimension of tanh(h)",
    "autocorrelation_time_sim": "integral autocorrelation time of h (tau), simulation",
    "autocorrelation_time_dmft": "integral autocorrelation time of Delta (tau), DMFT",
    "dmft_variance": "q = Delta(0), DMFT",
    "variance_sim": "population variance of h, simulation",
}


def _lyapunov_options(config: ChaosOnsetConfig, k: int, t_obs: float) -> LyapunovOptions:
    return LyapunovOptions(
        num_exponents=k,
        dt=config.dt * config.tau,
        solver="rk4",
        qr_every=config.qr_every,
        t_burn=config.t_burn * config.tau,
        t_tangent_burn=20.0 * config.tau,
        t_obs=t_obs * config.tau,
        num_segments=10,
    )


def _correlation_time(lags: np.ndarray, values: np.ndarray) -> float:
    normalised = values / values[0]
    below = np.nonzero(normalised <= 0)[0]
    stop = below[0] if below.size else len(values)
    return float(np.trapezoid(normalised[:stop], lags[:stop]))


def _network_keys(key, network: int, size: int = 0):
    """(network, initial state, frame) keys of network ``network`` at size label ``size``."""
    return jr.split(derived_key(key, network, size), 3)


def _lyapunov_max(config, g: float, n: int, key, gain_index: int, advance):
    """Mean and standard error of lambda_max over ``num_networks`` networks of size n."""
    estimates, errors = [], []
    for network in range(config.num_networks):
        net_key, state_key, frame_key = _network_keys(
            key, network, 0 if n == config.hidden_size else n
        )
        net = RateRNN(n, gain=g, tau=config.tau, key=net_key)
        result = lyapunov_spectrum(
            net,
            jr.normal(state_key, (n,)),
            key=derived_key(frame_key, gain_index),
            options=_lyapunov_options(config, 1, config.t_obs),
            throw=True,
        )
        estimates.append(result.exponents[0])
        errors.append(result.standard_error[0])
        advance(1)
    spread = np.std(estimates, ddof=1) / np.sqrt(len(estimates)) if len(estimates) > 1 else 0.0
    within = np.sqrt(np.mean(np.square(errors)) / len(errors))
    return float(np.mean(estimates)), float(max(spread, within))


def run(config: ChaosOnsetConfig, *, key, progress) -> Results:
    """Simulate and solve the DMFT at every gain; see :data:`METRICS`."""
    n, tau = config.hidden_size, config.tau
    metrics: dict = {}
    arrays: dict[str, np.ndarray] = {"gains": np.array(config.gains)}
    lam_sim, lam_err, radius, spectra, ky, pr, ac_time, variances = ([] for _ in range(8))
    correlations, lam_half, lam_ext, lam_ext_err = [], [], [], []
    sizes = 2 if config.finite_size_extrapolation else 1
    steps = len(config.gains) * (sizes * config.num_networks + 2)
    with progress.task("chaos-onset: simulate", steps) as advance:
        for gi, g in enumerate(config.gains):
            mean, error = _lyapunov_max(config, g, n, key, gi, advance)
            lam_sim.append(mean)
            lam_err.append(error)
            if config.finite_size_extrapolation:
                half_mean, half_error = _lyapunov_max(config, g, n // 2, key, gi, advance)
                lam_half.append(half_mean)
                # lambda(N) = lambda_inf + a/N  =>  lambda_inf = 2 lambda(N) - lambda(N/2)
                lam_ext.append(2 * mean - half_mean)
                lam_ext_err.append(float(np.hypot(2 * error, half_error)))
            eig = np.linalg.eigvals(
                np.asarray(
                    RateRNN(n, gain=g, tau=tau, key=_network_keys(key, 0)[0]).recurrent_weights
                )
            )
            radius.append(circular_law_radius(eig)["max"] / g)
            arrays[f"eigenvalues.g={float(g)!r}"] = eig
            # Top-k spectrum, dimension and entropy on the first network.
            net_key, state_key, frame_key = _network_keys(key, 0)
            net = RateRNN(n, gain=g, tau=tau, key=net_key)
            state0 = jr.normal(state_key, (n,))
            spectrum = lyapunov_spectrum(
                net,
                state0,
                key=frame_key,
                options=_lyapunov_options(config, config.num_exponents, config.t_obs_spectrum),
                throw=True,
            )
            spectra.append(spectrum.exponents)
            kaplan_yorke = kaplan_yorke_dimension(spectrum.exponents, full_spectrum=False)
            ky.append(kaplan_yorke.dimension / n)
            metrics[metric_key("entropy_rate_per_unit.g", g)] = (
                entropy_rate(spectrum.exponents) / n
            )
            advance(1)
            # Autocorrelation and participation ratio from a long trajectory.
            ts = np.arange(0.0, config.t_burn + config.t_autocorrelation, config.dt) * tau
            trajectory = simulate(
                net,
                state0,
                ts,
                options=SimulationOptions(solver="rk4", dt=config.dt * tau, rtol=None, atol=None),
            ).raise_if_diverged(f"chaos-onset simulation at g={g}")
            states = np.asarray(trajectory.states)[ts >= config.t_burn * tau]
            variances.append(float(np.mean(np.var(states, axis=0) + np.mean(states, 0) ** 2)))
            stationary = float(np.mean(np.var(states, axis=0))) > 1e-10
            if stationary:
                corr = autocorrelation(states, config.dt * tau, max_lag=50.0 * tau)
                ac_time.append(corr.integral_time)
                correlations.append(corr.values / corr.values[0])
                pr.append(
                    (participation_ratio(states[::5]), participation_ratio(np.tanh(states[::5])))
                )
            else:  # activity decayed to the fixed point: no fluctuations to correlate
                ac_time.append(np.nan)
                correlations.append(np.full(int(round(50.0 / config.dt)) + 1, np.nan))
                pr.append((np.nan, np.nan))
            advance(1)

    theory_gains = np.unique(
        np.concatenate([np.linspace(0.5, max(3.0, max(config.gains)), config.theory_gains)])
    )
    fine = DMFTOptions(lag_step=0.01, max_lag=60.0)
    coarse = DMFTOptions(quadrature=GaussHermite(50), lag_step=0.02, max_lag=50.0)
    with progress.task("chaos-onset: DMFT", len(config.gains) + len(theory_gains)) as advance:
        dmft = []
        for g in config.gains:
            dmft.append(scs_dmft(g, tau=tau, options=fine))
            advance(1)
        curve = []
        for g in theory_gains:
            curve.append(scs_dmft(float(g), tau=tau, options=coarse).lyapunov_max)
            advance(1)

    rel_errors, rel_errors_at_n = [], []
    for gi, g in enumerate(config.gains):
        solution = dmft[gi]
        metrics[metric_key("lyapunov_max_sim.g", g)] = lam_sim[gi]
        metrics[metric_key("lyapunov_max_sim_stderr.g", g)] = lam_err[gi]
        metrics[metric_key("lyapunov_max_dmft.g", g)] = solution.lyapunov_max
        metrics[metric_key("circular_law_radius.g", g)] = radius[gi]
        metrics[metric_key("kaplan_yorke_dimension_per_unit.g", g)] = ky[gi]
        metrics[metric_key("participation_ratio.g", g)] = pr[gi][0]
        metrics[metric_key("participation_ratio_rate.g", g)] = pr[gi][1]
        metrics[metric_key("autocorrelation_time_sim.g", g)] = ac_time[gi]
        metrics[metric_key("variance_sim.g", g)] = variances[gi]
        metrics[metric_key("dmft_variance.g", g)] = solution.variance
        if solution.variance > 0:
            metrics[metric_key("autocorrelation_time_dmft.g", g)] = _correlation_time(
                solution.lags, solution.autocorrelation
            )
        if config.finite_size_extrapolation:
            metrics[metric_key("lyapunov_max_sim_half_size.g", g)] = lam_half[gi]
            metrics[metric_key("lyapunov_max_sim_extrapolated.g", g)] = lam_ext[gi]
            metrics[metric_key("lyapunov_max_sim_extrapolated_stderr.g", g)] = lam_ext_err[gi]
        if 1.5 <= g <= 3.0:
            best = lam_ext[gi] if config.finite_size_extrapolation else lam_sim[gi]
            rel_errors.append(abs(best - solution.lyapunov_max) / solution.lyapunov_max)
            rel_errors_at_n.append(
                abs(lam_sim[gi] - solution.lyapunov_max) / solution.lyapunov_max
            )
        arrays[f"dmft_autocorrelation.g={float(g)!r}"] = np.stack(
            [solution.lags, solution.autocorrelation]
        )
    metrics["max_rel_error_sim_vs_dmft"] = float(max(rel_errors)) if rel_errors else None
    metrics["max_rel_error_sim_vs_dmft_at_n"] = (
        float(max(rel_errors_at_n)) if rel_errors_at_n else None
    )
    metrics["circular_law_radius_rel_error"] = float(np.max(np.abs(np.array(radius) - 1.0)))
    arrays.update(
        {
            "lyapunov_max_sim": np.array(lam_sim),
            "lyapunov_max_sim_stderr": np.array(lam_err),
            "lyapunov_max_sim_extrapolated": np.array(lam_ext),
            "lyapunov_max_sim_extrapolated_stderr": np.array(lam_ext_err),
            "lyapunov_max_dmft": np.array([s.lyapunov_max for s in dmft]),
            "theory_gains": theory_gains,
            "theory_lyapunov_max": np.array(curve),
            "spectra": np.array(spectra),
            "kaplan_yorke_per_unit": np.array(ky),
            "participation_ratio": np.array(pr),
            "autocorrelation_time_sim": np.array(ac_time),
            "autocorrelation_sim": np.array(correlations),
            "autocorrelation_lags": config.dt * tau * np.arange(len(correlations[0])),
        }
    )
    return Results(metrics, arrays)


def figures(results: Results, config: ChaosOnsetConfig, folder: Path) -> list[Path]:
    """One PNG per panel: exponent vs g, spectra, dimensions, correlation times, eigenvalues."""
    plt = pyplot()

    a = results.arrays
    gains, n = a["gains"], config.hidden_size

    save = FigureSaver(folder, dpi=110)

    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(a["theory_gains"], a["theory_lyapunov_max"], "k-", label="DMFT")
    ax.errorbar(
        gains,
        a["lyapunov_max_sim"],
        a["lyapunov_max_sim_stderr"],
        fmt="o",
        label=f"simulation, N={n}",
    )
    if len(a["lyapunov_max_sim_extrapolated"]):
        ax.errorbar(
            gains,
            a["lyapunov_max_sim_extrapolated"],
            a["lyapunov_max_sim_extrapolated_stderr"],
            fmt="s",
            mfc="none",
            label=r"extrapolated $N\to\infty$",
        )
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(1, color="0.7", lw=0.8, ls="--")
    ax.set(xlabel="gain g", ylabel=r"$\lambda_\max$ (1/$\tau$)", title="Largest Lyapunov exponent")
    ax.legend()
    save(fig, "lyapunov_max_vs_gain")

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for g, spectrum in zip(gains, a["spectra"], strict=True):
        ax.plot(np.arange(1, len(spectrum) + 1) / n, spectrum, ".-", ms=3, label=f"g={g:g}")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set(
        xlabel="i / N",
        ylabel=r"$\lambda_i$ (1/$\tau$)",
        title=f"Top-{a['spectra'].shape[1]} Lyapunov spectra",
    )
    ax.legend(fontsize=7)
    save(fig, "lyapunov_spectra")

    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(gains, a["kaplan_yorke_per_unit"], "o-", label="Kaplan-Yorke / N")
    ax.plot(gains, a["participation_ratio"][:, 0] / n, "s-", label="participation ratio of h / N")
    ax.plot(
        gains,
        a["participation_ratio"][:, 1] / n,
        "^-",
        label=r"participation ratio of $\phi(h)$ / N",
    )
    ax.set(xlabel="gain g", ylabel="dimension / N", title="Dimension of the chaotic attractor")
    ax.legend(fontsize=8)
    save(fig, "dimension_vs_gain")

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    theory = [
        _correlation_time(*a[f"dmft_autocorrelation.g={float(g)!r}"])
        if a[f"dmft_autocorrelation.g={float(g)!r}"][1, 0] > 0
        else np.nan
        for g in gains
    ]
    left.plot(gains, a["autocorrelation_time_sim"], "o", label="simulation")
    left.plot(gains, theory, "k-", label="DMFT")
    left.set(xlabel="gain g", ylabel=r"$\tau_\mathrm{int}$ ($\tau$)", title="Autocorrelation time")
    left.legend()
    for g, corr in zip(gains, a["autocorrelation_sim"], strict=True):
        (line,) = right.plot(a["autocorrelation_lags"], corr, label=f"g={g:g}")
        lags, delta = a[f"dmft_autocorrelation.g={float(g)!r}"]
        if delta[0] > 0:
            right.plot(lags, delta / delta[0], "--", color=line.get_color())
    right.set(
        xlim=(0, 20),
        xlabel=r"lag ($\tau$)",
        ylabel=r"$C(\tau)/C(0)$",
        title="sim (solid) vs DMFT (dashed)",
    )
    right.legend(fontsize=7)
    save(fig, "autocorrelation_vs_gain")

    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    g = gains[-1]
    eig = a[f"eigenvalues.g={float(g)!r}"]
    ax.plot(eig.real, eig.imag, ".", ms=2)
    theta = np.linspace(0, 2 * np.pi, 400)
    ax.plot(g * np.cos(theta), g * np.sin(theta), "r-", label=f"radius g = {g:g}")
    ax.set_aspect("equal")
    ax.set(xlabel="Re", ylabel="Im", title="Eigenvalues of J (circular law)")
    ax.legend(loc="upper right")
    save(fig, "eigenvalues_circular_law")
    return save.paths


EXPERIMENT = Experiment(
    id="chaos-onset",
    title="chaos-onset: transition to chaos in random rate networks (SCS 1988)",
    summary=(
        "tau dh/dt = -h + J tanh(h), J_ij ~ N(0, g^2/N). Largest Lyapunov exponent from "
        "simulation (QR method, RK4) and DMFT, top-k spectra, dimension, autocorrelation "
        "time and the circular law of J."
    ),
    config_type=ChaosOnsetConfig,
    run=run,
    figures=figures,
    citation=CITATION,
    quick=QUICK,
    metric_docs=METRICS,
)
