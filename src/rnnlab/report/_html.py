"""HTML report of a run directory: figures, metrics, config and citation on one page.

Links are relative (``figures/<name>.png``), so the folder can be copied or served
anywhere.
"""

import html
import json
from pathlib import Path
from typing import Any

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
td.num { font-family: monospace; text-align: right; }
figure { display: inline-block; margin: 0.5em; max-width: 520px; }
figure img { max-width: 100%; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""


def _format(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    return html.escape(str(value))


def _meaning(metric_docs: dict[str, str], name: str) -> str:
    """The documented meaning of metric ``name``: its own, else that of its name without
    the ``=value``, else without its last part (a sweep point of a curve)."""
    base = name.split("=")[0]
    for key in (name, base, base.rsplit(".", 1)[0]):
        if key in metric_docs:
            return html.escape(metric_docs[key])
    return ""


def published_pairs(metrics: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(name, ours, the paper's) for every metric ``name`` that has a ``name_paper``."""
    return [
        (name, value, metrics[f"{name}_paper"])
        for name, value in sorted(metrics.items())
        if f"{name}_paper" in metrics
    ]


def render_run_report(
    title: str,
    summary: str,
    metrics: dict[str, Any],
    metric_docs: dict[str, str],
    config: dict[str, Any],
    figures: list[str],
    citation: str,
    status: dict[str, Any],
) -> str:
    """The report page as a string."""
    rows = "\n".join(
        f"<tr><td>{html.escape(name)}</td><td class='num'>{_format(value)}</td>"
        f"<td>{_meaning(metric_docs, name)}</td></tr>"
        for name, value in sorted(metrics.items())
    )
    pairs = "\n".join(
        f"<tr><td>{html.escape(name)}</td><td class='num'>{_format(ours)}</td>"
        f"<td class='num'>{_format(theirs)}</td><td>{_meaning(metric_docs, name)}</td></tr>"
        for name, ours, theirs in published_pairs(metrics)
    )
    beside = (
        "<h2>Ours beside the paper</h2>\n<table><tr><th>summary</th><th>ours</th>"
        f"<th>paper</th><th>meaning</th></tr>\n{pairs}\n</table>"
        if pairs
        else ""
    )
    images = "\n".join(
        f"<figure><img src='{html.escape(path)}' alt='{html.escape(Path(path).stem)}'>"
        f"<figcaption>{html.escape(Path(path).stem)}</figcaption></figure>"
        for path in figures
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(summary)}</p>
<p>Status: <b>{html.escape(str(status.get("state")))}</b>
{html.escape(str(status.get("error") or ""))}</p>
{beside}
<h2>Figures</h2>
{images or "<p>No figures.</p>"}
<h2>Metrics</h2>
<table><tr><th>metric</th><th>value</th><th>meaning</th></tr>
{rows}
</table>
<h2>Config</h2>
<pre>{html.escape(json.dumps(config, indent=2, sort_keys=True))}</pre>
<h2>Citation</h2>
<pre>{html.escape(citation)}</pre>
</body></html>
"""


def write_run_report(out: Path, experiment, config, metrics, figures) -> Path:
    """Write ``out/report.html`` for a finished run."""
    from ..experiments._rundir import atomic_write_bytes

    out = Path(out)
    page = render_run_report(
        experiment.title,
        experiment.summary,
        metrics,
        experiment.metric_docs,
        {"experiment": experiment.id, "config": config.model_dump()},
        [str(Path(p).relative_to(out)) for p in figures],
        experiment.citation,
        {"state": "done"},
    )
    atomic_write_bytes(out / "report.html", page.encode())
    return out / "report.html"


def rebuild_report(out: Path) -> Path:
    """(Re)build ``out/report.html`` from the files of a run directory."""
    from ..experiments import get_experiment
    from ..experiments._rundir import atomic_write_bytes

    out = Path(out)
    config = json.loads((out / "config.json").read_text())
    experiment = get_experiment(config["experiment"])
    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    status_path = out / "status.json"
    status = json.loads(status_path.read_text()) if status_path.exists() else {"state": "unknown"}
    figures = sorted(str(p.relative_to(out)) for p in (out / "figures").glob("*.png"))
    page = render_run_report(
        experiment.title,
        experiment.summary,
        metrics,
        experiment.metric_docs,
        config,
        figures,
        experiment.citation,
        status,
    )
    atomic_write_bytes(out / "report.html", page.encode())
    return out / "report.html"
