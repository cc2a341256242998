r"""A batch of trials through the Euler-stepped rate network in one loop, with BPTT by hand.

The leaky counterpart of :func:`rnnlab.models.elman_outputs` (same layout: time-major,
the batch as the columns of (N, B) matrices, one product per step for the recurrence
and the input drive) for :class:`rnnlab.models.EulerRateRNN`,

$$h_{k+1} = (1 - \alpha)\,h_k + \alpha\,(J r_k + B u_k + b), \qquad r_k = \tanh h_k,
\qquad z_k = W r_{k+1} + c, \qquad h_0 = 0.$$

Reverse mode is the backward pass of this recursion (Werbos 1990), with
$g_k = \partial L / \partial h_k$ and $\bar z_k = \partial L / \partial z_k$:

$$g_{k+1} = (1 - \alpha)\,g_{k+2} + (1 - r_{k+1}^2) \odot
\big(W^\top \bar z_k + \alpha J^\top g_{k+2}\big), \qquad g_{T+1} = 0,$$

$$\bar J = \alpha \sum_k g_{k+1} r_k^\top, \quad \bar B = \alpha \sum_k g_{k+1} u_k^\top,
\quad \bar b = \alpha \sum_k g_{k+1}, \quad \bar W = \sum_k \bar z_k r_{k+1}^\top, \quad
\bar c = \sum_k \bar z_k, \quad \bar u_k = \alpha B^\top g_{k+1},$$

$$\bar\alpha = \sum_k g_{k+1} \cdot (J r_k + B u_k + b - h_k)
= \frac{1}{\alpha} \sum_k g_{k+1} \cdot (h_{k+1} - h_k).$$

The forward loop stores $h_k$ and the backward loop recomputes $r_k = \tanh h_k$ (one
tanh per step instead of a second (T, N, B) array). With $\alpha = 1$ the rates follow
the Elman recursion exactly. The numbers equal autodiff of the per-trial scan
(:meth:`EulerRateRNN.run`) to rounding (tested).

Reference: Werbos, Proc. IEEE 78, 1550 (1990), DOI 10.1109/5.58337.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._elman_batch import _unroll


def _forward(weights, alpha, inputs):
    """(each step's $h_k$, last state $h_T$, outputs), batch as the last axis."""
    recurrent, input_weights, bias, readout, readout_bias = weights
    dtype = recurrent.dtype
    kernel = jnp.concatenate([recurrent, input_weights], axis=1)

    def step(state, u):
        drive = kernel @ jnp.concatenate([jnp.tanh(state), u.astype(dtype)], axis=0)
        if bias is not None:
            drive = drive + bias[:, None]
        new = (1 - alpha) * state + alpha * drive
        return new, (state, readout @ jnp.tanh(new) + readout_bias[:, None])

    state0 = jnp.zeros((recurrent.shape[0], inputs.shape[2]), dtype)
    last, (states, outputs) = jax.lax.scan(step, state0, inputs, unroll=_unroll())
    return states, last, outputs


@jax.custom_vjp
def euler_rate_outputs(
    weights: tuple,
    alpha: Float[Array, ""],
    inputs: Float[Array, "time input batch"],
) -> Float[Array, "time output batch"]:
    r"""Outputs $z_k$ of a batch of trials of the Euler-stepped rate network,
    time-major with the batch last, from $h_0 = 0$.

    ``weights`` = ``(J, B, b, W, c)`` with ``b`` ``None`` for no bias; ``alpha`` =
    $\Delta t / \tau$ (a scalar in (0, 1]); ``inputs`` (T, I, B) are cast to the weights'
    dtype step by step. Differentiable in reverse mode with respect to all three (not in
    forward mode); ``vmap`` over a leading member axis works as usual.
    """
    return _forward(weights, alpha, inputs)[2]


def _euler_rate_outputs_fwd(weights, alpha, inputs):
    states, last, outputs = _forward(weights, alpha, inputs)
    return outputs, (weights, alpha, inputs, states, last)


def _euler_rate_outputs_bwd(residuals, output_cotangent):
    weights, alpha, inputs, states, last = residuals
    recurrent, input_weights, bias, readout, readout_bias = weights
    size = recurrent.shape[0]
    dtype = recurrent.dtype
    output_cotangent = output_cotangent.astype(dtype)
    recurrent_t, input_t, readout_t = recurrent.T, input_weights.T, readout.T

    def step(carry, xs):
        state, rates, adjoint, back, d_kernel, d_bias, d_readout, d_alpha = carry
        z_bar, previous, u = xs  # z̄_k, h_k, u_k; state = h_{k+1}, adjoint = g_{k+2}
        adjoint = (1 - alpha) * adjoint + (1 - rates * rates) * (readout_t @ z_bar + back)
        previous_rates = jnp.tanh(previous)
        joint = jnp.concatenate([previous_rates, u.astype(dtype)], axis=0)
        carry = (
            previous,
            previous_rates,
            adjoint,
            alpha * (recurrent_t @ adjoint),
            d_kernel + adjoint @ joint.T,
            d_bias + adjoint.sum(1),
            d_readout + z_bar @ rates.T,
            d_alpha + jnp.vdot(adjoint, state - previous),
        )
        return carry, input_t @ adjoint

    zeros = jnp.zeros_like
    d_kernel = jnp.zeros((size, size + input_weights.shape[1]), dtype)
    start = (last, jnp.tanh(last), zeros(last), zeros(last), d_kernel, zeros(last[:, 0]))
    start += (zeros(readout), jnp.zeros((), dtype))
    carry, d_inputs = jax.lax.scan(
        step, start, (output_cotangent, states, inputs), reverse=True, unroll=_unroll()
    )
    d_kernel, d_bias, d_readout, d_alpha = carry[4:]
    d_weights = (
        alpha * d_kernel[:, :size],
        alpha * d_kernel[:, size:],
        None if bias is None else alpha * d_bias,
        d_readout,
        output_cotangent.sum((0, 2)),
    )
    d_alpha = (d_alpha / alpha).astype(jnp.result_type(alpha))
    return d_weights, d_alpha, (alpha * d_inputs).astype(inputs.dtype)


euler_rate_outputs.defvjp(_euler_rate_outputs_fwd, _euler_rate_outputs_bwd)
