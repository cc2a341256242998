r"""Dynamical mean-field theory (DMFT) of the random rate network.

For $\tau\dot x_i = -x_i + \sum_j J_{ij}\phi(x_j)$, $J_{ij}\sim\mathcal N(0, g^2/N)$,
$\phi = \tanh$ and $N\to\infty$, each unit obeys $\dot x = -x + \eta$ (time in units of
$\tau$) with Gaussian $\eta$ of autocorrelation $g^2 C_\phi(\Delta)$, and the stationary
autocorrelation $\Delta(\tau)$ of $x$ solves

$$\Delta - \ddot\Delta = g^2 C_\phi(\Delta; q), \qquad q = \Delta(0),$$

with $C_f(\Delta; q) = E[f(x) f(y)]$ for jointly Gaussian $x, y$ of variance $q$ and
covariance $\Delta$. It is the motion of a particle in the potential
$V(\Delta) = -\Delta^2/2 + g^2 C_\Phi(\Delta; q)$, $\Phi = \ln\cosh$. The chaotic
solution ($\dot\Delta(0) = 0$, $\Delta(\infty) = 0$) fixes $q$ by

$$q^2/2 = g^2\left(E[\Phi(\sqrt q z)^2] - E[\Phi(\sqrt q z)]^2\right).$$

The largest Lyapunov exponent is $\lambda_\max = (-1 + \sqrt{1 - E_0})/\tau$, with $E_0$
the ground-state energy of $H = -\partial_\tau^2 + 1 - g^2 C_{\phi'}(\Delta(\tau); q)$.
For $g \le 1$: $q = 0$, $C_{\phi'} \equiv 1$, $E_0 = 1 - g^2$ and $\lambda_\max = (g-1)/\tau$.

References: Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988); Crisanti & Sompolinsky,
PRE 98, 062120 (2018); D. G. Clark's rnn-lyapunov (dmft.py, max_exponent.py), read, not
used.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.integrate import solve_ivp
from scipy.interpolate import CubicSpline
from scipy.linalg import eigh_tridiagonal
from scipy.optimize import brentq

from .._errors import InvalidInputError


def _phi(x):
    return np.tanh(x)


def _dphi(x):
    return 1.0 / np.cosh(x) ** 2


def _log_cosh(x):
    return np.logaddexp(x, -x) - np.log(2.0)


@dataclass(frozen=True)
class GaussHermite:
    """Gauss-Hermite rule for expectations over a standard normal variable."""

    num_nodes: int = 80

    def rule(self) -> tuple[np.ndarray, np.ndarray]:
        nodes, weights = np.polynomial.hermite_e.hermegauss(self.num_nodes)
        return nodes, weights / np.sqrt(2 * np.pi)


def gaussian_mean(f, variance: float, quadrature: GaussHermite = GaussHermite()) -> float:
    """$E[f(\\sqrt{v} z)]$, $z \\sim \\mathcal N(0,1)$."""
    z, w = quadrature.rule()
    return float(np.sum(w * f(np.sqrt(variance) * z)))


def pair_correlation(f, delta, q: float, quadrature: GaussHermite = GaussHermite()):
    r"""$C_f(\Delta; q) = E[f(x)f(y)]$, $x = \sqrt q z_1$,
    $y = \sqrt q (c z_1 + \sqrt{1-c^2} z_2)$, $c = \Delta/q$; vectorised over ``delta``."""
    z, w = quadrature.rule()
    delta = np.atleast_1d(np.asarray(delta, dtype=np.float64))
    if q <= 0:
        return np.full(delta.shape, f(np.zeros(1))[0] ** 2)
    c = np.clip(delta / q, -1.0, 1.0)[:, None, None]
    z1, z2 = z[None, :, None], z[None, None, :]
    x = np.sqrt(q) * z1
    y = np.sqrt(q) * (c * z1 + np.sqrt(1.0 - c**2) * z2)
    weights = (w[:, None] * w[None, :])[None]
    return np.sum(weights * f(x) * f(y), axis=(1, 2))


def self_consistent_variance(gain: float, quadrature: GaussHermite = GaussHermite()) -> float:
    """The variance $q = \\Delta(0)$ of the chaotic solution (0 for ``gain <= 1``)."""
    if gain <= 1.0:
        return 0.0

    def energy_balance(q):
        mean = gaussian_mean(_log_cosh, q, quadrature)
        second = gaussian_mean(lambda x: _log_cosh(x) ** 2, q, quadrature)
        return gain**2 * (second - mean**2) - q**2 / 2

    upper = 1.0
    while energy_balance(upper) > 0:
        upper *= 2.0
    return brentq(energy_balance, 1e-12, upper, xtol=1e-14, rtol=1e-13)


@dataclass(frozen=True)
class DMFTOptions:
    """Numerical options of :func:`scs_dmft`: quadrature, lag grid and tail length.

    ``max_lag`` is in units of $\\tau$ and is a floor: the window is widened to 15
    decay times $1/\\kappa$ of the tail, $\\kappa = \\sqrt{1 - g^2 E[\\phi']^2}$ (at most
    ``max_window``), so that $\\Delta$ decays inside it even near the onset, where
    $\\kappa \\to 0$. The Schrodinger operator is built on
    $[-\\mathrm{max\\_lag}, \\mathrm{max\\_lag}]$ with spacing ``lag_step``. Gaussian
    pair correlations are tabulated at ``table_size`` points of $[-q, q]$ and interpolated
    with a cubic spline.
    """

    quadrature: GaussHermite = GaussHermite()
    lag_step: float = 0.01
    max_lag: float = 60.0
    max_window: float = 5000.0
    table_size: int = 2001


class DMFTSolution(NamedTuple):
    """Solution of the SCS mean-field equations at one gain.

    ``lags`` and ``autocorrelation`` $\\Delta(\\tau)$ (lags in units of the network's
    ``tau``), ``variance`` $q$, ``lyapunov_max`` (per unit time), ``ground_energy`` $E_0$.
    """

    gain: float
    tau: float
    variance: float
    lags: np.ndarray
    autocorrelation: np.ndarray
    ground_energy: float
    lyapunov_max: float


def _correlation_table(f, q: float, options: DMFTOptions):
    """Cubic spline of $C_f(\\Delta; q)$ on $[-q, q]$ (``table_size`` quadrature points)."""
    deltas = np.linspace(-q, q, options.table_size)
    values = np.concatenate(
        [
            pair_correlation(f, chunk, q, options.quadrature)
            for chunk in np.array_split(deltas, max(1, len(deltas) // 256))
        ]
    )
    return CubicSpline(deltas, values)


def _tail_rate(gain: float, q: float, options: DMFTOptions) -> float:
    """Decay rate of Delta at large lag: Delta'' = (1 - g^2 E[phi'(sqrt(q) z)]^2) Delta."""
    slope = gaussian_mean(_dphi, q, options.quadrature)
    return float(np.sqrt(max(1.0 - gain**2 * slope**2, 0.0)))


def _window(gain: float, q: float, options: DMFTOptions) -> float:
    rate = _tail_rate(gain, q, options) if q > 0 else 1.0
    return float(min(max(options.max_lag, 15.0 / max(rate, 1e-12)), options.max_window))


def _autocorrelation(gain: float, q: float, options: DMFTOptions) -> np.ndarray:
    """$\\Delta$ on the grid $0, h, 2h, \\dots$, shot from $(q, 0)$ and cut at its minimum."""
    window = _window(gain, q, options)
    lags = np.arange(0.0, window + options.lag_step / 2, options.lag_step)
    if q == 0:
        return np.zeros_like(lags)

    c_phi = _correlation_table(_phi, q, options)

    def rhs(t, y):
        return [y[1], y[0] - gain**2 * c_phi(y[0])]

    def minimum(t, y):
        return y[1]

    def crossing(t, y):
        return y[0]

    # The chaotic solution is a separatrix, unstable under shooting: stop at the first
    # minimum (undershoot) or at the first zero crossing (overshoot), whichever comes first.
    minimum.terminal = crossing.terminal = True
    minimum.direction = 1
    crossing.direction = -1
    shot = solve_ivp(
        rhs,
        (0.0, window),
        [q * (1 - 1e-12), 0.0],
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        events=(minimum, crossing),
        dense_output=True,
    )
    cut = shot.t[-1]
    inside = lags <= cut
    delta = np.empty_like(lags)
    delta[inside] = shot.sol(lags[inside])[0]
    # Beyond the cut, continue with the decay rate of the linearised equation at 0:
    # Delta'' = (1 - g^2 E[phi'(sqrt q z)]^2) Delta.
    rate = _tail_rate(gain, q, options)
    end = shot.sol(cut)[0]
    delta[~inside] = max(end, 0.0) * np.exp(-rate * (lags[~inside] - cut))
    return delta


def scs_dmft(
    gain: float, *, tau: float = 1.0, options: DMFTOptions = DMFTOptions()
) -> DMFTSolution:
    """Solve the SCS DMFT at ``gain``: $q$, $\\Delta(\\tau)$ and $\\lambda_\\max$.

    Example:
        >>> scs_dmft(2.0).lyapunov_max  # about 0.17 per unit time
    """
    if not gain > 0:
        raise InvalidInputError(f"gain={gain!r} must be > 0")
    if not tau > 0:
        raise InvalidInputError(f"tau={tau!r} must be > 0")
    q = self_consistent_variance(gain, options.quadrature)
    delta = _autocorrelation(gain, q, options)
    h = options.lag_step
    # Symmetric grid tau in [-L, L]; Dirichlet ends.
    half = _correlation_table(_dphi, q, options)(delta) if q > 0 else np.ones_like(delta)
    c_dphi = np.concatenate([half[:0:-1], half])
    diagonal = 2.0 / h**2 + 1.0 - gain**2 * c_dphi
    off_diagonal = np.full(len(c_dphi) - 1, -1.0 / h**2)
    ground = eigh_tridiagonal(
        diagonal, off_diagonal, eigvals_only=True, select="i", select_range=(0, 0)
    )[0]
    if q == 0:
        ground = 1.0 - gain**2  # the continuum edge, exact for the infinite line
    lyapunov = (-1.0 + np.sqrt(max(1.0 - ground, 0.0))) / tau
    lags = tau * np.arange(len(delta)) * h
    return DMFTSolution(float(gain), float(tau), q, lags, delta, float(ground), float(lyapunov))


def scs_lyapunov_max(gain: float, *, tau: float = 1.0, options: DMFTOptions = DMFTOptions()):
    """Largest Lyapunov exponent predicted by the SCS DMFT (per unit time)."""
    return scs_dmft(gain, tau=tau, options=options).lyapunov_max
