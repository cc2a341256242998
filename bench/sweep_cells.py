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
cell would not finish before ``--deadline`` by its estimate (``expected_seconds``: the
slowest delay cell so far; for a size cell, the nearest smaller size's time, scaled by
N^2; the times of ``--out``'s earlier lines count too), and a worker skips a queued cell
that would not fit for a shorter one behind it; a cell still running at the deadline is
stopped (its line says so). The 1-network AND cell every invocation trains
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
  python bench/sweep_cells.py --summarise cells.jsonl [--table]
  python bench/sweep_cells.py --kinds delay --skip-done --out cells.jsonl   (the rest)

Set ``SWEEP_CELLS_DIR`` to keep each cell's run folder (checkpoints, metrics, log) there
instead of in a temporary folder.

``--part-size K`` splits every cell into parts of K of its ``--networks`` (20) networks,
each an invocation of its own (``--set sweep_members=K --set sweep_member_offset=F``):
networks [F, F + K) of the cell, with the initial weights and batch orders they have in the
whole cell (tested). The parts are queued part by part (every cell's first part, then every
cell's second, ...), so a sweep too long for one sitting (the size sweep is about 33
core-hours on a CPU) fills in evenly over several, with ``--skip-done`` skipping the parts
already in ``--out``. ``--summarise`` puts a cell's parts together (each network weighs the
same) and says how many networks each cell has so far.
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

import numpy as np

DELAYS_ORDER = [25, 100, 170, 60, 130, 45, 150, 80, 35, 110, 65, 140, 90, 30, 120, 50, 75]
DELAYS_ORDER += [160, 40, 95, 55, 85, 70, 105]
SIZES_ORDER = [500, 100, 250, 70, 400, 160, 55, 300, 125, 80, 200, 60, 450, 130, 90, 350, 65]
SIZES_ORDER += [180, 75, 150, 170, 50]  # N = 50: its own cell where the size sweep's rate differs


def cell_command(
    kind: str, value: float, out: Path, extra: list[str], networks: tuple[int, int] | None = None
) -> list[str]:
    """The CLI invocation that trains one sweep cell into ``out``; ``networks`` = (first,
    count): only that part of the cell's networks."""
    delays, sizes = (f"[{value:g}]", "[]") if kind == "delay" else ("[]", f"[{int(value)}]")
    sets = {
        "tasks": '["and"]',
        "members_per_init": "1",
        "inits": "orthogonal",
        "fixed_point_networks": "0",
        "delays": delays,
        "sizes": sizes,
    }
    if networks is not None:
        sets["sweep_member_offset"], sets["sweep_members"] = map(str, networks)
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


def expected_seconds(durations, kind: str, value: float) -> float:
    """Estimated time of the cell (``kind``, ``value``) from the finished ones, ``durations``
    [(kind, value, seconds)]: a delay cell, the slowest delay cell (their cost does not
    depend on the delay); a size cell, the nearest size at or below N, times (N / that)^2
    (the recurrent products), else the smallest larger one's time (0 with none done)."""
    done = [(v, t) for k, v, t in durations if k == kind]
    if not done:
        return 0.0
    if kind != "size":
        return max(t for _, t in done)
    below = [(v, t) for v, t in done if v <= value]
    if below:
        size, seconds = max(below)
        return seconds * (value / size) ** 2
    return min(done)[1]


def past_durations(lines: list[dict], part_size: int | None, networks: int = 20) -> list:
    """[(kind, value, seconds)] of the cells finished in earlier invocations (``lines`` of
    ``--out`` with exit code 0), each scaled to a cell of ``part_size`` networks (the whole
    ``networks`` with None), so that a fresh invocation's first estimates are not 0 and a
    long cell started near the deadline is not cut off and wasted."""
    wanted = networks if part_size is None else part_size
    past = []
    for line in lines:
        if line.get("rc") != 0 or "seconds" not in line:
            continue
        first, end = line.get("networks", (0, networks))
        per_network = float(line["seconds"]) / max(1, end - first)
        past.append((line["kind"], float(line["value"]), per_network * wanted))
    return past


def run_cells(cells, *, workers, cores, deadline, out, extra, scratch, durations=()):
    """Run ``cells`` [(kind, value, networks)] on ``workers`` threads (``networks``: None
    for the whole cell, or (first, count) for a part); append one line per cell.
    ``durations`` [(kind, value, seconds)]: times known before this run (``past_durations``)."""
    start = time.monotonic()
    queue, lock, durations = list(cells), threading.Lock(), list(durations)

    def worker(index):
        core = cores[index % len(cores)]
        while True:
            with lock:
                if not queue:
                    return
                left = deadline - (time.monotonic() - start)
                fits = [
                    i for i, c in enumerate(queue) if expected_seconds(durations, *c[:2]) <= left
                ]
                if not fits:  # a long cell does not block the short ones queued after it
                    return
                kind, value, networks = queue.pop(fits[0])
            part = "" if networks is None else f"-networks{networks[0]}-{sum(networks) - 1}"
            folder = Path(scratch) / f"{kind}{value:g}{part}"
            command = cell_command(kind, value, folder, extra, networks)
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
            if networks is not None:
                line["networks"] = [networks[0], sum(networks)]
            metrics = folder / "metrics.json"
            if code == 0 and metrics.exists():
                values = json.loads(metrics.read_text())
                suffix = f"delay={float(value)!r}" if kind == "delay" else f"N={int(value)}"
                line["distance"] = values[f"{kind}.distance.{suffix}"]
                line["accuracy"] = values[f"{kind}.accuracy.{suffix}"]
            with lock:
                durations.append((kind, value, seconds))
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
                networks = _networks_of(Path(run))
                if networks is not None:
                    line["networks"] = networks
                line["distance"] = distance
                line["accuracy"] = values[f"{kind}.accuracy.{rest}"]
                handle.write(json.dumps(line) + "\n")
                count += 1
    return count


def _networks_of(run: Path) -> list[int] | None:
    """[first, end) of the sweep networks a run trained (its ``config.json``), or None."""
    config = run / "config.json"
    if not config.exists():
        return None
    values = json.loads(config.read_text())
    values = values.get("config", values)
    if "sweep_members" not in values:
        return None
    first = int(values.get("sweep_member_offset", 0))
    return [first, first + int(values["sweep_members"])]


def _cells(path: Path) -> list[dict]:
    """The cells of a cells file, one JSON line each."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _part_key(cell: dict) -> tuple:
    """(kind, value, (first, end)) of a part; (kind, value, None) of a whole cell."""
    networks = cell.get("networks")
    return (cell["kind"], float(cell["value"]), None if networks is None else tuple(networks))


def _covers(cell: dict, part: dict) -> bool:
    """Whether finished ``cell`` holds every network of ``part`` (same kind and value): a
    whole-cell line (no ``networks``) holds them all, a part those in its range."""
    if (cell["kind"], float(cell["value"])) != (part["kind"], float(part["value"])):
        return False
    if "networks" not in cell:
        return True
    if "networks" not in part:
        return False
    (first, end), (start, stop) = part["networks"], cell["networks"]
    return start <= first and end <= stop


def _chosen(lines: list[dict]) -> list[dict]:
    """Finished lines of one cell whose networks are counted once: a whole-cell line alone
    if there is one, else parts widest first, each kept only if it shares no network with
    those kept (so neither line order nor overlaps count a network twice)."""
    whole = [line for line in lines if "networks" not in line]
    if whole:
        return whole[-1:]
    kept: list[dict] = []
    for line in sorted(lines, key=lambda c: (c["networks"][0] - c["networks"][1], c["networks"])):
        first, end = line["networks"]
        if all(end <= k["networks"][0] or k["networks"][1] <= first for k in kept):
            kept.append(line)
    return kept


def merge_parts(cells: list[dict]) -> dict:
    """{(kind, value): cell} with each cell's parts put together: distance and accuracy
    are means over all their networks (``networks``: how many; None for a whole cell of
    the run's sweep_members). A later line for the same networks replaces an earlier one;
    a part inside a wider line (networks 2-3 of a 20-network line) is dropped, whatever
    the order of the lines. A line without ``networks`` is a whole cell."""
    finished: dict = {}
    for cell in cells:
        if "distance" in cell:
            finished[_part_key(cell)] = cell
    by_cell: dict = {}
    for (kind, value, _), cell in finished.items():
        by_cell.setdefault((kind, value), []).append(cell)
    merged: dict = {}
    for (kind, value), lines in sorted(by_cell.items()):
        chosen = _chosen(lines)
        if "networks" not in chosen[0]:
            cell = chosen[0]
            merged[kind, value] = {"kind": kind, "value": value, "networks": None}
            merged[kind, value].update(distance=cell["distance"], accuracy=cell["accuracy"])
            continue
        weights = np.array([line["networks"][1] - line["networks"][0] for line in chosen])
        merged[kind, value] = {
            "kind": kind,
            "value": value,
            "networks": int(weights.sum()),
            "distance": float(np.average([c["distance"] for c in chosen], weights=weights)),
            "accuracy": float(np.average([c["accuracy"] for c in chosen], weights=weights)),
        }
    return merged


def _paper_curves() -> dict:
    """{kind: (shape summary, the authors' values, their distances)} for both sweeps."""
    from rnnlab.experiments import _temporal_degradation as d

    return {
        "delay": (d.delay_shape, d.PAPER_DELAYS, d.PAPER_DELAY_DISTANCE),
        "size": (d.size_shape, d.PAPER_SIZES, d.PAPER_SIZE_DISTANCE),
    }


def summarise(path: Path) -> dict:
    """Shape metrics of the cells in ``path`` (one JSON line per cell), ours and the paper's."""
    done = merge_parts(_cells(path))
    summary = {}
    for kind, (shape, paper_x, paper_y) in _paper_curves().items():
        # (the size sweep's N = 50 cell is queued on its own; at the defaults it is the
        # delay sweep's 150 ms cell, but not with another size_sweep_learning_rate)
        rows = sorted((v, c) for (k, v), c in done.items() if k == kind)
        values = [v for v, _ in rows]
        distances = [c["distance"] for _, c in rows]
        summary[kind] = {
            "values": values,
            "distance": distances,
            "accuracy": [c["accuracy"] for _, c in rows],
            "networks": [c["networks"] for _, c in rows],
            "ours": shape(values, distances) if len(values) >= 2 else None,
            "paper": shape(paper_x, paper_y),
        }
    return summary


def summary_table(summary: dict, kind: str) -> str:
    """A Markdown table of one sweep of ``summarise``'s output: each cell's networks,
    distance and accuracy beside the authors' distance at the same value (blank where the
    paper has none), then our shape metrics beside theirs."""
    _, paper_x, paper_y = _paper_curves()[kind]
    paper = {float(x): float(y) for x, y in zip(paper_x, paper_y, strict=True)}
    sweep = summary[kind]
    label = {"delay": "delay (ms)", "size": "N"}[kind]
    lines = [f"| {label} | networks | distance | accuracy | paper's distance |"]
    lines.append("|---:|---:|---:|---:|---:|")
    for value, networks, distance, accuracy in zip(
        sweep["values"], sweep["networks"], sweep["distance"], sweep["accuracy"], strict=True
    ):
        theirs = f"{paper[value]:.2f}" if value in paper else ""
        count = "all" if networks is None else str(networks)
        lines.append(f"| {value:g} | {count} | {distance:.3f} | {accuracy:.4f} | {theirs} |")
    ours = sweep["ours"] or {}
    lines += ["", "| shape | ours | paper |", "|---|---:|---:|"]
    for name, theirs in sweep["paper"].items():
        mine = ours.get(name)
        lines.append(f"| {name} | {'' if mine is None else f'{mine:.3f}'} | {theirs:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summarise", type=Path, help="print the shape metrics of a cells file")
    parser.add_argument(
        "--table", action="store_true", help="with --summarise: Markdown tables, not JSON"
    )
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
    parser.add_argument(
        "--part-size", type=int, default=None, help="networks per part (default: whole cells)"
    )
    parser.add_argument("--networks", type=int, default=20, help="networks per cell, in parts")
    args = parser.parse_args(argv)
    if args.summarise:
        summary = summarise(args.summarise)
        if args.table:
            kinds = [kind for kind in ("delay", "size") if summary[kind]["values"]]
            print("\n\n".join(summary_table(summary, kind) for kind in kinds))
        else:
            print(json.dumps(summary, indent=1))
        return
    if args.collect:
        print(f"{collect(args.collect, args.out)} cells added to {args.out}")
        return
    kinds = args.kinds.split(",")
    cells = [("delay", float(d)) for d in DELAYS_ORDER if "delay" in kinds]
    cells += [("size", float(n)) for n in SIZES_ORDER if "size" in kinds]
    cells = cells[: args.cells]
    if args.part_size is None:
        queue = [(kind, value, None) for kind, value in cells]
    else:
        if args.part_size < 1 or args.networks % args.part_size:
            parser.error(f"--part-size {args.part_size} must divide --networks {args.networks}")
        firsts = range(0, args.networks, args.part_size)
        queue = [(k, v, (first, args.part_size)) for first in firsts for k, v in cells]
    if args.skip_done and args.out.exists():
        lines = [c for c in _cells(args.out) if "distance" in c]

        def is_done(kind, value, networks):
            part = {"kind": kind, "value": value}
            if networks is not None:
                part["networks"] = [networks[0], sum(networks)]
            return any(_covers(line, part) for line in lines)

        queue = [cell for cell in queue if not is_done(*cell)]
    extra = [item for setting in args.set for item in ("--set", setting)]
    past = _cells(args.out) if args.out.exists() else []
    with tempfile.TemporaryDirectory() as scratch:
        run_cells(
            queue,
            workers=args.workers,
            cores=_cores(args.cores),
            deadline=args.deadline,
            out=args.out,
            extra=extra,
            scratch=os.environ.get("SWEEP_CELLS_DIR", scratch),
            durations=past_durations(past, args.part_size, args.networks),
        )


if __name__ == "__main__":
    main()
