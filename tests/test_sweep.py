"""Sweeps: grid validation, deterministic cells, local vs Dask, SIGKILL and resume, reports."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydantic
import pytest

from rnnlab import experiments
from rnnlab.cli import main
from rnnlab.experiments import Experiment, ExperimentConfig, Results
from rnnlab.sweep import parse_grid_option, plan_sweep


class TinyConfig(ExperimentConfig):
    """A cheap experiment: statistics of ``size`` Gaussian samples scaled by ``amplitude``."""

    size: int = pydantic.Field(64, gt=0)
    amplitude: float = pydantic.Field(1.0, gt=0)
    label: str = "a"
    sleep: float = pydantic.Field(0.0, ge=0, description="seconds each cell waits")
    fail_if_exists: str = pydantic.Field("", description="cells fail while this file exists")
    fail_above: float = pydantic.Field(1e9, description="cells with amplitude above fail")

    @pydantic.model_validator(mode="after")
    def _not_too_big(self):
        if self.size * self.amplitude > 1e6:
            raise ValueError(f"size * amplitude = {self.size * self.amplitude:g} exceeds 1e6")
        return self


def tiny_run(config: TinyConfig, *, key, progress) -> Results:
    import jax.random as jr

    samples = config.amplitude * np.asarray(jr.normal(key, (config.size,)))
    time.sleep(config.sleep)
    if config.fail_if_exists and Path(config.fail_if_exists).exists():
        raise RuntimeError("asked to fail")
    if config.amplitude > config.fail_above:
        raise FloatingPointError(f"amplitude {config.amplitude} too large")
    metrics = {
        "mean": float(samples.mean()),
        "std": float(samples.std()),
        "positive": bool(samples.mean() > 0),
        "nothing": None,
        f"max.size={config.size}": float(samples.max()),  # names vary with a field
    }
    return Results(metrics, {"samples": samples})


TINY = Experiment(
    id="tiny",
    title="Tiny Gaussian statistics",
    summary="mean and spread of Gaussian samples (for sweep tests)",
    config_type=TinyConfig,
    run=tiny_run,
    figures=lambda results, config, folder: [],
    citation="@misc{tiny, title = {none}}",
)


def register() -> None:
    """Add ``tiny`` to the registry (for subprocesses that do not run under pytest)."""
    experiments.REGISTRY["tiny"] = TINY


@pytest.fixture(autouse=True)
def _tiny_registered(monkeypatch):
    monkeypatch.setitem(experiments.REGISTRY, "tiny", TINY)


def _open(path: Path):
    import xarray as xr

    with xr.open_zarr(path) as dataset:
        return dataset.load()


def test_parse_grid_lists_and_ranges():
    assert parse_grid_option("size=50,100") == ("size", [50, 100])
    assert parse_grid_option("amplitude=0.5:1.5:3") == ("amplitude", [0.5, 1.0, 1.5])
    assert parse_grid_option("label=x, y") == ("label", ["x", "y"])


def test_cell_seeds_are_deterministic_and_independent_of_the_grid():
    small = plan_sweep(TINY, ["size=10,20"], seeds=2, seed=3)
    large = plan_sweep(TINY, ["size=5,10,20,40"], seeds=3, seed=3)
    seeds_small = {(c.params["size"], c.replicate): c.seed for c in small.cells}
    seeds_large = {(c.params["size"], c.replicate): c.seed for c in large.cells}
    assert all(seeds_large[k] == v for k, v in seeds_small.items())
    assert len(set(seeds_large.values())) == len(seeds_large)  # every cell its own seed
    other = plan_sweep(TINY, ["size=10,20"], seeds=2, seed=4)
    assert {c.seed for c in other.cells}.isdisjoint(seeds_small.values())
    assert [c.id for c in small.cells] == [
        c.id for c in plan_sweep(TINY, ["size=10,20"], seeds=2, seed=3).cells
    ]


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        (["colour=red,blue"], "unknown config field 'colour'"),
        (["size=abc,10"], "--grid size='abc'"),
        (["size=1:5:0"], "empty range"),
        (["amplitude=-1,1"], "--grid amplitude=-1"),
        (["size=1000000", "amplitude=1,2"], "exceeds 1e6"),
        (["size"], "malformed"),
        (["size=1,,2"], "empty value"),
        (["size=1,1"], "repeats a value"),
        (["size=1,2", "size=3"], "given twice"),
        (["seed=1,2"], "--seeds"),
        (["size=1:2"], "start:stop:num"),
    ],
)
def test_invalid_grids_exit_2_before_any_cell_runs(grid, needle, tmp_path, capsys):
    argv = ["sweep", "tiny", "--workers", "1", "--out", str(tmp_path / "out")]
    for option in grid:
        argv += ["--grid", option]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--seeds", "0"], "--seeds 0"),
        (["--workers", "0"], "--workers 0"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
        (["--scheduler", "localhost"], "tcp://HOST:PORT"),
        (["--set", "size=-3"], "--set"),
    ],
)
def test_invalid_sweep_options_exit_2(extra, needle, tmp_path, capsys):
    argv = ["sweep", "tiny", "--grid", "size=4,8", "--out", str(tmp_path / "out"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


SWEEP = ["--grid", "size=8,16,32", "--grid", "amplitude=0.5,2", "--seeds", "2"]


def test_local_and_dask_executors_give_identical_datasets(tmp_path):
    from distributed import LocalCluster

    local, remote = tmp_path / "local", tmp_path / "dask"
    fail = ["--set", "fail_above=1.5"]  # amplitude=2 cells fail, recorded as failed
    assert main(["sweep", "tiny", *SWEEP, *fail, "--workers", "2", "--out", str(local)]) == 1
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        argv = ["sweep", "tiny", *SWEEP, *fail, "--scheduler", address, "--out", str(remote)]
        assert main(argv) == 1
    first, second = _open(local / "results.zarr"), _open(remote / "results.zarr")
    import xarray as xr

    xr.testing.assert_identical(first, second)
    assert first["mean"].dims == ("size", "amplitude", "seed")
    assert list(first["size"].values) == [8, 16, 32]
    assert (first["cell_status"].sel(amplitude=0.5) == 1).all()
    assert (first["cell_status"].sel(amplitude=2.0) == 2).all()
    assert np.isnan(first["mean"].sel(amplitude=2.0)).all()
    # Metric names vary with size: the union, NaN where a cell lacks the name.
    assert np.isfinite(first["max.size=8"].sel(size=8, amplitude=0.5)).all()
    assert np.isnan(first["max.size=8"].sel(size=16)).all()
    assert np.isnan(first["nothing"]).all()  # None -> NaN
    # A cell's numbers are those of a single run with the cell's seed.
    cell = first.sel(size=16, amplitude=0.5, seed=1)
    config = TinyConfig(size=16, amplitude=0.5, fail_above=1.5, seed=int(cell["cell_seed"]))
    import jax.random as jr

    alone = tiny_run(config, key=jr.key(config.seed), progress=None).metrics
    assert float(cell["mean"]) == alone["mean"]
    errors = json.loads(first.attrs["failed_cells"])
    assert len(errors) == 6 and "too large" in errors[0]["error"]


def _spawn_sweep(out: Path, *extra: str) -> subprocess.Popen:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_sweep; test_sweep.register(); "
        "from rnnlab.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(Path(__file__).parent), "sweep", "tiny", *extra],
        start_new_session=True,  # its own process group: the kill takes its workers too
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_sigkill_mid_sweep_resumes_to_the_uninterrupted_dataset(tmp_path):
    import xarray as xr

    grid = ["--grid", "size=4,8,12,16,20", "--seeds", "2", "--set", "sleep=0.4", "--workers", "1"]
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    process = _spawn_sweep(killed, *grid, "--out", str(killed))
    deadline = time.monotonic() + 120
    while len(list((killed / "cells").glob("*.json"))) < 3:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "sweep made no progress"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()
    survived = {p.name: p.read_bytes() for p in (killed / "cells").glob("*.json")}
    assert 3 <= len(survived) < 10
    assert main(["sweep", "tiny", *grid, "--out", str(killed)]) == 0
    for name, content in survived.items():  # finished cells were skipped, not rerun
        assert (killed / "cells" / name).read_bytes() == content
    assert main(["sweep", "tiny", *grid, "--out", str(whole)]) == 0
    xr.testing.assert_identical(_open(killed / "results.zarr"), _open(whole / "results.zarr"))
    assert not list(killed.glob(".results.zarr.*"))


def test_failed_cells_are_skipped_on_resume_and_retried_on_request(tmp_path, capsys):
    flag = tmp_path / "fail-now"
    flag.write_text("")
    argv = ["sweep", "tiny", "--grid", "size=4,8", "--set", f"fail_if_exists={flag}"]
    argv += ["--workers", "1", "--out", str(tmp_path / "out")]
    assert main(argv) == 1
    assert "re-run with --retry-failed" in capsys.readouterr().err
    records = [json.loads(p.read_text()) for p in (tmp_path / "out" / "cells").glob("*.json")]
    assert [r["state"] for r in records] == ["failed", "failed"]
    assert "asked to fail" in records[0]["error"] and "Traceback" in records[0]["traceback"]
    flag.unlink()
    assert main(argv) == 1  # failed cells are finished: skipped without --retry-failed
    assert "0 run, 2 already finished" in capsys.readouterr().out
    assert main([*argv, "--retry-failed"]) == 0
    assert (_open(tmp_path / "out" / "results.zarr")["cell_status"] == 1).all()


def test_report_draws_lines_for_1d_and_heat_maps_for_2d(tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["sweep", "tiny", "--grid", "amplitude=0.5:2:4", "--seeds", "3",
                 "--workers", "1", "--out", str(one)]) == 0  # fmt: skip
    assert main(["sweep", "tiny", *SWEEP, "--workers", "1", "--out", str(two)]) == 0
    for folder in (one, two):
        page = (folder / "report.html").read_text()
        assert "figures/sweep_std.png" in page and "cells/" in page
        assert (folder / "figures" / "sweep_mean.png").stat().st_size > 1000
    capsys.readouterr()
    (two / "figures" / "sweep_std.png").unlink()
    assert main(["report", str(two), "--metric", "std"]) == 0
    assert (two / "figures" / "sweep_std.png").is_file()
    assert main(["report", str(two), "--metric", "nope"]) == 2
    assert "--metric 'nope'" in capsys.readouterr().err
