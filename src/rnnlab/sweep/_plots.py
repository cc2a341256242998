"""Figures of a sweep: line plots over 1-D grids, heat maps (phase diagrams) over 2-D grids.

Each figure shows the mean over seeds and its spread (standard deviation over seeds).
Grids with more than two parameters are drawn over the first two, averaged over the rest
(the title says so).
"""

import re
from pathlib import Path

import numpy as np

from .._errors import InvalidInputError

_BOOKKEEPING = ("cell_status", "cell_seed")


def metric_names(dataset) -> list[str]:
    """Metrics of a sweep Dataset with at least one finite value."""
    return [
        name
        for name in dataset.data_vars
        if name not in _BOOKKEEPING and np.isfinite(dataset[name].values).any()
    ]


def _file_name(metric: str) -> str:
    return "sweep_" + re.sub(r"[^A-Za-z0-9._-]+", "_", metric) + ".png"


def _numeric(values) -> bool:
    return all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values)


def _nan_stats(values: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    deviation = np.where(finite, values - np.expand_dims(mean, axis), 0.0)
    spread = np.sqrt((deviation**2).sum(axis=axis) / np.maximum(count, 1))
    return mean, np.where(count > 1, spread, np.nan)


def _line(ax, dataset, metric, axis_name):
    values = dataset[metric].values  # (points, seeds)
    coords = list(dataset[axis_name].values)
    x = np.array(coords, dtype=float) if _numeric(coords) else np.arange(len(coords))
    mean, spread = _nan_stats(values, axis=-1)
    for replicate in range(values.shape[-1]):
        ax.plot(x, values[:, replicate], ".", color="0.6", ms=4, zorder=1)
    ax.plot(x, mean, "o-", color="C0", label="mean over seeds", zorder=3)
    if np.isfinite(spread).any():
        ax.fill_between(x, mean - spread, mean + spread, color="C0", alpha=0.25, label="± std")
    if not _numeric(coords):
        ax.set_xticks(x, [str(c) for c in coords])
    ax.set(xlabel=axis_name, ylabel=metric)
    ax.legend(fontsize=8)


def _heat(fig, ax, field, dataset, names, label):
    rows, columns = list(dataset[names[0]].values), list(dataset[names[1]].values)
    image = ax.imshow(field, origin="lower", aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(rows)), [f"{v:g}" if _numeric([v]) else str(v) for v in rows])
    ax.set_xticks(range(len(columns)), [f"{v:g}" if _numeric([v]) else str(v) for v in columns])
    ax.set(ylabel=names[0], xlabel=names[1], title=label)
    fig.colorbar(image, ax=ax)
    if field.size <= 64:
        for (i, j), value in np.ndenumerate(field):
            if np.isfinite(value):
                shade = "k" if image.norm(value) > 0.6 else "w"
                ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=7, color=shade)


def sweep_figures(dataset, folder: Path, metrics: list[str] | None = None) -> list[Path]:
    """Draw one PNG per metric into ``folder``; returns the paths."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    available = metric_names(dataset)
    if metrics:
        unknown = [m for m in metrics if m not in dataset.data_vars or m in _BOOKKEEPING]
        if unknown:
            raise InvalidInputError(
                f"--metric {unknown[0]!r} is not in this sweep; choose from: "
                + ", ".join(available[:20])
                + (" ..." if len(available) > 20 else "")
            )
    chosen = [m for m in (metrics or available) if m in available]
    names = [d for d in dataset[_BOOKKEEPING[0]].dims if d != "seed"]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric in chosen:
        field = dataset[metric]
        note = ""
        if len(names) > 2:
            field = field.mean(dim=names[2:])
            note = " (mean over " + ", ".join(names[2:]) + ")"
        sub = field.to_dataset(name=metric)
        if len(names) == 1:
            fig, ax = plt.subplots(figsize=(5, 3.6))
            _line(ax, sub, metric, names[0])
            ax.set_title(f"{metric}{note}", fontsize=9)
        else:
            mean, spread = _nan_stats(field.transpose(*names[:2], "seed").values, axis=-1)
            panels = 2 if np.isfinite(spread).any() else 1
            fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4), squeeze=False)
            _heat(fig, axes[0, 0], mean, dataset, names[:2], f"{metric}: mean over seeds{note}")
            if panels == 2:
                _heat(fig, axes[0, 1], spread, dataset, names[:2], "std over seeds")
        fig.tight_layout()
        path = folder / _file_name(metric)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths
