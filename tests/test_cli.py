"""The command line and the run-directory contract."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.experiments import REGISTRY, Experiment, ExperimentConfig, Results, run_experiment

TINY = [
    "--quick",
    "--set",
    "hidden_size=40",
    "--set",
    "gains=0.5,2.0",
    "--set",
    "num_networks=2",
    "--set",
    "t_obs=40",
    "--set",
    "t_burn=20",
    "--set",
    "num_exponents=8",
    "--set",
    "t_obs_spectrum=20",
    "--set",
    "t_autocorrelation=60",
    "--set",
    "theory_gains=3",
]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["reproduce", "no-such-experiment"], "unknown experiment 'no-such-experiment'"),
        (["reproduce", "chaos-onset", "--set", "hidden_size=-5"], "hidden_size"),
        (["reproduce", "chaos-onset", "--set", "gains=0,2"], "gain 0.0 must be > 0"),
        (["reproduce", "chaos-onset", "--set", "hidden_size"], "malformed"),
        (["reproduce", "chaos-onset", "--set", "colour=red"], "unknown config field 'colour'"),
        (["reproduce", "chaos-onset", "--seed", "-1"], "--seed -1"),
        (["reproduce", "chaos-onset", "--bogus"], "No such option"),
        (["cite", "nope"], "unknown experiment"),
        (
            ["reproduce", "temporal-tasks", "--set", 'task_fields={"and": {"colour": 1}}'],
            "'colour' is not a field of AndTask",
        ),
        (
            ["reproduce", "temporal-tasks", "--set", 'task_fields={"andd": {"tail": 30}}'],
            "task_fields names task 'andd'",
        ),
        (
            ["reproduce", "temporal-tasks", "--set", 'sweep_task_fields={"pulse_width": "x"}'],
            "pulse_width='x' must be a number",
        ),
        (
            ["reproduce", "temporal-tasks", "--set", "task_layout=root", "--set", "delays=[40]"],
            "after the trial's end",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_out_that_is_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("x")
    assert main(["reproduce", "chaos-onset", "--quick", "--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_console_script_has_no_traceback_on_bad_input():
    completed = subprocess.run(
        [sys.executable, "-m", "rnnlab.cli", "reproduce", "chaos-onset", "--set", "gains=-1"],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1
    assert "Traceback" not in completed.stderr


def test_list_and_cite(capsys):
    assert main(["list"]) == 0
    assert "chaos-onset" in capsys.readouterr().out
    assert main(["cite", "chaos-onset"]) == 0
    assert "10.1103/PhysRevLett.61.259" in capsys.readouterr().out


def test_reproduce_writes_run_directory_and_is_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["reproduce", "chaos-onset", *TINY, "--out", str(first)]) == 0
    assert main(["reproduce", "chaos-onset", *TINY, "--out", str(second)]) == 0
    for name in ("config.json", "metrics.json", "arrays.npz", "report.html", "status.json"):
        assert (first / name).is_file(), name
    assert json.loads((first / "status.json").read_text())["state"] == "done"
    config = json.loads((first / "config.json").read_text())
    assert config["config"]["hidden_size"] == 40 and "jax" in config["versions"]
    figures = sorted(p.name for p in (first / "figures").glob("*.png"))
    assert "lyapunov_max_vs_gain.png" in figures and "eigenvalues_circular_law.png" in figures
    metrics_a = json.loads((first / "metrics.json").read_text())
    metrics_b = json.loads((second / "metrics.json").read_text())
    assert metrics_a == metrics_b  # same seed, identical metrics
    for name in (
        "lyapunov_max_sim.g=2.0",
        "lyapunov_max_dmft.g=2.0",
        "max_rel_error_sim_vs_dmft",
        "circular_law_radius_rel_error",
    ):
        assert metrics_a[name] is not None, name
    # The stable network's exponent is negative, near the DMFT value g - 1 = -0.5.
    assert metrics_a["lyapunov_max_sim.g=0.5"] < 0
    assert metrics_a["lyapunov_max_dmft.g=0.5"] == pytest.approx(-0.5)
    with np.load(first / "arrays.npz", allow_pickle=False) as arrays:
        assert arrays["spectra"].shape == (2, 8)
    page = (first / "report.html").read_text()
    assert "figures/lyapunov_max_vs_gain.png" in page and "lyapunov_max_sim.g=2.0" in page
    # A different seed gives different numbers.
    third = tmp_path / "c"
    assert main(["reproduce", "chaos-onset", *TINY, "--seed", "7", "--out", str(third)]) == 0
    metrics_c = json.loads((third / "metrics.json").read_text())
    assert metrics_c["lyapunov_max_sim.g=2.0"] != metrics_a["lyapunov_max_sim.g=2.0"]
    # rnnlab report rebuilds the page from the files.
    (first / "report.html").unlink()
    assert main(["report", str(first)]) == 0
    assert (first / "report.html").is_file()


class _DivergingConfig(ExperimentConfig):
    blow_up: bool = True


def _diverging_run(config, *, key, progress):
    import jax.numpy as jnp

    from rnnlab.models import SimulationOptions, simulate
    from rnnlab.systems import ODESystem

    exploding = ODESystem(lambda t, x, args: x**2, dimension=1)
    trajectory = simulate(
        exploding,
        jnp.ones(1),
        jnp.linspace(0.0, 2.0, 5),
        options=SimulationOptions(solver="rk4", dt=0.01, rtol=None, atol=None),
    )
    trajectory.raise_if_diverged("x' = x^2 from x = 1")
    return Results({"value": 1.0})


def test_diverging_run_is_reported_failed_without_metrics(tmp_path):
    experiment = Experiment(
        id="diverging",
        title="diverging",
        summary="x' = x^2 blows up at t = 1",
        config_type=_DivergingConfig,
        run=_diverging_run,
        figures=lambda results, config, folder: [],
        citation="",
    )
    status = run_experiment(experiment, experiment.make_config(), tmp_path / "run")
    assert status["state"] == "failed"
    assert "diverged" in status["error"]
    saved = json.loads((tmp_path / "run" / "status.json").read_text())
    assert saved["state"] == "failed"
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_the_report_puts_each_summary_beside_the_papers():
    from rnnlab.report import render_run_report

    metrics = {"size.ratio": 0.56, "size.ratio_paper": 0.62, "size.spearman": -0.8, "x": 1.0}
    docs = {"size.ratio": "plateau over d(50)"}
    page = render_run_report("t", "s", metrics, docs, {}, [], "", {"state": "done"})
    beside = page.split("<h2>Ours beside the paper</h2>")[1].split("</table>")[0]
    assert beside.count("<tr>") == 2  # the header and size.ratio alone
    assert "<td>size.ratio</td><td class='num'>0.56</td><td class='num'>0.62</td>" in beside
    assert "plateau over d(50)" in beside
    alone = render_run_report("t", "s", {"x": 1.0}, {}, {}, [], "", {"state": "done"})
    assert "Ours beside the paper" not in alone


def test_object_arrays_are_refused_not_pickled(tmp_path):
    from rnnlab.experiments._rundir import atomic_write_npz

    with pytest.raises(TypeError, match="'labels' holds Python objects"):
        atomic_write_npz(
            tmp_path / "a.npz", {"x": np.zeros(2), "labels": np.array(["a", None], dtype=object)}
        )
    assert not (tmp_path / "a.npz").exists()
    atomic_write_npz(tmp_path / "b.npz", {"x": np.arange(3.0)})
    with np.load(tmp_path / "b.npz", allow_pickle=False) as saved:
        np.testing.assert_array_equal(saved["x"], np.arange(3.0))


def test_registry_ids_match_design():
    assert "chaos-onset" in REGISTRY
