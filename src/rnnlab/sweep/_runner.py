"""Run a validated sweep plan: skip finished cells, record each cell as it completes."""

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ._grid import SweepPlan
from ._store import SweepStore, build_dataset


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep call did: cells in the plan, run now, skipped (already finished), failed."""

    total: int
    ran: int
    skipped: int
    failed: int
    seconds: float
    results: Path


class SilentSweepProgress:
    """Reports nothing (CI logs, tests)."""

    @contextmanager
    def track(self, total: int, done: int, failed: int):
        yield lambda done, failed: None


class RichSweepProgress:
    """A rich bar with done, failed and remaining cells, elapsed time and ETA."""

    @contextmanager
    def track(self, total: int, done: int, failed: int):
        from rich.progress import BarColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

        def fields(done, failed):
            return {"done": done, "failed": failed, "left": total - done - failed}

        with Progress(
            "sweep",
            BarColumn(),
            "{task.fields[done]} done, {task.fields[failed]} failed, {task.fields[left]} left",
            TimeElapsedColumn(),
            "ETA",
            TimeRemainingColumn(),
        ) as bar:
            task = bar.add_task(
                "sweep", total=total, completed=done + failed, **fields(done, failed)
            )
            yield lambda done, failed: bar.update(
                task, completed=done + failed, **fields(done, failed)
            )


def run_sweep(
    plan: SweepPlan,
    out: Path,
    executor,
    *,
    retry_failed: bool = False,
    progress=None,
    flush_seconds: float = 2.0,
) -> SweepSummary:
    """Run every unfinished cell of ``plan`` on ``executor``; write ``out`` as cells finish.

    Finished cells (``out/cells/<id>.json``) are skipped; failed ones too unless
    ``retry_failed``. ``results.zarr`` is rebuilt at most every ``flush_seconds`` and at the
    end (also when interrupted).
    """
    start = time.perf_counter()
    store = SweepStore(out)
    store.prepare()
    spec = plan.spec()
    store.write_spec(spec)
    records = store.read_records()
    states = {cell.id: records[cell.id]["state"] for cell in plan.cells if cell.id in records}
    todo = [
        cell
        for cell in plan.cells
        if cell.id not in states or (retry_failed and states[cell.id] == "failed")
    ]
    for cell in todo:
        states.pop(cell.id, None)
    tasks = [
        {
            "cell": cell.id,
            "run": plan.experiment.run,
            "config_type": plan.experiment.config_type,
            "config": cell.config,
        }
        for cell in todo
    ]
    by_id = {cell.id: cell for cell in todo}
    progress = progress or SilentSweepProgress()

    def counts():
        failed = sum(state == "failed" for state in states.values())
        return len(states) - failed, failed

    last_flush = time.monotonic()
    try:
        with progress.track(len(plan.cells), *counts()) as update:
            for task, record in executor.run(tasks):
                cell = by_id[task["cell"]]
                store.write_record(
                    cell.id,
                    {
                        "experiment": plan.experiment.id,
                        "params": cell.params,
                        "replicate": cell.replicate,
                        "seed": cell.seed,
                        "config": cell.config,
                        **record,
                    },
                )
                states[cell.id] = record["state"]
                records[cell.id] = record
                update(*counts())
                if time.monotonic() - last_flush >= flush_seconds:
                    store.write_results(build_dataset(spec, records))
                    last_flush = time.monotonic()
    finally:
        store.write_results(build_dataset(spec, records))
    return SweepSummary(
        total=len(plan.cells),
        ran=len(todo),
        skipped=len(plan.cells) - len(todo),
        failed=counts()[1],
        seconds=time.perf_counter() - start,
        results=store.results_path,
    )
