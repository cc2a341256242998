"""The temporal-tasks delay and size sweeps as independent cells, run by parallel workers.

``rnnlab reproduce temporal-tasks`` trains the cells of its delay sweep (24 delays) and
size sweep (22 sizes, N up to 500) one after another, 20 networks each: core-hours on a
CPU. Every cell is keyed by its own (delay, N) alone (``_temporal_tasks._sweep``), so the
cells can run as separate invocations, in parallel, and be put together afterwards. This
script does that: each worker takes the next cell from the queue and runs

    python -m rnnlab.cli reproduce temporal-tasks --seed 0 --set 'tasks=["and"]'
        --set members_per_init=1 --set inits=orthogonal --set fixed_point_networks=0
        --set 'delays=[D]' --set 'sizes=[]'          (or 'delays=[]', 'sizes=[N]')

pinned to its own CPU core; each finished cell appends one JSON line (kind, value,
distance, accuracy, seconds, exit code) to ``--out``. No new cell starts once the
slowest cell so far would not finish before ``--deadline``; a cell still running at the
deadline is stopped (its line says so). The 1-network AND cell every invocation trains
(the experiment needs one task) costs a few seconds.

On a CPU the workers run truly in parallel (one core each). On one GPU they do not:
processes take turns on the device, and each cell's time loop is bound by kernel-launch
latency, so 14 concurrent full-size cells on an H200 finished none in 398 s
(2026-12-04); use ``--workers 1`` there.

``--collect RUN_DIR ...`` adds the cells of finished runs (their ``metrics.json``) to
``--out``. Then ``--summarise FILE`` prints the sweeps' shape metrics (``delay_shape``,
``size_shape``) over the cells in FILE beside the paper's.

Usage:
  python bench/sweep_cells.py --workers 14 --cores 1-15 --deadline 420 --out cells.jsonl
  python bench/sweep_cells.py --collect runs/delay-* --out cells.jsonl
  python bench/sweep_cells.py --summarise cells.jsonl
  python bench/sweep_cells.py --kinds delay --skip-done --out cells.jsonl   (the rest)

Set ``SWEEP_CELLS_DIR`` to keep each cell's run folder (checkpoints, metrics, log) there
instead of in a temporary folder.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DELAYS_ORDER = [25, 100, 170, 60, 130, 45, 150, 80, 35, 110, 65, 140, 90, 30, 120, 50, 75]
DELAYS_ORDER += [160, 40, 95, 55, 85, 70, 105]
SIZES_ORDER = [500, 100, 250, 70, 400, 160, 55, 300, 125, 80, 200, 60, 450, 130, 90, 350, 65]
SIZES_ORDER += [180, 75, 150, 170, 50]  # N = 50: its own cell where the size sweep's rate differs


def cell_command(kind: str, value: float, out: Path, extra: list[str]) -> list[str]:
    """The CLI invocation that trains one sweep cell into ``out``."""
    delays, sizes = (f"[{value:g}]", "[]") if kind == "delay" else ("[]", f"[{int(value)}]")
    sets = {
        "tasks": '["and"]',
        "members_per_init": "1",
        "inits": "orthogonal",
        "fixed_point_networks": "0",
        "delays": delays,
        "sizes": sizes,
    }
    args = [sys.executable, "-m", "rnnlab.cli", "reproduce", "temporal-tasks", "--seed", "0"]
    for name, setting in sets.items():
        args += ["--set", f"{name}={setting}"]
    return args + extra + ["--out", str(out)]


def _cores(spec: str) -> list[int]:
    cores = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        cores += list(range(int(low), int(high or low) + 1))
    return cores


def run_cells(cells, *, workers, cores, deadline, out, extra, scratch):
    """Run ``cells`` [(kind, value)] on ``workers`` threads; append one line per cell."""
    start = time.monotonic()
    queue, lock, durations = list(cells), threading.Lock(), []

    def worker(index):
        core = cores[index % len(cores)]
        while True:
            with lock:
                if not queue:
                    return
                slowest = max(durations, default=0.0)
                if time.monotonic() - start + slowest > deadline:
                    return
                kind, value = queue.pop(0)
            folder = Path(scratch) / f"{kind}{value:g}"
            command = cell_command(kind, value, folder, extra)
            began = time.monotonic()
            remaining = max(1.0, deadline - (began - start))
            with open(folder.parent / f"{folder.name}.log", "w") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
                if hasattr(os, "sched_setaffinity"):  # pinned from here: no preexec_fn
                    os.sched_setaffinity(process.pid, {core})  # in threads (may deadlock)
                try:
                    code = process.wait(timeout=remaining)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    code = "stopped at the deadline"
            seconds = time.monotonic() - began
            line = {"kind": kind, "value": value, "seconds": round(seconds, 1), "rc": code}
            metrics = folder / "metrics.json"
            if code == 0 and metrics.exists():
                values = json.loads(metrics.read_text())
                suffix = f"delay={float(value)!r}" if kind == "delay" else f"N={int(value)}"
                line["distance"] = values[f"{kind}.distance.{suffix}"]
                line["accuracy"] = values[f"{kind}.accuracy.{suffix}"]
            with lock:
                durations.append(seconds)
                with open(out, "a") as handle:
                    handle.write(json.dumps(line) + "\n")
            print(json.dumps(line), flush=True)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def collect(run_dirs, out: Path) -> int:
    """Append one line per sweep cell found in the ``metrics.json`` of ``run_dirs`` (runs
    made by hand or by another machine) to ``out``; returns how many."""
    count = 0
    with open(out, "a") as handle:
        for run in run_dirs:
            metrics = Path(run) / "metrics.json"
            if not metrics.exists():
                continue
            values = json.loads(metrics.read_text())
            for name, distance in values.items():
                kind, _, rest = name.partition(".distance.")
                if kind not in ("delay", "size") or not rest:
                    continue
                value = float(rest.partition("=")[2])
                line = {"kind": kind, "value": value, "run": str(run), "rc": 0}
                line["distance"] = distance
                line["accuracy"] = values[f"{kind}.accuracy.{rest}"]
                handle.write(json.dumps(line) + "\n")
                count += 1
    return count


def _cells(path: Path) -> list[dict]:
    """The cells of a cells file, one JSON line each."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summarise(path: Path) -> dict:
    """Shape metrics of the cells in ``path`` (one JSON line per cell), ours and the paper's."""
    from rnnlab.experiments._temporal_degradation import (
        PAPER_DELAY_DISTANCE,
        PAPER_DELAYS,
        PAPER_SIZE_DISTANCE,
        PAPER_SIZES,
        delay_shape,
        size_shape,
    )

    done = {(c["kind"], float(c["value"])): c for c in _cells(path) if "distance" in c}
    summary = {}
    for kind, shape, paper_x, paper_y in (
        ("delay", delay_shape, PAPER_DELAYS, PAPER_DELAY_DISTANCE),
        ("size", size_shape, PAPER_SIZES, PAPER_SIZE_DISTANCE),
    ):
        # (the size sweep's N = 50 cell is queued on its own; at the defaults it is the
        # delay sweep's 150 ms cell, but not with another size_sweep_learning_rate)
        rows = sorted((v, c) for (k, v), c in done.items() if k == kind)
        values = [v for v, _ in rows]
        distances = [c["distance"] for _, c in rows]
        summary[kind] = {
            "values": values,
            "distance": distances,
            "accuracy": [c["accuracy"] for _, c in rows],
            "ours": shape(values, distances) if len(values) >= 2 else None,
            "paper": shape(paper_x, paper_y),
        }
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summarise", type=Path, help="print the shape metrics of a cells file")
    parser.add_argument(
        "--collect", nargs="+", type=Path, help="add the cells of these run directories to --out"
    )
    parser.add_argument("--out", type=Path, default=Path("cells.jsonl"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cores", default="0", help="cores for the workers, e.g. 1-15")
    parser.add_argument("--deadline", type=float, default=float("inf"), help="seconds")
    parser.add_argument("--kinds", default="delay,size", help="delay, size or both")
    parser.add_argument("--cells", type=int, default=None, help="only the first N cells")
    parser.add_argument("--set", action="append", default=[], help="extra --set for each cell")
    parser.add_argument(
        "--skip-done", action="store_true", help="skip the cells --out already has a result for"
    )
    args = parser.parse_args(argv)
    if args.summarise:
        print(json.dumps(summarise(args.summarise), indent=1))
        return
    if args.collect:
        print(f"{collect(args.collect, args.out)} cells added to {args.out}")
        return
    kinds = args.kinds.split(",")
    cells = [("delay", float(d)) for d in DELAYS_ORDER if "delay" in kinds]
    cells += [("size", float(n)) for n in SIZES_ORDER if "size" in kinds]
    cells = cells[: args.cells]
    if args.skip_done and args.out.exists():
        done = {(c["kind"], float(c["value"])) for c in _cells(args.out) if "distance" in c}
        cells = [cell for cell in cells if cell not in done]
    extra = [item for setting in args.set for item in ("--set", setting)]
    with tempfile.TemporaryDirectory() as scratch:
        run_cells(
            cells,
            workers=args.workers,
            cores=_cores(args.cores),
            deadline=args.deadline,
            out=args.out,
            extra=extra,
            scratch=os.environ.get("SWEEP_CELLS_DIR", scratch),
        )


if __name__ == "__main__":
    main()
