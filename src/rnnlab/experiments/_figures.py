"""Shared figure plumbing of the experiments: a headless pyplot and a PNG saver."""

from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no display needed)."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class FigureSaver:
    """``save(fig, name)`` writes ``folder/name.png`` (tight layout) and closes ``fig``;
    ``paths`` lists what was written, in order."""

    def __init__(self, folder: Path, *, dpi: int = 110):
        self.folder = Path(folder)
        self.dpi = dpi
        self.paths: list[Path] = []

    def __call__(self, fig, name: str) -> Path:
        path = self.folder / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=self.dpi)
        pyplot().close(fig)
        self.paths.append(path)
        return path
