"""The user guides' code blocks run as written, in order, in one namespace."""

import re
from pathlib import Path

import jax
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def test_temporal_tasks_guide_runs(capsys):
    blocks = python_blocks(DOCS / "temporal-tasks.md")
    assert len(blocks) >= 6
    namespace: dict = {}
    # The guide is written for a user's default float32 JAX with standard dtype promotion.
    with jax.numpy_dtype_promotion("standard"), jax.enable_x64(False):
        for number, block in enumerate(blocks):
            try:
                exec(compile(block, f"temporal-tasks.md block {number}", "exec"), namespace)
            except Exception as error:  # pragma: no cover - the message names the block
                pytest.fail(f"block {number} of docs/temporal-tasks.md failed: {error!r}")
    printed = capsys.readouterr().out
    # the outputs the guide's comments promise
    assert "(220, 2) (220, 1)" in printed
    assert "'colour' is not a field of AndTask" in printed
    assert "pulse_width='abc' must be a number" in printed
    assert "[1. 1. 1. 0.]" in printed
    assert "[1. 0. 0. 1.]" in printed
    assert "[0.  0.5 1. ]" in printed
    result = namespace["result"]
    assert sum(s == "converged" for s in result.status) >= 2
