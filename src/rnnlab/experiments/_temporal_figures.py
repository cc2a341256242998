"""Figures of the temporal-tasks experiment on solutions and initialisation.

Each takes matplotlib's ``pyplot``, a :class:`~rnnlab.experiments._figures.FigureSaver`,
the run's arrays ``a`` and ``arms`` [(index, init, slice of its networks)].
"""

import warnings
from typing import get_args

import numpy as np

from ..analysis._degradation import Label

SOLUTION_LABELS = get_args(Label)
"""The dynamical labels of a held state, in the order the figures stack them."""


def diversity_figure(plt, save, a, tasks, arms) -> None:
    """Diversity of solutions: for each (task, init), the fractions of its networks by the
    dynamical label of the held state, and (diamond) the fraction spectrally oscillatory."""
    rows = [(name, init, cell) for name in tasks for _, init, cell in arms]
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(rows) + 1.4))
    for y, (name, _, cell) in enumerate(rows):
        labels = a[f"{name}.dynamical_labels"][cell]
        left = 0.0
        for k, label in enumerate(SOLUTION_LABELS):
            width = float(np.mean(labels == label))
            ax.barh(y, width, left=left, color=f"C{k}", label=label if y == 0 else None)
            left += width
        if f"{name}.spectral_oscillatory" in a:
            oscillatory = float(np.mean(a[f"{name}.spectral_oscillatory"][cell]))
            ax.plot(oscillatory, y, "kD", ms=4, label="spectrally oscillatory" if y == 0 else None)
    ax.set_yticks(np.arange(len(rows)), [f"{name}, {init}" for name, init, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="fraction of networks", title="solutions: how the state is held")
    ax.legend(fontsize=6, loc="lower right", framealpha=0.9)
    save(fig, "solution_diversity")


def initialisation_figure(plt, save, a, tasks, arms) -> None:
    """Training loss per epoch by initialisation (median and quartiles over networks),
    one panel per task, with the mean epochs to the early-stopping loss."""
    fig, axes = plt.subplots(1, len(tasks), figsize=(2.6 * len(tasks), 2.8), squeeze=False)
    for ax, name in zip(axes[0], tasks, strict=True):
        losses, epochs = a[f"{name}.losses"], a[f"{name}.epochs_trained"]
        converged = a[f"{name}.converged"]
        for i, init, cell in arms:
            arm = losses[:, cell]
            x = np.arange(1, arm.shape[0] + 1)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all networks stopped
                low, mid, high = np.nanpercentile(arm, [25, 50, 75], axis=1)
            reached = epochs[cell][converged[cell]]
            label = f"{init}: {reached.mean():.0f} ep." if reached.size else f"{init}: none"
            ax.plot(x, mid, color=f"C{i}", lw=1, label=label)
            ax.fill_between(x, low, high, color=f"C{i}", alpha=0.2, lw=0)
        ax.set(yscale="log", xlabel="epoch", title=name)
        ax.legend(fontsize=6, title="to criterion", title_fontsize=6)
    axes[0, 0].set_ylabel("training loss (median, IQR)")
    save(fig, "initialisation")


def leading_eigenvalue_figure(plt, save, a, tasks, arms, periods) -> None:
    """Rotation frequency of the max-real-part eigenvalue of W, 1000 |arg lambda| / (2 pi dt)
    Hz (dt in ms),
    per network before (open) and after (filled) training; ``periods`` {task: ms}, each
    task's target frequency 1000 / period Hz as a bar."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    offsets = np.linspace(-0.2, 0.2, len(arms)) if len(arms) > 1 else [0.0]
    for t, name in enumerate(tasks):
        for i, init, cell in arms:
            x = t + offsets[i]
            before = a[f"{name}.leading_frequency_hz_before"][cell]
            after = a[f"{name}.leading_frequency_hz_after"][cell]
            ax.plot(np.full(before.shape, x - 0.04), before, "o", mfc="none", color=f"C{i}", ms=3)
            label = init if t == 0 else None
            ax.plot(np.full(after.shape, x + 0.04), after, "o", color=f"C{i}", ms=3, label=label)
        if name in periods:
            hz = 1000 / periods[name]
            ax.plot([t - 0.35, t + 0.35], [hz, hz], "k-", lw=1.5, label="1000 / period")
    ax.plot([], [], "o", mfc="none", color="0.4", ms=3, label="before training (open)")
    ax.set_xticks(np.arange(len(tasks)), tasks, rotation=30)
    ax.set(
        ylabel="1000 |arg lambda| / (2 pi dt) (Hz)",
        title="rotation of the leading eigenvalue of W, after training (filled)",
    )
    ax.legend(fontsize=7)
    save(fig, "leading_eigenvalue")
