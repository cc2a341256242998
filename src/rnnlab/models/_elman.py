r"""The discrete-time tanh network of Elman (1990), as Keras' ``SimpleRNN`` + ``Dense``."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float

from .._errors import InvalidInputError
from .._types import Key, State
from ._base import AbstractDiscreteModel
from ._elman_batch import elman_outputs
from ._init import glorot_uniform, make_initialiser, scale_by_gain


class ElmanRNN(AbstractDiscreteModel):
    r"""Discrete-time tanh RNN with a linear read-out

    $$h_t = \tanh(W h_{t-1} + U x_t + b), \qquad z_t = V h_t + c, \qquad h_{-1} = 0.$$

    One step is one ``dt`` of a task (1 ms in the paper); the input at step $t$ reaches
    the output at step $t$. Symbols and fields: $W$ = ``recurrent_weights`` (N x N),
    $U$ = ``input_weights`` (N x I), $V$ = ``readout_weights`` (O x N), $c$ =
    ``readout_bias`` (O,), $b$ = ``bias`` (N,) or ``None`` (no recurrent bias, the
    paper's default).

    Initialisation: $W$ = ``gain`` times the ``recurrent_init`` initialiser
    (``orthogonal``, ``normal``, ``identity``, ``glorot_uniform``; see
    :func:`rnnlab.models.make_initialiser`); $U$ and $V$ Glorot uniform; $c$, $b$ zero.

    Where we differ from Keras: Keras multiplies row vectors, $h R$, so its kernel is
    $R = W^\top$; spectra and magnitude pruning do not care, per-row masks do.

    Example:
        >>> net = ElmanRNN(2, 50, 1, key=jr.key(0))
        >>> states, outputs = net.run(jnp.zeros((200, 2)))
        >>> outputs.shape
        (200, 1)

    References: Elman, Cogn. Sci. 14, 179 (1990), DOI 10.1207/s15516709cog1402_1;
    Jarne & Laje, arXiv:1906.01094.
    """

    recurrent_weights: Float[Array, "hidden hidden"]
    input_weights: Float[Array, "hidden input"]
    readout_weights: Float[Array, "output hidden"]
    readout_bias: Float[Array, " output"]
    bias: Float[Array, " hidden"] | None

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        key: Key,
        recurrent_init: str = "orthogonal",
        gain: float = 1.0,
        use_bias: bool = False,
        dtype=jnp.float32,
    ):
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("output_size", output_size),
        ):
            if not isinstance(value, int) or value <= 0:
                raise InvalidInputError(f"{name}={value!r} must be a positive integer")
        if not gain > 0:
            raise InvalidInputError(f"gain={gain!r} must be > 0; the paper uses gain=1")
        initialiser = make_initialiser(recurrent_init)
        recurrent_key, input_key, readout_key = jr.split(key, 3)
        self.recurrent_weights = scale_by_gain(
            initialiser(recurrent_key, (hidden_size, hidden_size), dtype), gain
        )
        self.input_weights = glorot_uniform(input_key, (hidden_size, input_size), dtype)
        self.readout_weights = glorot_uniform(readout_key, (output_size, hidden_size), dtype)
        self.readout_bias = jnp.zeros((output_size,), dtype)
        self.bias = jnp.zeros((hidden_size,), dtype) if use_bias else None

    @property
    def state_size(self) -> int:
        return self.recurrent_weights.shape[0]

    @property
    def input_size(self) -> int:
        """Number of input channels."""
        return self.input_weights.shape[1]

    def with_recurrent_weights(self, weights: Array) -> "ElmanRNN":
        """A copy with $W$ replaced (e.g. pruned); works on stacked models too."""
        return eqx.tree_at(lambda m: m.recurrent_weights, self, weights)

    def step(self, state: State, inputs: Array | None, *, key: Key | None = None) -> State:
        """$h_t = \\tanh(W h_{t-1} + U x_t + b)$; ``inputs`` ``None`` means $x_t = 0$."""
        drive = self.recurrent_weights @ state
        if inputs is not None:
            drive = drive + self.input_weights @ jnp.asarray(inputs, drive.dtype)
        if self.bias is not None:
            drive = drive + self.bias
        return jnp.tanh(drive)

    def readout(self, state: State) -> Float[Array, " output"]:
        """Linear read-out $z = V h + c$."""
        return self.readout_weights @ state + self.readout_bias

    def run(
        self,
        inputs: Float[Array, "time input"],
        *,
        state0: State | None = None,
    ) -> tuple[Float[Array, "time hidden"], Float[Array, "time output"]]:
        """Run a whole input sequence with ``lax.scan``; returns ``(states, outputs)``.

        ``state0`` defaults to zeros ($h_{-1} = 0$). Inputs are cast to the weights' dtype.
        """
        dtype = self.recurrent_weights.dtype
        if state0 is None:
            state0 = jnp.zeros((self.state_size,), dtype)
        drive = jnp.asarray(inputs, dtype) @ self.input_weights.T  # all steps in one GEMM
        if self.bias is not None:
            drive = drive + self.bias
        states = tanh_recurrence(self.recurrent_weights, drive, state0)
        outputs = states @ self.readout_weights.T + self.readout_bias
        return states, outputs

    def __call__(self, inputs: Float[Array, "time input"]) -> Float[Array, "time output"]:
        """Outputs for an input sequence, from $h_{-1} = 0$."""
        return self.run(inputs)[1]

    def batch_outputs(
        self, inputs: Float[Array, "batch time input"]
    ) -> Float[Array, "batch time output"]:
        """The outputs ``jax.vmap(self)(inputs)``, computed batch-major in one loop with a
        hand-written backward pass (:func:`rnnlab.models.elman_outputs`): what BPTT trains
        through. Reverse mode only; for ``jvp`` / ``jacfwd`` use ``jax.vmap(self)``. A
        subclass that overrides ``run`` or ``__call__`` gets ``jax.vmap(self)`` here, so its
        own equations are the ones trained."""
        cls = type(self)
        if cls.run is not ElmanRNN.run or cls.__call__ is not ElmanRNN.__call__:
            return jax.vmap(self)(inputs)
        weights = (
            self.recurrent_weights,
            self.input_weights,
            self.bias,
            self.readout_weights,
            self.readout_bias,
        )
        return jnp.transpose(elman_outputs(weights, jnp.transpose(inputs, (1, 2, 0))), (2, 0, 1))


def _scan_tanh(weights, drive, state0):
    def body(state, a):
        new = jnp.tanh(weights @ state + a)
        return new, new

    return jax.lax.scan(body, state0, drive)[1]


@jax.custom_jvp
def tanh_recurrence(
    weights: Float[Array, "hidden hidden"],
    drive: Float[Array, "time hidden"],
    state0: Float[Array, " hidden"],
) -> Float[Array, "time hidden"]:
    r"""States $h_t = \tanh(W h_{t-1} + a_t)$, $t = 0 \dots T-1$, from $h_{-1}$ = ``state0``

    The same numbers as a plain ``lax.scan``, with a derivative rule that keeps BPTT's
    inner loop to one matrix product per step. Its tangent is

    $$\dot h_t = (1 - h_t^2) \odot \big(W \dot h_{t-1} + c_t\big), \qquad
    c_t = \dot W h_{t-1} + \dot a_t,$$

    where $c$ for all steps is one matrix product outside the loop. Reverse mode
    transposes it: the backward scan carries only $W^\top e_t$, and the weight gradient
    $\sum_t e_t h_{t-1}^\top$ becomes a single large product instead of one small outer
    product per step (plain autodiff of the scan accumulates it inside the loop).
    Forward mode (``jvp``, ``jacfwd``) works as usual.
    """
    return _scan_tanh(weights, drive, state0)


@tanh_recurrence.defjvp
def _tanh_recurrence_jvp(primals, tangents):
    weights, drive, state0 = primals
    d_weights, d_drive, d_state0 = tangents
    states = _scan_tanh(weights, drive, state0)
    previous = jnp.concatenate([state0[None], states[:-1]], axis=0)
    forcing = previous @ d_weights.T + d_drive  # its transpose is the weight gradient
    slope = 1 - states**2

    def body(d_state, xs):
        c, s = xs
        d_state = s * (weights @ d_state + c)
        return d_state, d_state

    d_states = jax.lax.scan(body, d_state0, (forcing, slope))[1]
    return states, d_states


def stack_models(models: list[eqx.Module]) -> eqx.Module:
    """Stack models of one structure into one with a leading ``member`` axis on each leaf.

    The stacked model is what :func:`rnnlab.learning.train_bptt` trains (with ``vmap``);
    members may come from different initialisers as long as the shapes agree.
    """
    if not models:
        raise InvalidInputError("stack_models needs at least one model")
    arrays = [eqx.filter(m, eqx.is_array) for m in models]
    static = eqx.partition(models[0], eqx.is_array)[1]
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *arrays)
    return eqx.combine(stacked, static)


def unstack_model(models: eqx.Module, index: int) -> eqx.Module:
    """Member ``index`` of a model stacked by :func:`stack_models`."""
    arrays, static = eqx.partition(models, eqx.is_array)
    return eqx.combine(jax.tree.map(lambda leaf: leaf[index], arrays), static)


def pad_units(model: ElmanRNN, hidden_size: int) -> ElmanRNN:
    r"""``model`` with silent units appended up to ``hidden_size`` (member axes allowed).

    The new units have zero weights in, out and among themselves (and zero bias), so
    their states stay $\tanh 0 = 0$, the outputs are the original network's, and every
    gradient with respect to a new weight vanishes exactly: with $W = [[W_0, 0], [0, 0]]$,
    the backward error of a silent unit is $(W^\top e + V^\top \bar z)_{\rm pad} = 0$, so
    $\bar W = e\,h^\top$ is zero outside the original block, and Adam's step is zero where
    its moments are. Networks of different sizes padded to one size can therefore be
    stacked and trained together (a size sweep on an accelerator) and cut back with
    :func:`trim_units`.
    """
    size = model.recurrent_weights.shape[-1]
    extra = hidden_size - size
    if extra < 0:
        raise InvalidInputError(
            f"hidden_size={hidden_size!r} is below the model's {size} units; "
            f"pad to at least {size}"
        )

    def pad(leaf, axes):
        widths = [(0, 0)] * leaf.ndim
        for axis in axes:
            widths[axis] = (0, extra)
        return jnp.pad(leaf, widths)

    padded = eqx.tree_at(
        lambda m: (m.recurrent_weights, m.input_weights, m.readout_weights),
        model,
        (
            pad(model.recurrent_weights, (-2, -1)),
            pad(model.input_weights, (-2,)),
            pad(model.readout_weights, (-1,)),
        ),
    )
    if model.bias is not None:
        padded = eqx.tree_at(lambda m: m.bias, padded, pad(model.bias, (-1,)))
    return padded


def trim_units(model: ElmanRNN, hidden_size: int) -> ElmanRNN:
    """The first ``hidden_size`` units of ``model`` (undoes :func:`pad_units`)."""
    n = hidden_size
    trimmed = eqx.tree_at(
        lambda m: (m.recurrent_weights, m.input_weights, m.readout_weights),
        model,
        (
            model.recurrent_weights[..., :n, :n],
            model.input_weights[..., :n, :],
            model.readout_weights[..., :n],
        ),
    )
    if model.bias is not None:
        trimmed = eqx.tree_at(lambda m: m.bias, trimmed, model.bias[..., :n])
    return trimmed
