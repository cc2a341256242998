r"""Presets: the layouts of Jarne & Laje's trial generators as rnnlab task specs.

The numbers are read from the authors' generators (katejarne/RNN_study_with_keras) and
re-derived here; no code of theirs is used. Two versions exist: ``"root"``, the scripts at
the top of that repository, and ``"paper"``, their copies in ``code_paper_rep/`` that made
the paper's figures (spec §3.2–3.3 of ``temporal-tasks``).
"""

from typing import Literal

import numpy as np

from .._errors import InvalidInputError
from ._base import AbstractTask, _steps, build_spec, check_fields

_VARIANTS = ("paper", "root")


def _box_through(kernel: np.ndarray, width: int) -> tuple[float, ...]:
    r"""A box of ``width`` ones convolved with ``kernel`` (length $M$), the ``width`` central
    samples (SciPy's ``convolve(..., mode="same")``, which the authors used):

    $$v_n = \sum_{j = \max(0,\, n + c - W + 1)}^{\min(M - 1,\, n + c)} k_j,
    \qquad c = \lfloor (M - 1)/2 \rfloor,\ n = 0, \dots, W - 1.$$
    """
    partial_sums = np.concatenate([[0.0], np.cumsum(kernel)])
    n = np.arange(width)
    centre = (len(kernel) - 1) // 2
    low = np.clip(n + centre - width + 1, 0, len(kernel))
    high = np.clip(n + centre + 1, 0, len(kernel))
    return tuple((partial_sums[high] - partial_sums[low]).tolist())


def _hann(length: int) -> np.ndarray:
    """Symmetric Hann window with its zero end points, $w_k = \\sin^2(\\pi k/(M-1))$, unit sum."""
    weights = np.sin(np.pi * np.arange(length) / (length - 1)) ** 2
    return weights / weights.sum()


def _gaussian(length: int, std: float) -> np.ndarray:
    """Gaussian window $w_k = \\exp(-\\tfrac12 ((k - (M-1)/2)/\\sigma)^2)$, peak 1."""
    k = np.arange(length) - (length - 1) / 2
    return np.exp(-0.5 * (k / std) ** 2)


def _gate(task: str, variant: str, delay: float, overrides: dict) -> dict:
    return {
        "stimulus_onset": 30.0,
        "pulse_width": 20.0,
        "pulse_amplitude": 1.0,
        "response_delay": delay,
        "tail": 140.0 if (task, variant) == ("and", "paper") else 130.0,
        "baseline": 0.0 if task == "and" else 0.01,
        "high_level": 1.0,
        "input_noise_std": 0.1 if variant == "root" and task in ("xor", "not") else 0.0,
        "target_noise_std": 0.0,
    }


def _flipflop(task: str, variant: str, delay: float, overrides: dict) -> dict:
    settling = overrides.get("settling", 10.0)
    if "tail" not in overrides and not delay + settling < 100:
        raise InvalidInputError(
            f"response_delay={delay!r} ms leaves the flip-flop's last response no scored step "
            f"before the authors' fixed trial end T = 1010 ms (settling {settling!r} ms); use "
            f"response_delay < {100 - settling:g}, or pass tail=... to lengthen the trial"
        )
    return {
        "stimulus_onset": 50.0,
        "pulse_width": 20.0,
        "pulse_amplitude": 1.0,
        "num_pulses": 8,
        "pulse_interval": 120.0,
        "response_delay": delay,
        "tail": 100.0 - delay,  # T = 50 + 7*120 + 20 + delay + tail = 1010
        "baseline": 0.01,
        "high_level": 1.0,
        "input_noise_std": 0.1,
        "target_noise_std": 0.0,
    }


def _oscillation(task: str, variant: str, delay: float, overrides: dict) -> dict:
    root = variant == "root"
    width, tail, scale, smoothing = (20, 20, 0.3, 10) if root else (40, 40, 0.2, 15)
    delay_steps = _steps("response_delay", delay, 1.0)
    num_steps = (140 if root else 220) + delay_steps
    start = 120 + width  # the response starts 20 ms after the stimulus offset
    length = num_steps - tail - start
    if length <= 0:
        raise InvalidInputError(
            f"response_delay={delay!r} ms leaves the authors' root oscillation window "
            "[140, 120 + response_delay) empty; use response_delay > 20 (they used 200)"
        )
    frequency = 12 / num_steps  # cycles per step
    centre = (num_steps - 1) // 2
    dirichlet = np.sin(np.pi * frequency * length) / np.sin(np.pi * frequency)
    amplitude = scale * abs(dirichlet)
    if amplitude < 1e-9:
        raise InvalidInputError(
            f"response_delay={delay!r} ms makes the authors' {variant} oscillation window "
            f"({length} ms) a whole number of periods T/12 = {num_steps / 12:g} ms, so their "
            "go target is flat; choose another delay (they used 200)"
        )
    phase = 2 * np.pi * frequency * (centre - (length - 1) / 2) + (np.pi if dirichlet < 0 else 0)
    carrier = scale * np.sin(2 * np.pi * frequency * np.arange(num_steps))
    pulse_shape = _box_through(_hann(smoothing), width)
    return {
        "stimulus_onset": 100.0,
        "pulse_width": float(width),
        "pulse_amplitude": max(pulse_shape),
        "pulse_smoothing": 0,
        "pulse_shape": pulse_shape,
        "response_delay": float(start - 100 - width),
        "oscillation_duration": float(length),
        "tail": float(tail),
        "period": num_steps / 12,
        "amplitude": float(amplitude),
        "phase": float(phase % (2 * np.pi)),
        # a pure sinusoid unless the carrier's ends fall inside the box (length > centre + 1)
        "response_shape": None if length <= centre + 1 else _box_through(carrier, length),
        "baseline": 0.01 * scale,
        "response_baseline": 0.0,
        "high_level": 1.0,
        "input_noise_std": 0.1,
        "target_noise_std": 0.0,
    }


def _interval(task: str, variant: str, delay: float, overrides: dict) -> dict:
    root = variant == "root"
    pulse_kernel = 0.04 * _gaussian(20, 12.0) if root else _hann(10)
    response_shape = _box_through((0.04 if root else 0.055) * _gaussian(20, 12.0), 20)
    pulse_shape = _box_through(pulse_kernel, 20)
    noise = 0.1 if root else 0.03
    return {
        "stimulus_onset": 30.0 if root else 50.0,
        "pulse_width": 20.0,
        "pulse_amplitude": max(pulse_shape),
        "pulse_smoothing": 0,
        "pulse_shape": pulse_shape,
        "response_delay": delay,
        "response_width": 20.0,
        "response_amplitude": max(response_shape),
        "response_smoothing": 0,
        "response_shape": response_shape,
        "trial_length": 100.0 if root else 300.0,
        "baseline": 0.01 if root else 0.045,
        "response_baseline": 0.0,
        "input_noise_std": noise,
        "target_noise_std": noise,
    }


_LAYOUTS = {
    "and": _gate,
    "or": _gate,
    "xor": _gate,
    "not": _gate,
    "flipflop": _flipflop,
    "oscillation": _oscillation,
    "interval": _interval,
}


def jarne_laje_2023(
    task: str, variant: Literal["paper", "root"] = "paper", **overrides
) -> AbstractTask:
    r"""The task spec that reproduces the trials of Jarne & Laje's generators.

    ``task`` is a name of :data:`rnnlab.tasks.TASKS`; ``variant`` picks the generator
    version: ``"paper"`` (their copies in ``code_paper_rep/``, which made the figures) or
    ``"root"`` (the scripts at the top of their repository). ``response_delay`` is the
    authors' delay $\Delta$ (their ``mem_gap``; default 20 ms, oscillation 200 ms) and
    sets the layout as their generators do. Every other keyword replaces that field of
    the returned spec as given (nothing is re-derived from it) and is validated by the
    task class, which raises its usual one-line errors.

    Times in ms, one step = 1 ms; $y_0$ = ``baseline``, $y_w$ = ``response_baseline`` (the
    target on the response window, where the authors overwrite the baseline).

    **Gates** (AND, OR, XOR, NOT). Pulses of height $A$ (and $B$) on $[30, 50)$; target
    $y_0$, then $\mathrm{gate}(A, B) \in \{0, 1\}$ from $50 + \Delta$;
    $T = 50 + \Delta + \text{tail}$. Both variants: tail 130 (AND paper copy 140, so
    $T = 210$ at $\Delta = 20$), $y_0 = 0.01$ (AND: 0), no target noise. Input noise
    0.1 for XOR and NOT in the root scripts; none in the paper copies, nor for AND and OR.

    **Flip-flop**. Only the root generator exists, so both variants are the same: 8 pulses
    on $[50 + 120k, 70 + 120k)$, each on a random channel (1 sets, 0 resets); after pulse
    $k$ the target holds its level from $70 + 120k + \Delta$; $y_0 = 0.01$; input noise
    0.1. $T = 1010$ whatever $\Delta$ (tail $= 100 - \Delta$), so $\Delta < 90$: the last
    level needs a scored step after the 10 ms settling.

    **Oscillation** (go/no-go). Input: on $[100, 100 + w)$ a box of ones convolved with a
    Hann window of $M$ points (zero end points included, unit sum) in SciPy's ``"same"``
    mode, the box's $w$ central samples: root $w = 20$, $M = 10$; paper copy $w = 40$,
    $M = 15$. Input noise 0.1, none on the target. The go target is, with scale $s$ (root
    0.3, paper 0.2), $f = 12/T$ cycles per step and $c = \lfloor (T - 1)/2 \rfloor$,

    $$y_{t_r + n} = s \sum_{i = \max(0,\, n + c - L + 1)}^{\min(T - 1,\, n + c)}
    \sin(2\pi f i), \qquad n = 0, \dots, L - 1,$$

    on the window $[t_r, t_r + L)$: the unit step over the window convolved with
    $\sin(2\pi f i)$, $i = 0..T-1$ (``"same"`` mode). Root: $T = 140 + \Delta$,
    $t_r = 140$, $L = \Delta - 20$, tail 20; paper copy: $T = 220 + \Delta$,
    $t_r = 160$, $L = \Delta + 20$, tail 40. Outside the window the target is
    $y_0 = 0.01 s$ (0.003 root, 0.002 paper); on it the no-go target is $y_w = 0$. When
    $L \le c + 1$ no term of the sum is cut and it is the sinusoid

    $$y_{t_r + n} = a \sin(2\pi n/P + \phi),\quad P = T/12,\quad
    a = s\,\Big|\frac{\sin(\pi f L)}{\sin(\pi f)}\Big|,\quad
    \phi = 2\pi f \Big(c - \frac{L - 1}{2}\Big) \ (+\pi \text{ if } \sin(\pi f L) < 0),$$

    set as ``period``, ``amplitude``, ``phase`` ($\Delta \le 181$ in both variants). For
    $\Delta \ge 182$ the sum is cut at the ends of the window and the preset also sets
    the samples above as ``response_shape``; $P$, $a$, $\phi$ then describe the window's
    interior, $L - 1 - c \le n \le T - 1 - c$, exactly. Paper copy at $\Delta = 200$
    (the stored network): $T = 420$, $P = 35$ ms, $a = 1.744$, the first 10 and last 9
    samples cut. Where $fL$ is a whole number the sinusoid vanishes (root
    $\Delta = 100, 180, 244$; paper $\Delta = 20, 180, 260$) and the preset raises.
    Here $\Delta$ lengthens the oscillation, as in the authors' sweep: the response always
    starts 20 ms after the stimulus offset, so the returned spec has ``response_delay`` 20.

    **Delayed pulse** (``"interval"``, go/no-go). Input on $[t_s, t_s + 20)$, the target
    bump on $[t_s + 20 + \Delta, t_s + 40 + \Delta)$, both a 20-point box convolved as
    above (``"same"`` mode, the box's samples only) with: root, $t_s = 30$, input and target
    $0.04\,G$ (peak 0.716), $G_k = \exp(-\tfrac12 ((k - 9.5)/12)^2)$, $k = 0..19$;
    paper copy, $t_s = 50$, input the unit-sum Hann window of 10 points (peak 1), target
    $0.055\,G$ (peak 0.985). $T$ fixed: root 100 ($\Delta \le 30$), paper 300
    ($\Delta \le 210$). $y_0$ root 0.01, paper 0.045; $y_w = 0$. Noise on inputs and
    targets: root 0.1, paper 0.03.

    Example:
        >>> spec = jarne_laje_2023("oscillation", "paper")
        >>> spec.num_steps, spec.period
        (420, 35.0)

    **References:** Jarne & Laje, arXiv:1906.01094; numbers from the authors' generators
    in katejarne/RNN_study_with_keras (``generate_data_set*.py`` and
    ``code_paper_rep/generate_data_set_*.py``).
    """
    if task not in _LAYOUTS:
        raise InvalidInputError(f"task={task!r} is unknown; choose one of {sorted(_LAYOUTS)}")
    if variant not in _VARIANTS:
        raise InvalidInputError(
            f"variant={variant!r} is unknown; choose 'paper' (code_paper_rep/) or 'root'"
        )
    from . import TASKS

    cls = TASKS[task]
    check_fields(cls, overrides)  # before the layout reads them
    delay = overrides.pop("response_delay", 200.0 if task == "oscillation" else 20.0)
    fields = _LAYOUTS[task](task, variant, delay, overrides)
    return build_spec(cls, {**fields, **overrides})
