"""The CLI's JAX settings: where the persistent compilation cache lives, and that a run
served from it gives the numbers of a freshly compiled one; ``--verbose`` epoch lines."""

import json
import os
import subprocess
import sys

import pytest

from rnnlab._jax_setup import CACHE_ENV, compile_cache_dir


@pytest.mark.parametrize("value", ["off", "0", "OFF", "no"])
def test_cache_can_be_switched_off(monkeypatch, value):
    monkeypatch.setenv(CACHE_ENV, value)
    assert compile_cache_dir() is None


def test_cache_folder_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "xla"))
    assert compile_cache_dir() == tmp_path / "xla"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert compile_cache_dir() == tmp_path / "cache" / "rnnlab" / "xla"


def test_a_cached_run_gives_the_numbers_of_a_fresh_one(tmp_path):
    """Run the CLI twice in fresh processes: the first fills the cache, the second loads
    its programs from it; metrics.json must be the same. The second run is ``--verbose``:
    one line per training epoch on stderr (the first prints none)."""
    env = {**os.environ, CACHE_ENV: str(tmp_path / "xla")}
    overrides = [
        "--set", 'tasks=["and"]', "--set", "delays=[]", "--set", "sizes=[]",
        "--set", "hidden_size=8", "--set", "num_trials=128", "--set", "max_epochs=2",
        "--set", "members_per_init=1", "--set", "eval_trials=16",
        "--set", "label_steps=60", "--set", "label_window=20",
        "--set", "fixed_point_networks=0", "--set", "pruning_fractions=[0.0,0.2]",
    ]  # fmt: skip
    metrics, logs, cached = [], [], []
    for run, flags in (("cold", []), ("warm", ["--verbose"])):
        out = tmp_path / run
        command = [sys.executable, "-m", "rnnlab.cli", "reproduce", "temporal-tasks", "--quick"]
        done = subprocess.run(
            [*command, *overrides, *flags, "--out", str(out)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        metrics.append(json.loads((out / "metrics.json").read_text()))
        logs.append([line for line in done.stderr.splitlines() if "epoch" in line])
        cached.append(sorted(p.name for p in (tmp_path / "xla").iterdir()))
    assert logs[0] == []
    assert [line.split(" ", 1)[1].split(",")[0] for line in logs[1]] == [
        "task-and: epoch 1/2",
        "task-and: epoch 2/2",
    ]
    assert all(line.endswith("0 diverged") for line in logs[1]), logs[1]
    # the first run wrote its compiled programs (sampler, epoch, evaluation, shuffles, ...;
    # 9 here); the second found every one of them there. It may add a program that compiled
    # just under the cache's 0.2 s threshold the first time and just over it the second (a
    # loaded machine: seen in a full test run beside two busy cores), so: a subset
    assert len(cached[0]) >= 5 and set(cached[0]) <= set(cached[1])
    assert len(cached[1]) <= len(cached[0]) + 2
    assert any(name.startswith("jit__evaluate") for name in cached[0])
    assert metrics[0] == metrics[1]
