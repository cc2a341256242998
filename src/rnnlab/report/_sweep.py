"""HTML report of a sweep directory: phase diagrams, metric summary, cells, config, citation.

Links are relative (``figures/…``, ``cells/…``), so the folder can be copied anywhere.
"""

import html
import json
from pathlib import Path

import numpy as np

from ._html import _STYLE, _format

_CELL_ROWS = 500


def _summary_rows(dataset, metrics: list[str]) -> str:
    rows = []
    for name in metrics:
        values = dataset[name].values
        finite = values[np.isfinite(values)]
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td class='num'>{finite.size}</td>"
            + "".join(
                f"<td class='num'>{_format(float(f(finite)))}</td>"
                for f in (np.min, np.mean, np.max)
            )
            + "</tr>"
        )
    return "\n".join(rows)


def _cell_rows(spec, records) -> str:
    rows = []
    for cell in spec["cells"][:_CELL_ROWS]:
        record = records.get(cell["id"], {"state": "pending"})
        params = ", ".join(f"{k}={v}" for k, v in cell["params"].items())
        link = (
            f"<a href='cells/{html.escape(cell['id'])}.json'>{html.escape(record['state'])}</a>"
            if cell["id"] in records
            else "pending"
        )
        rows.append(
            f"<tr><td>{html.escape(params)}</td><td class='num'>{cell['replicate']}</td>"
            f"<td class='num'>{cell['seed']}</td><td>{link}</td>"
            f"<td class='num'>{_format(record.get('seconds'))}</td>"
            f"<td>{html.escape(str(record.get('error') or ''))}</td></tr>"
        )
    return "\n".join(rows)


def write_sweep_report(out: Path, metrics: list[str] | None = None) -> Path:
    """Draw the sweep's figures and write ``out/report.html``; returns its path."""
    from ..experiments import REGISTRY
    from ..experiments._rundir import atomic_write_bytes
    from ..sweep._plots import metric_names, sweep_figures
    from ..sweep._store import SweepStore, build_dataset

    out = Path(out)
    store = SweepStore(out)
    spec = store.read_spec()
    records = store.read_records()
    dataset = build_dataset(spec, records)
    figures = sweep_figures(dataset, out / "figures", metrics)
    experiment = REGISTRY.get(spec["experiment"])
    title = f"Sweep: {experiment.title if experiment else spec['experiment']}"
    citation = experiment.citation if experiment else ""
    status = dataset["cell_status"].values
    counts = {state: int((status == code).sum()) for state, code in (("done", 1), ("failed", 2))}
    pending = status.size - counts["done"] - counts["failed"]
    grid = "; ".join(f"{name} = {', '.join(map(str, values))}" for name, values in spec["grid"])
    images = "\n".join(
        f"<figure><img src='figures/{html.escape(p.name)}' alt='{html.escape(p.stem)}'>"
        f"<figcaption>{html.escape(p.stem)}</figcaption></figure>"
        for p in figures
    )
    config = {k: v for k, v in spec.items() if k != "cells"}
    more = len(spec["cells"]) - _CELL_ROWS
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="icon" href="data:,"><style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Grid: {html.escape(grid)}; {spec["seeds"]} seed(s) per point. Results:
<code>results.zarr</code> (xarray Dataset; dims {html.escape(", ".join(dataset.dims))}).</p>
<p>Cells: <b>{counts["done"]} done</b>, <b>{counts["failed"]} failed</b>, {pending} pending.</p>
<h2>Figures</h2>
{images or "<p>No figures (no finished cell has a finite metric).</p>"}
<h2>Metrics over all finished cells</h2>
<table><tr><th>metric</th><th>cells</th><th>min</th><th>mean</th><th>max</th></tr>
{_summary_rows(dataset, metric_names(dataset))}
</table>
<h2>Cells</h2>
<table><tr><th>parameters</th><th>replicate</th><th>seed</th><th>state</th><th>seconds</th>
<th>error</th></tr>
{_cell_rows(spec, records)}
</table>
{f"<p>… and {more} more cells (see <code>cells/</code>).</p>" if more > 0 else ""}
<h2>Config</h2>
<pre>{html.escape(json.dumps(config, indent=2, sort_keys=True))}</pre>
<h2>Citation</h2>
<pre>{html.escape(citation)}</pre>
</body></html>
"""
    atomic_write_bytes(out / "report.html", page.encode())
    return out / "report.html"
