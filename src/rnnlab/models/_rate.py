"""The random rate network of Sompolinsky, Crisanti & Sommers (1988)."""

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float

from .._errors import InvalidInputError
from .._types import Key, State
from ._base import AbstractContinuousModel
from ._init import random_normal, scale_by_gain, zero_diagonal


class RateRNN(AbstractContinuousModel):
    r"""Continuous-time rate network

    $$\tau \dot{h} = -h + J\,\phi(h) + B\,u(t), \qquad y = W\,\phi(h), \qquad \phi = \tanh,$$

    with $J_{ij} \sim \mathcal{N}(0, g^2/N)$. For $N \to \infty$ and no input the zero
    fixed point is stable for $g < 1$ and the network is chaotic for $g > 1$.

    Symbols and fields: $J$ = ``recurrent_weights`` (N x N), $B$ = ``input_weights``
    (N x I, optional), $W$ = ``readout_weights`` (O x N, optional), $\tau$ = ``tau``,
    $g$ = ``gain`` (recorded; $J$ already carries it).

    ``args`` of :meth:`vector_field` is ``None`` or a callable ``u(t)`` returning the
    input vector.

    Example:
        >>> import jax.random as jr
        >>> net = RateRNN(100, gain=2.0, key=jr.key(0))
        >>> net.vector_field(0.0, jnp.zeros(100), None).shape
        (100,)

    References: Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988),
    DOI 10.1103/PhysRevLett.61.259.
    """

    recurrent_weights: Float[Array, "hidden hidden"]
    input_weights: Float[Array, "hidden input"] | None
    readout_weights: Float[Array, "output hidden"] | None
    # Arrays, not static fields: a sweep over gain or tau reuses one compiled program.
    tau: Float[Array, ""]
    gain: Float[Array, ""]

    def __init__(
        self,
        hidden_size: int,
        *,
        gain: float,
        key: Key,
        tau: float = 1.0,
        input_size: int = 0,
        output_size: int = 0,
        self_coupling: bool = True,
        dtype=jnp.float64,
    ):
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise InvalidInputError(
                f"hidden_size={hidden_size!r} must be a positive integer; e.g. hidden_size=200"
            )
        if not gain > 0:
            raise InvalidInputError(f"gain={gain!r} must be > 0; the SCS onset is gain=1")
        if not tau > 0:
            raise InvalidInputError(f"tau={tau!r} must be > 0; e.g. tau=1.0")
        if input_size < 0 or output_size < 0:
            raise InvalidInputError(
                f"input_size={input_size}, output_size={output_size} must be >= 0"
            )
        recurrent_key, input_key, readout_key = jr.split(key, 3)
        weights = scale_by_gain(
            random_normal(recurrent_key, (hidden_size, hidden_size), dtype), gain
        )
        self.recurrent_weights = weights if self_coupling else zero_diagonal(weights)
        self.input_weights = (
            jr.normal(input_key, (hidden_size, input_size), dtype) if input_size else None
        )
        self.readout_weights = (
            random_normal(readout_key, (output_size, hidden_size), dtype) if output_size else None
        )
        self.tau = jnp.asarray(tau, dtype)
        self.gain = jnp.asarray(gain, dtype)

    @property
    def state_size(self) -> int:
        return self.recurrent_weights.shape[0]

    def vector_field(self, t, state: State, args: Callable | None) -> State:
        drive = self.recurrent_weights @ jnp.tanh(state)
        if args is not None and self.input_weights is not None:
            drive = drive + self.input_weights @ args(t)
        return (drive - state) / self.tau

    def readout(self, state: State) -> Array:
        """Linear readout $y = W \\tanh(h)$."""
        if self.readout_weights is None:
            raise InvalidInputError("this RateRNN has no readout; build it with output_size > 0")
        return self.readout_weights @ jnp.tanh(state)
