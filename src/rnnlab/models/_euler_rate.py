r"""A :class:`RateRNN` stepped by forward Euler, so it trains on tasks like an Elman RNN."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float

from .._errors import InvalidInputError
from .._types import Key, State
from ._base import AbstractDiscreteModel
from ._euler_rate_batch import euler_rate_outputs
from ._init import glorot_uniform, make_initialiser, scale_by_gain
from ._rate import RateRNN


class EulerRateRNN(AbstractDiscreteModel):
    r"""The continuous-time rate network on a task's time grid (forward Euler)

    $$h_{k+1} = (1 - \alpha)\,h_k + \alpha\,\big(J \tanh h_k + B u_k + b\big), \qquad
    z_k = W \tanh h_{k+1} + c, \qquad \alpha = \Delta t / \tau,$$

    i.e. $\tau \dot h = -h + J \tanh h + B u(t)$ (:class:`RateRNN`) with the input held
    constant over each step of ``dt`` (the task's 1 ms), and a linear read-out of the
    rates $\tanh h$. Fields: ``network`` (the :class:`RateRNN`, with input and readout
    weights), ``readout_bias`` $c$, ``bias`` $b$ (or ``None``: no bias, the default),
    ``dt`` (static). $\tau$ is not trained (the gradient is stopped); $J$, $B$, $W$, $b$
    and $c$ are. :meth:`for_task` builds one with the initialisers of :class:`ElmanRNN`.

    For $\alpha = 1$ the rates $r_k = \tanh h_{k+1}$ obey $r_k = \tanh(J r_{k-1} + B u_k)$:
    exactly :class:`ElmanRNN` with $W_{rec} = J$ (spec §2.4, and tested). Every task,
    :func:`rnnlab.learning.train_bptt` and every analysis of a step map take it; its
    Jacobian at a state is $(1 - \alpha) I + \alpha J\,\mathrm{diag}(1 - \tanh^2 h)$.

    Example:
        >>> rate = RateRNN(50, gain=1.0, key=jr.key(0), tau=10.0, input_size=2, output_size=1)
        >>> net = EulerRateRNN(rate, dt=1.0)
        >>> net(jnp.zeros((200, 2))).shape
        (200, 1)

    References: Song, Yang & Wang, PLoS Comput. Biol. 12, e1004792 (2016),
    DOI 10.1371/journal.pcbi.1004792 (the discretisation); Jarne & Laje,
    arXiv:1906.01094 (spec §2.4: the continuous-time variant).
    """

    network: RateRNN
    readout_bias: Float[Array, " output"]
    bias: Float[Array, " hidden"] | None
    dt: float = eqx.field(static=True)

    def __init__(self, network: RateRNN, *, dt: float, use_bias: bool = False):
        if network.input_weights is None or network.readout_weights is None:
            raise InvalidInputError(
                "EulerRateRNN needs a RateRNN with inputs and a readout; build it with "
                "input_size > 0 and output_size > 0"
            )
        if not dt > 0:
            raise InvalidInputError(f"dt={dt!r} must be > 0, e.g. dt=1.0 (ms)")
        alpha = dt / float(network.tau)
        if alpha > 1:
            raise InvalidInputError(
                f"dt/tau = {alpha:.3g} must be <= 1 (forward Euler overshoots the leak); "
                f"use dt <= tau={float(network.tau)!r}"
            )
        self.network = network
        self.readout_bias = jnp.zeros(
            (network.readout_weights.shape[0],), network.readout_weights.dtype
        )
        self.bias = (
            jnp.zeros((network.state_size,), network.recurrent_weights.dtype) if use_bias else None
        )
        self.dt = float(dt)

    @classmethod
    def for_task(
        cls,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        key: Key,
        tau: float,
        dt: float = 1.0,
        recurrent_init: str = "orthogonal",
        gain: float = 1.0,
        use_bias: bool = False,
        dtype=jnp.float32,
    ) -> "EulerRateRNN":
        """A network initialised as :class:`ElmanRNN` is: $J$ = ``gain`` times the
        ``recurrent_init`` initialiser, $B$ and $W$ Glorot uniform, $b$ and $c$ zero."""
        if not gain > 0:
            raise InvalidInputError(f"gain={gain!r} must be > 0; e.g. gain=1")
        initialiser = make_initialiser(recurrent_init)
        base_key, recurrent_key, input_key, readout_key = jr.split(key, 4)
        rate = RateRNN(
            hidden_size,
            gain=gain,
            key=base_key,
            tau=tau,
            input_size=input_size,
            output_size=output_size,
            dtype=dtype,
        )
        rate = eqx.tree_at(
            lambda r: (r.recurrent_weights, r.input_weights, r.readout_weights),
            rate,
            (
                scale_by_gain(initialiser(recurrent_key, (hidden_size, hidden_size), dtype), gain),
                glorot_uniform(input_key, (hidden_size, input_size), dtype),
                glorot_uniform(readout_key, (output_size, hidden_size), dtype),
            ),
        )
        return cls(rate, dt=dt, use_bias=use_bias)

    @property
    def state_size(self) -> int:
        return self.network.state_size

    @property
    def recurrent_weights(self) -> Float[Array, "hidden hidden"]:
        """$J$, the recurrent matrix (spectra and pruning act on it)."""
        return self.network.recurrent_weights

    def with_recurrent_weights(self, weights: Array) -> "EulerRateRNN":
        """A copy with $J$ replaced (e.g. pruned); works on stacked models too."""
        return eqx.tree_at(lambda m: m.network.recurrent_weights, self, weights)

    def step(self, state: State, inputs: Array | None, *, key: Key | None = None) -> State:
        """One Euler step of ``dt`` with the input held at ``inputs`` (``None``: zero)."""
        net = self.network
        alpha = self.dt / jax.lax.stop_gradient(net.tau)
        drive = net.recurrent_weights @ jnp.tanh(state)
        if inputs is not None:
            drive = drive + net.input_weights @ jnp.asarray(inputs, drive.dtype)
        if self.bias is not None:
            drive = drive + self.bias
        return (1 - alpha) * state + alpha * drive

    def readout(self, state: State) -> Float[Array, " output"]:
        """$z = W \\tanh h + c$."""
        return self.network.readout(state) + self.readout_bias

    def run(
        self, inputs: Float[Array, "time input"], *, state0: State | None = None
    ) -> tuple[Float[Array, "time hidden"], Float[Array, "time output"]]:
        """Run a whole input sequence; returns ``(states, outputs)``, state $k$ being the
        one after input $k$ (as :meth:`ElmanRNN.run`). ``state0`` defaults to zeros."""
        dtype = self.network.recurrent_weights.dtype
        if state0 is None:
            state0 = jnp.zeros((self.state_size,), dtype)

        def body(state, x):
            new = self.step(state, x)
            return new, new

        _, states = jax.lax.scan(body, state0, jnp.asarray(inputs, dtype))
        outputs = jnp.tanh(states) @ self.network.readout_weights.T + self.readout_bias
        return states, outputs

    def __call__(self, inputs: Float[Array, "time input"]) -> Float[Array, "time output"]:
        """Outputs for an input sequence, from $h = 0$."""
        return self.run(inputs)[1]

    def batch_outputs(
        self, inputs: Float[Array, "batch time input"]
    ) -> Float[Array, "batch time output"]:
        """The outputs ``jax.vmap(self)(inputs)``, computed batch-major in one loop with a
        hand-written backward pass (:func:`rnnlab.models.euler_rate_outputs`): what BPTT
        trains through. Reverse mode only; for ``jvp`` / ``jacfwd`` use ``jax.vmap(self)``.
        A subclass that overrides ``step``, ``run`` or ``__call__`` gets ``jax.vmap(self)``
        here, so its own equations are the ones trained."""
        cls = type(self)
        if any(getattr(cls, name) is not getattr(EulerRateRNN, name) for name in _OWN):
            return jax.vmap(self)(inputs)
        net = self.network
        dtype = net.recurrent_weights.dtype
        alpha = jnp.asarray(self.dt, dtype) / jax.lax.stop_gradient(net.tau.astype(dtype))
        weights = (
            net.recurrent_weights,
            net.input_weights,
            self.bias,
            net.readout_weights,
            self.readout_bias,
        )
        outputs = euler_rate_outputs(weights, alpha, jnp.transpose(inputs, (1, 2, 0)))
        return jnp.transpose(outputs, (2, 0, 1))


_OWN = ("step", "readout", "run", "__call__")  # the equations batch_outputs reproduces
