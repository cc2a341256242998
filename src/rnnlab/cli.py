"""The ``rnnlab`` command line (typer).

Exit codes: 0 done; 1 a run failed (``status.json`` says why); 2 invalid input (one line
naming the value and the fix, no traceback).
"""

import html
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.20 vendors click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover
    from click import exceptions as click_exceptions

from ._errors import InvalidInputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Build, train and analyse recurrent neural networks as dynamical systems.",
)


class RichProgress:
    """Rich progress bars on a terminal; silent when stderr is not a TTY or in CI."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    @contextmanager
    def task(self, description: str, total: int):
        if not self.enabled:
            yield lambda advance=1: None
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=False,
        ) as bar:
            task_id = bar.add_task(description, total=total)
            yield lambda advance=1: bar.advance(task_id, advance)


def _progress() -> RichProgress:
    return RichProgress(sys.stderr.isatty() and not os.environ.get("CI"))


def _enable_numerics() -> None:
    from ._jax_setup import configure_jax

    configure_jax()


def _log_to_stderr() -> None:
    """rnnlab's INFO lines (e.g. one per training epoch) on stderr, with the time."""
    import logging

    logger = logging.getLogger("rnnlab")
    logger.setLevel(logging.INFO)
    if any(handler.get_name() == "rnnlab-cli" for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("rnnlab-cli")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)


@app.command("list")
def list_experiments() -> None:
    """List the registered experiments, one line each."""
    from .experiments import REGISTRY

    for experiment in REGISTRY.values():
        typer.echo(f"{experiment.id:20s} {experiment.title}")


def _reproduce_one(experiment, quick, seed, overrides, out: Path) -> dict:
    from .experiments import run_experiment

    config = experiment.make_config(quick=quick, seed=seed, overrides=overrides)
    return run_experiment(experiment, config, out, progress=_progress())


def _write_index(out: Path, entries: list[tuple[str, str, dict]]) -> Path:
    from .experiments._rundir import atomic_write_bytes

    rows = "\n".join(
        f"<li><a href='{html.escape(eid)}/report.html'>{html.escape(eid)}</a> — "
        f"{html.escape(title)} — <b>{html.escape(status['state'])}</b></li>"
        for eid, title, status in entries
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>rnnlab reports"
        f"</title></head><body><h1>rnnlab reproductions</h1><ul>{rows}</ul></body></html>\n"
    )
    atomic_write_bytes(out / "index.html", page.encode())
    return out / "index.html"


@app.command()
def reproduce(
    experiment_id: Annotated[str, typer.Argument(metavar="ID", help="experiment id or 'all'")],
    quick: Annotated[bool, typer.Option("--quick", help="small sizes, same code path")] = False,
    seed: Annotated[int | None, typer.Option(help="base seed (default: the config's)")] = None,
    out: Annotated[Path | None, typer.Option(help="run directory (default runs/ID)")] = None,
    assignments: Annotated[
        list[str] | None, typer.Option("--set", help="override a config field: key=value")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="log a line per training epoch to stderr")
    ] = False,
) -> None:
    """Reproduce one experiment (or all) and write its run directory and report."""
    from .experiments import REGISTRY, get_experiment, parse_assignment
    from .experiments._rundir import check_resumable, prepare_output

    if seed is not None and seed < 0:
        raise InvalidInputError(f"--seed {seed} must be >= 0")
    overrides = dict(parse_assignment(a) for a in assignments or [])
    experiments = (
        list(REGISTRY.values()) if experiment_id == "all" else [get_experiment(experiment_id)]
    )
    out = out or Path("runs") / experiment_id
    prepare_output(out)
    if experiment_id == "all":
        for experiment in experiments:  # validate every config before running any
            config = experiment.make_config(quick=quick, seed=seed, overrides=overrides)
            check_resumable(out / experiment.id, experiment, config)
    _enable_numerics()
    if verbose:
        _log_to_stderr()
    entries, failed = [], False
    for experiment in experiments:
        target = out / experiment.id if experiment_id == "all" else out
        status = _reproduce_one(experiment, quick, seed, overrides, target)
        entries.append((experiment.id, experiment.title, status))
        if status["state"] != "done":
            failed = True
            typer.echo(f"rnnlab: {experiment.id} failed: {status['error']}", err=True)
        else:
            typer.echo(f"{experiment.id}: done -> {target / 'report.html'}")
    if experiment_id == "all":
        typer.echo(f"index: {_write_index(out, entries)}")
    if failed:
        raise typer.Exit(1)


@app.command()
def cite(experiment_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Print the BibTeX of the paper(s) and methods an experiment uses."""
    from .experiments import get_experiment

    typer.echo(get_experiment(experiment_id).citation)


@app.command()
def sweep(
    experiment_id: Annotated[str, typer.Argument(metavar="ID", help="experiment id")],
    grid: Annotated[
        list[str],
        typer.Option(help="grid axis: key=v1,v2,... or key=start:stop:num (repeatable)"),
    ],
    out: Annotated[Path, typer.Option(help="sweep directory (re-run to resume)")],
    quick: Annotated[bool, typer.Option("--quick", help="small sizes, same code path")] = False,
    seed: Annotated[int | None, typer.Option(help="base seed (default: the config's)")] = None,
    seeds: Annotated[int, typer.Option(help="replicates per grid point")] = 1,
    assignments: Annotated[
        list[str] | None, typer.Option("--set", help="fix a config field: key=value")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="local worker processes (default: number of cores)")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="run on a dask.distributed cluster: tcp://HOST:PORT")
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="run failed cells again")
    ] = False,
) -> None:
    """Run an experiment over a grid; resumable (finished cells are skipped)."""
    from .experiments import get_experiment, parse_assignment
    from .report import write_sweep_report
    from .sweep import RichSweepProgress, make_executor, plan_sweep, run_sweep

    overrides = dict(parse_assignment(a) for a in assignments or [])
    plan = plan_sweep(
        get_experiment(experiment_id),
        grid,
        quick=quick,
        seed=seed,
        overrides=overrides,
        seeds=seeds,
    )
    executor = make_executor(workers, scheduler)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {str(out)!r} is a file; give a directory path")
    _enable_numerics()
    enabled = _progress().enabled
    summary = run_sweep(
        plan,
        out,
        executor,
        retry_failed=retry_failed,
        progress=RichSweepProgress() if enabled else None,
    )
    page = write_sweep_report(out)
    typer.echo(
        f"{experiment_id}: {summary.total} cells, {summary.ran} run, {summary.skipped} already "
        f"finished, {summary.failed} failed ({summary.seconds:.1f} s on {executor.describe()})"
        f" -> {summary.results}, {page}"
    )
    if summary.failed:
        typer.echo(
            f"rnnlab: {summary.failed} cell(s) failed (errors in {out / 'cells'}); "
            "re-run with --retry-failed",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(metavar="DIR")],
    metric: Annotated[
        list[str] | None, typer.Option(help="sweeps: metric(s) to plot (default: all)")
    ] = None,
) -> None:
    """(Re)build report.html of a run or sweep directory."""
    from .report import rebuild_report, write_sweep_report

    if (directory / "sweep.json").is_file():
        typer.echo(str(write_sweep_report(directory, metric)))
        return
    if metric:
        raise InvalidInputError("--metric applies to sweep directories (with sweep.json) only")
    if not (directory / "config.json").is_file():
        raise InvalidInputError(
            f"{str(directory)!r} is not a run or sweep directory (no config.json, no sweep.json)"
        )
    typer.echo(str(rebuild_report(directory)))


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit 2 with one line on invalid input, never a traceback for it."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="rnnlab", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as error:
        typer.echo(error.ctx.get_help() if error.ctx else "rnnlab --help", err=True)
        return 2
    except InvalidInputError as error:
        typer.echo(f"rnnlab: error: {error}", err=True)
        return 2
    except typer.Exit as exit_:
        return exit_.exit_code
    except click_exceptions.ClickException as error:
        typer.echo(f"rnnlab: error: {error.format_message()} (see rnnlab --help)", err=True)
        return 2
    except typer.Abort:
        typer.echo("rnnlab: aborted", err=True)
        return 130
    return code if isinstance(code, int) else 0


def run_main() -> None:
    """Console-script wrapper around :func:`main`."""
    sys.exit(main())


if __name__ == "__main__":
    run_main()
