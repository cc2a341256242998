r"""A batch of trials through the Elman network in one loop, with a hand-written BPTT.

Training reads out every step of every trial, so the loss needs only the outputs

$$h_t = \tanh(W h_{t-1} + U x_t + b), \qquad z_t = V h_t + c, \qquad h_{-1} = 0,$$

for a batch of $B$ trials at once. Written per trial and ``vmap``-ed, the same
computation costs XLA:CPU several times more per step (the batch axis ends up beside
the hidden axis inside the loop, and reverse-mode autodiff of a ``lax.scan`` keeps
whole (T, B, N) arrays for every intermediate). Here the loop runs over time with the
states of the batch as the columns of one (N, B) matrix (so every product has the
operand layout of XLA's fast CPU matrix kernels: no transposed left operand), the input
drive and the read-out are computed inside the step, and reverse mode is the textbook
backward pass (Werbos 1990), one step at a time:

$$e_t = (1 - h_t^2) \odot \big(V^\top \bar z_t + W^\top e_{t+1}\big), \qquad
\bar W = \sum_t e_t h_{t-1}^\top, \quad \bar U = \sum_t e_t x_t^\top, \quad
\bar b = \sum_t e_t, \quad \bar V = \sum_t \bar z_t h_t^\top, \quad \bar c = \sum_t \bar z_t,$$

with $\bar z_t = \partial L / \partial z_t$ (summed over the batch). The forward loop
stores $[h_{t-1}; x_t]$ for each step, so $\bar W$ and $\bar U$ are one product per step
and the backward loop carries $h_t$ back down (no array is shifted or copied). The
numbers equal autodiff of the per-trial scan to rounding (tested).

Reference: Werbos, Proc. IEEE 78, 1550 (1990), DOI 10.1109/5.58337.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

#: Time steps per loop iteration (``lax.scan``'s ``unroll``); None: 1 on a CPU, where
#: unrolling only lengthens compilation, and :data:`ACCELERATOR_UNROLL` elsewhere, where
#: every loop iteration costs a round trip to the host and the step's kernels are tiny.
#: Read when a computation is traced: set it before the first training call, since
#: compiled programs are cached. "CPU" means JAX's default backend.
UNROLL: int | None = None
ACCELERATOR_UNROLL = 8


def _unroll() -> int:
    if UNROLL is not None:
        return UNROLL
    return 1 if jax.default_backend() == "cpu" else ACCELERATOR_UNROLL


def _forward(weights, inputs):
    """(each step's $[h_{t-1}; x_t]$, last state, outputs), batch as the last axis.

    Column vectors, as in the equations: one product per step, $[W, U] [h_{t-1}; x_t]$,
    whose operands the CPU's fast matrix kernels take as they are."""
    recurrent, input_weights, bias, readout, readout_bias = weights
    dtype = recurrent.dtype
    kernel = jnp.concatenate([recurrent, input_weights], axis=1)

    def step(previous, x):
        joint = jnp.concatenate([previous, x.astype(dtype)], axis=0)
        drive = kernel @ joint
        if bias is not None:
            drive = drive + bias[:, None]
        state = jnp.tanh(drive)
        return state, (joint, readout @ state + readout_bias[:, None])

    state0 = jnp.zeros((recurrent.shape[0], inputs.shape[2]), dtype)
    last, (joints, outputs) = jax.lax.scan(step, state0, inputs, unroll=_unroll())
    return joints, last, outputs


@jax.custom_vjp
def elman_outputs(
    weights: tuple,
    inputs: Float[Array, "time input batch"],
) -> Float[Array, "time output batch"]:
    r"""Outputs $z_t$ of a batch of trials, time-major with the batch last, from
    $h_{-1} = 0$.

    ``weights`` = ``(W, U, b, V, c)`` with ``b`` ``None`` for no recurrent bias;
    ``inputs`` (T, I, B) are cast to the weights' dtype step by step. Differentiable in
    reverse mode (``grad``, ``vjp``) with respect to ``weights`` and ``inputs``, not in
    forward mode (``jvp``). ``vmap`` over a leading member axis of the weights works as
    usual.
    """
    return _forward(weights, inputs)[2]


def _elman_outputs_fwd(weights, inputs):
    joints, last, outputs = _forward(weights, inputs)
    return outputs, (weights, inputs, joints, last)


def _elman_outputs_bwd(residuals, output_cotangent):
    weights, inputs, joints, last = residuals
    recurrent, input_weights, bias, readout, readout_bias = weights
    size = recurrent.shape[0]
    output_cotangent = output_cotangent.astype(recurrent.dtype)
    recurrent_t, input_t, readout_t = recurrent.T, input_weights.T, readout.T

    def step(carry, xs):
        state, back, d_kernel, d_bias, d_readout = carry
        z_bar, joint = xs
        error = (1 - state * state) * (readout_t @ z_bar + back)
        carry = (
            joint[:size],  # h_{t-1}, the state of the next step down
            recurrent_t @ error,
            d_kernel + error @ joint.T,
            d_bias + error.sum(1),
            d_readout + z_bar @ state.T,
        )
        return carry, input_t @ error  # the input's cotangent (dropped by XLA if unused)

    zeros = jnp.zeros_like
    d_kernel = jnp.zeros((size, joints.shape[1]), last.dtype)
    start = (last, zeros(last), d_kernel, zeros(last[:, 0]), zeros(readout))
    carry, d_inputs = jax.lax.scan(
        step, start, (output_cotangent, joints), reverse=True, unroll=_unroll()
    )
    _, _, d_kernel, d_bias, d_readout = carry
    d_weights = (
        d_kernel[:, :size],
        d_kernel[:, size:],
        None if bias is None else d_bias,
        d_readout,
        output_cotangent.sum((0, 2)),
    )
    return d_weights, d_inputs.astype(inputs.dtype)


elman_outputs.defvjp(_elman_outputs_fwd, _elman_outputs_bwd)
