"""Dimension and timescales of trajectories."""

from typing import NamedTuple

import numpy as np

from .._errors import InvalidInputError


def participation_ratio(trajectory) -> float:
    r"""Participation-ratio dimension $\mathrm{PR} = (\mathrm{tr}\,C)^2 / \mathrm{tr}(C^2)$.

    $C$ is the covariance of the (time, dim) ``trajectory`` with the mean removed.
    Equals $(\sum\mu_i)^2/\sum\mu_i^2$ over the eigenvalues $\mu_i$ of $C$; 1 for activity
    on a line, $d$ for isotropic activity. Needs many more samples than PR.

    References: Gao et al., bioRxiv 214262 (2017); Rajan, Abbott & Sompolinsky (2010).
    """
    x = np.asarray(trajectory, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise InvalidInputError(f"trajectory must be (time >= 2, dim); got shape {x.shape}")
    x = x - x.mean(axis=0)
    # tr C and tr C^2 from the Gram matrix of the smaller side: same non-zero eigenvalues.
    gram = x @ x.T if x.shape[0] < x.shape[1] else x.T @ x
    trace = np.trace(gram)
    return float(trace**2 / np.sum(gram * gram))


class Autocorrelation(NamedTuple):
    r"""Population-averaged autocorrelation $C(\tau) = \frac1N\sum_i\langle\delta x_i(t)
    \delta x_i(t+\tau)\rangle$ and its decay times.

    ``integral_time``: $\int_0^{\tau^*} C/C(0)\,d\tau$ with $\tau^*$ the first zero
    crossing; ``efold_time``: first $\tau$ with $C/C(0) \le 1/e$ (linearly interpolated).
    """

    lags: np.ndarray
    values: np.ndarray
    integral_time: float
    efold_time: float


def autocorrelation(trajectory, dt: float, *, max_lag: float | None = None) -> Autocorrelation:
    """Autocorrelation of a (time, dim) trajectory sampled every ``dt``, via FFT."""
    x = np.asarray(trajectory, dtype=np.float64)
    x = x - x.mean(axis=0)
    n = x.shape[0]
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(x, n=size, axis=0)
    raw = np.fft.irfft(np.abs(spectrum) ** 2, n=size, axis=0)[:n]
    values = raw.mean(axis=1) / (n - np.arange(n))  # unbiased estimator, averaged over units
    lags = dt * np.arange(n)
    if max_lag is not None:
        keep = lags <= max_lag
        lags, values = lags[keep], values[keep]
    normalised = values / values[0]
    below = np.nonzero(normalised <= 0)[0]
    stop = below[0] if below.size else len(normalised)
    integral = float(np.trapezoid(normalised[:stop], lags[:stop]))
    efold = np.nonzero(normalised <= np.exp(-1))[0]
    if efold.size:
        i = efold[0]
        a, b = normalised[i - 1], normalised[i]
        efold_time = float(lags[i - 1] + (a - np.exp(-1)) / (a - b) * dt)
    else:
        efold_time = float("nan")
    return Autocorrelation(lags, values, integral, efold_time)
